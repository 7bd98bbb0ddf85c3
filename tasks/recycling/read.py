"""Read beat of recycling: the candidates of the four rules and their facts at as_of.

Only contacts some rule could act on are read — in mql/sql at new or attempting, a
recycle / unqualified status whose lifecycle move is missing, a retry status, or the
contact of a lost deal not yet re-nurtured since — with their activities since the latest
hand-off, their status history and the owners to remind.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Subquery,
    and_,
    func,
    or_,
    select,
    type_coerce,
)

from models.enums import LeadStatus, Stage
from models.tables import (
    Activity,
    Company,
    Contact,
    Deal,
    LeadStatusHistory,
    Owner,
    StageHistory,
    UTCDateTime,
)
from tasks.recycling.decide import LOST_DEAL_STAGES, SALES_STAGES, UNREACHABLE_STATUSES
from tasks.recycling.frames import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    DEAL_COLUMNS,
    OWNER_COLUMNS,
    STATUS_COLUMNS,
    RecyclingFrames,
)

# Keeps IN lists well below every driver's bound-parameter limit.
KEY_CHUNK = 2_000


def _frame(rows: Sequence[object], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)  # type: ignore[arg-type]


def _latest_entry(as_of: datetime, stages: Sequence[str] | None = None) -> Subquery:
    """contact_id → latest stage-history instant at or before as_of (into `stages`)."""
    query = select(
        StageHistory.contact_id,
        type_coerce(func.max(StageHistory.at), UTCDateTime).label("at"),
    ).where(StageHistory.at <= as_of)
    if stages is not None:
        query = query.where(StageHistory.to_stage.in_(list(stages)))
    return query.group_by(StageHistory.contact_id).subquery()


def lost_deals_query(
    as_of: datetime, lost_stages: Sequence[str] = LOST_DEAL_STAGES
) -> Select[Any]:
    """Lost deals closed by as_of whose contact has not entered lost_renurture since.

    `lost_stages`: the rules' lost outcome and its aliases, lower-case.
    """
    renurtured_since = (
        select(StageHistory.id)
        .where(
            StageHistory.contact_id == Deal.contact_id,
            StageHistory.to_stage == Stage.LOST_RENURTURE.value,
            StageHistory.at >= Deal.closed_at,
            StageHistory.at <= as_of,
        )
        .exists()
    )
    return select(Deal.id, Deal.contact_id, Deal.stage, Deal.closed_at, Deal.lost_reason).where(
        func.lower(Deal.stage).in_(list(lost_stages)),
        Deal.closed_at <= as_of,
        Deal.contact_id.is_not(None),
        ~renurtured_since,
    )


def _candidates(lost_contacts: Select[Any]) -> ColumnElement[bool]:
    stage, status = Contact.lifecycle_stage, Contact.lead_status
    return or_(
        and_(stage.in_(SALES_STAGES), status.in_(UNREACHABLE_STATUSES)),
        and_(stage.in_(SALES_STAGES), status == LeadStatus.RECYCLE.value),
        and_(stage != Stage.OTHER.value, status == LeadStatus.UNQUALIFIED.value),
        status == LeadStatus.RETRY.value,
        and_(stage != Stage.LOST_RENURTURE.value, Contact.id.in_(lost_contacts)),
    )


def read_recycling_frames(
    conn: Connection, *, as_of: datetime, lost_stages: Sequence[str] = LOST_DEAL_STAGES
) -> RecyclingFrames:
    """Load the recycling candidates and their facts at `as_of`."""
    lost = lost_deals_query(as_of, lost_stages)
    deals = _frame(conn.execute(lost).all(), DEAL_COLUMNS)
    lost_contacts = select(lost.subquery().c.contact_id)
    last_stage = _latest_entry(as_of)
    handoff = _latest_entry(as_of, SALES_STAGES)
    renurtured = _latest_entry(as_of, [Stage.LOST_RENURTURE.value])
    contacts_query = (
        select(
            Contact.id, Contact.email, Contact.first_name, Contact.last_name, Company.name,
            Contact.lifecycle_stage, Contact.lead_status, Contact.owner_id,
            last_stage.c.at, handoff.c.at, renurtured.c.at,
        )
        .outerjoin(Company, Company.id == Contact.company_id)
        .outerjoin(last_stage, last_stage.c.contact_id == Contact.id)
        .outerjoin(handoff, handoff.c.contact_id == Contact.id)
        .outerjoin(renurtured, renurtured.c.contact_id == Contact.id)
        .where(_candidates(lost_contacts))
        .order_by(Contact.id)
    )
    contacts = _frame(conn.execute(contacts_query).all(), CONTACT_COLUMNS)
    ids = [int(i) for i in contacts["contact_id"]]
    unreachable = [
        int(i)
        for i, s in zip(contacts["contact_id"], contacts["lead_status"], strict=True)
        if s in UNREACHABLE_STATUSES
    ]
    activities = _chunked(
        conn,
        select(Activity.contact_id, Activity.outcome, Activity.occurred_at).where(
            Activity.outcome.is_not(None), Activity.occurred_at <= as_of
        ),
        Activity.contact_id,
        unreachable,
        ACTIVITY_COLUMNS,
    )
    statuses = _chunked(
        conn,
        select(
            LeadStatusHistory.contact_id, LeadStatusHistory.to_status, LeadStatusHistory.at,
            LeadStatusHistory.reason, LeadStatusHistory.retry_at,
        ).where(LeadStatusHistory.at <= as_of),
        LeadStatusHistory.contact_id,
        ids,
        STATUS_COLUMNS,
    )
    owner_ids = sorted({int(o) for o in contacts["owner_id"].dropna()})
    owners = _chunked(
        conn,
        select(Owner.id, Owner.name, Owner.email, Owner.slack_user_id),
        Owner.id,
        owner_ids,
        OWNER_COLUMNS,
    )
    return RecyclingFrames(
        contacts=contacts, activities=activities, statuses=statuses, deals=deals, owners=owners
    )


def _chunked(
    conn: Connection,
    query: Select[Any],
    key: Any,
    ids: Sequence[int],
    columns: list[str],
) -> pd.DataFrame:
    rows: list[Any] = []
    for start in range(0, len(ids), KEY_CHUNK):
        part = list(ids[start : start + KEY_CHUNK])
        rows.extend(conn.execute(query.where(key.in_(part))).all())
    return _frame(rows, columns)
