"""Read beat of recycling: the candidates of the four rules and their facts at as_of.

Only contacts some rule could act on are read — in mql/sql at new or attempting with at
least `unreachable_after_attempts` unreachable outcomes so far, a recycle / unqualified
status whose lifecycle move is missing, a retry status whose re-approach date falls in
the last two days, or the contact of a lost deal not yet re-nurtured since — with their
activities, their status history and the owners to remind. The leads sales simply has
not called yet (most of them, at scale) are not read every hour.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    or_,
    select,
    true,
    type_coerce,
)

from models.enums import LeadStatus, Stage
from models.status_rules import RecyclingRules
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
# A re-approach date is due on its local day: a day in any zone is shorter than this.
RETRY_LOOKBACK = timedelta(days=2)


def _frame(rows: Sequence[object], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)  # type: ignore[arg-type]


def _latest_entry(as_of: datetime, stages: Sequence[str] | None = None) -> Any:
    """The candidate's latest stage-history instant at or before as_of (into `stages`),
    looked up per candidate through the contact index."""
    query = select(type_coerce(func.max(StageHistory.at), UTCDateTime)).where(
        StageHistory.contact_id == Contact.id, StageHistory.at <= as_of
    )
    if stages is not None:
        query = query.where(StageHistory.to_stage.in_(list(stages)))
    return query.scalar_subquery()


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


def _unreachable_calls(as_of: datetime, recycling: RecyclingRules) -> ColumnElement[bool]:
    """Whether the contact has at least as many unreachable outcomes by as_of as recycle
    a lead (a superset: decide counts only those since the hand-off and the latest
    connecting call)."""
    calls = (
        select(func.count())
        .where(
            Activity.contact_id == Contact.id,
            Activity.outcome.in_([o.value for o in recycling.unreachable_outcomes]),
            Activity.occurred_at <= as_of,
        )
        .scalar_subquery()
    )
    return calls >= recycling.unreachable_after_attempts


def _retry_due(as_of: datetime) -> ColumnElement[bool]:
    """Whether a retry row of the contact has a re-approach date in the last two days up
    to as_of (a superset of "today, in the business time zone, and come")."""
    return (
        select(LeadStatusHistory.id)
        .where(
            LeadStatusHistory.contact_id == Contact.id,
            LeadStatusHistory.to_status == LeadStatus.RETRY.value,
            LeadStatusHistory.retry_at <= as_of,
            LeadStatusHistory.retry_at > as_of - RETRY_LOOKBACK,
        )
        .exists()
    )


def _candidates(
    lost_contacts: Select[Any], *, as_of: datetime, recycling: RecyclingRules, every: bool
) -> ColumnElement[bool]:
    stage, status = Contact.lifecycle_stage, Contact.lead_status
    called = true() if every else _unreachable_calls(as_of, recycling)
    due = true() if every else _retry_due(as_of)
    return or_(
        and_(stage.in_(SALES_STAGES), status.in_(UNREACHABLE_STATUSES), called),
        and_(stage.in_(SALES_STAGES), status == LeadStatus.RECYCLE.value),
        and_(stage != Stage.OTHER.value, status == LeadStatus.UNQUALIFIED.value),
        and_(status == LeadStatus.RETRY.value, due),
        and_(stage != Stage.LOST_RENURTURE.value, Contact.id.in_(lost_contacts)),
    )


def read_recycling_frames(
    conn: Connection,
    *,
    as_of: datetime,
    lost_stages: Sequence[str] = LOST_DEAL_STAGES,
    recycling: RecyclingRules | None = None,
    every_candidate: bool = False,
) -> RecyclingFrames:
    """Load the recycling candidates and their facts at `as_of` (`recycling`: the rules'
    section, default when None).

    `every_candidate` also reads the leads with too few unreachable calls and every
    retry whatever its date, as the read did before it narrowed them; it decides the same
    (tests/integration/test_recycling_narrow_read.py compares the two).
    """
    recycling = recycling or RecyclingRules()
    lost = lost_deals_query(as_of, lost_stages)
    deals = _frame(conn.execute(lost).all(), DEAL_COLUMNS)
    lost_contacts = select(lost.subquery().c.contact_id)
    contacts_query = (
        select(
            Contact.id, Contact.email, Contact.first_name, Contact.last_name, Company.name,
            Contact.lifecycle_stage, Contact.lead_status, Contact.owner_id,
            _latest_entry(as_of), _latest_entry(as_of, SALES_STAGES),
            _latest_entry(as_of, [Stage.LOST_RENURTURE.value]),
        )
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(_candidates(lost_contacts, as_of=as_of, recycling=recycling,
                           every=every_candidate))
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
