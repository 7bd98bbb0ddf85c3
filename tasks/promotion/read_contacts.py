"""Candidate rows of promotion: each contact with its score as of the hour and its
latest stage change (when, which kind and rule, and whether it awaits re-engagement).

Restricted to listed contact ids, every subquery (latest stage change, latest snapshot)
reads only those contacts' history: an incremental run never groups the whole ledger.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, type_coerce
from sqlalchemy.sql import Subquery

from leadflow.db import among
from models.lifecycle import TransitionKind
from models.rules import Rules
from models.tables import Contact, Event, Run, ScoreSnapshot, StageHistory, UTCDateTime
from tasks.promotion.assignment import LEAD_STATUS_RULE_PREFIX

CONTACT_COLUMNS = [
    "contact_id",
    "email",
    "company_id",
    "lifecycle_stage",
    "lead_status",
    "owner_id",
    "lead_source",
    "hot_at",
    "score",
    "last_stage_at",
    "last_stage_kind",
    "last_stage_rule",
    "awaiting_reengagement",
]


def frame(rows: Sequence[object], columns: list[str]) -> pd.DataFrame:
    """Result rows as a frame with `columns`."""
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)  # type: ignore[arg-type]


def last_stage_change(ids: Sequence[int] | None, dialect: str) -> Subquery:
    """Each contact's latest stage change (when, its kind and rule), and when the run that
    made it started; only of the contacts `ids` when given (`dialect`: the database's,
    for how the ids are bound)."""
    latest = select(StageHistory.contact_id, func.max(StageHistory.at).label("last_at"))
    if ids is not None:
        latest = latest.where(among(StageHistory.contact_id, ids, dialect))
    latest_change = latest.group_by(StageHistory.contact_id).subquery()
    return (
        select(
            latest_change.c.contact_id,
            latest_change.c.last_at,
            type_coerce(func.max(Run.started_at), UTCDateTime).label("recorded_at"),
            func.max(StageHistory.kind).label("last_kind"),
            func.max(StageHistory.rule).label("last_rule"),
        )
        .join(
            StageHistory,
            and_(
                StageHistory.contact_id == latest_change.c.contact_id,
                StageHistory.at == latest_change.c.last_at,
            ),
        )
        .outerjoin(Run, Run.id == StageHistory.run_id)
        .group_by(latest_change.c.contact_id, latest_change.c.last_at)
        .subquery()
    )


def _awaiting_reengagement(last_stage: Subquery, *, as_of: datetime) -> ColumnElement[bool]:
    """True for a contact sent back to marketing (recycle, re-nurture) that has shown no
    behaviour since: its old score alone must not hand it straight back to sales."""
    since_move = (
        select(Event.id)
        .where(
            Event.contact_id == Contact.id,
            Event.occurred_at > last_stage.c.last_at,
            Event.occurred_at <= as_of,
        )
        .exists()
    )
    backward = last_stage.c.last_kind.in_(
        [TransitionKind.RECYCLE.value, TransitionKind.RENURTURE.value]
    )
    return and_(backward, ~since_move).label("awaiting_reengagement")


def scored_contacts(
    conn: Connection,
    *,
    as_of: datetime,
    where: Callable[[Subquery], ColumnElement[bool]],
    ids: Sequence[int] | None,
) -> pd.DataFrame:
    """Contacts matching `where(last_stage)` (of `ids` when given) with their score as of
    the hour (CONTACT_COLUMNS)."""
    dialect = conn.dialect.name
    last_stage = last_stage_change(ids, dialect)
    latest = select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("snap_at")).where(
        ScoreSnapshot.as_of <= as_of
    )
    if ids is not None:
        latest = latest.where(among(ScoreSnapshot.contact_id, ids, dialect))
    latest_snapshot = latest.group_by(ScoreSnapshot.contact_id).subquery()
    snapshot = ScoreSnapshot.__table__.alias("snapshot")
    contacts_query = (
        select(
            Contact.id,
            Contact.email,
            Contact.company_id,
            Contact.lifecycle_stage,
            Contact.lead_status,
            Contact.owner_id,
            Contact.lead_source,
            Contact.hot_at,
            snapshot.c.score,
            last_stage.c.last_at,
            last_stage.c.last_kind,
            last_stage.c.last_rule,
            _awaiting_reengagement(last_stage, as_of=as_of),
            Contact.score,
            Contact.scored_at,
        )
        .outerjoin(last_stage, last_stage.c.contact_id == Contact.id)
        .outerjoin(latest_snapshot, latest_snapshot.c.contact_id == Contact.id)
        .outerjoin(
            snapshot,
            and_(
                snapshot.c.contact_id == latest_snapshot.c.contact_id,
                snapshot.c.as_of == latest_snapshot.c.snap_at,
            ),
        )
        .where(where(last_stage))
        .order_by(Contact.id)
    )
    if ids is not None:
        contacts_query = contacts_query.where(among(Contact.id, ids, dialect))
    contacts = frame(
        conn.execute(contacts_query).all(), [*CONTACT_COLUMNS, "live_score", "scored_at"]
    )
    # A rerun of a past hour must judge the score of that hour: the snapshot at or
    # before as_of wins; the live score counts only if it was computed by then.
    scored_at = pd.to_datetime(contacts["scored_at"], utc=True, errors="coerce")
    live = contacts["live_score"].where((scored_at <= pd.Timestamp(as_of)).to_numpy(dtype=bool))
    contacts["score"] = contacts["score"].astype("Float64").fillna(live.astype("Float64"))
    return contacts[CONTACT_COLUMNS]


def late_condition(last_stage: Subquery, *, rules: Rules, as_of: datetime) -> ColumnElement[bool]:
    """Contacts of the assign stages that may need an owner outside this hour's moves:
    unowned ones, and owned ones a lead status moved there lately (sales_ready → sql);
    decide keeps those whose owner is not of the team routing gives the stage."""
    status_move: ColumnElement[bool] = last_stage.c.last_rule.like(f"{LEAD_STATUS_RULE_PREFIX}%")
    window = rules.promotion.late_assignment_within_days
    if window is not None:
        status_move = and_(status_move, last_stage.c.last_at >= as_of - timedelta(days=window))
    return and_(
        Contact.lifecycle_stage.in_([s.value for s in rules.promotion.assign_stages]),
        or_(Contact.owner_id.is_(None), status_move),
    )
