"""Read beat of promotion: candidates with their score as of the hour, events, owners.

Only contacts that some transition rule could still move are read, and only events
after each contact's latest stage change (inside the rules' lookback) of the types the
rules look at, so a run never reads the whole ledger. The hand-off context of the
contacts that moved is a second, narrow read (`tasks.promotion.read_handoff`).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    false,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.sql import Subquery

from models.enums import Stage
from models.lifecycle import TransitionKind
from models.promotion_rules import EmailDomainRule, EventMatch, EventRule, SequenceRule
from models.rules import Rules
from models.tables import (
    Contact,
    Event,
    Owner,
    OwnerAssignment,
    Run,
    ScoreSnapshot,
    StageHistory,
    UTCDateTime,
)
from tasks.promotion.assignment import LEAD_STATUS_RULE_PREFIX
from tasks.promotion.decide import UNOWNED_COLUMNS, PromotionInputs
from tasks.transitions import is_allowed, kind_for

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
EVENT_COLUMNS = ["contact_id", "type", "detail", "occurred_at"]
OWNER_COLUMNS = ["owner_id", "name", "email", "team", "active", "weight", "slack_user_id"]
ASSIGNMENT_COLUMNS = ["contact_id", "owner_id", "team", "at"]


def movable_stages(rules: Rules) -> list[str]:
    """Stages from which at least one transition rule could move a contact, or hot-mark it."""
    targets = [rule.to for rule in rules.promotion.transitions]
    stages = {
        stage.value
        for stage in Stage
        if any(is_allowed(stage, target, kind_for(target)) for target in targets)
    }
    return sorted(stages | {stage.value for stage in rules.promotion.hot_stages})


def _match_condition(match: EventMatch) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = Event.type.in_([e.value for e in match.events])
    if match.details is not None:
        condition = and_(condition, Event.detail.in_(match.details))
    return condition


def _domain_condition(domains: list[str]) -> ColumnElement[bool]:
    email = func.lower(Contact.email)
    return or_(
        *[email.like(f"%@{d.lower()}") for d in domains],
        *[email.like(f"%.{d.lower()}") for d in domains],
    )


def relevant_events_condition(rules: Rules) -> ColumnElement[bool]:
    """Only events some transition rule can use: its types, details and (for domain rules)
    senders, so the read never carries page views a rule would ignore."""
    conditions: list[ColumnElement[bool]] = []
    for rule in rules.promotion.transitions:
        if isinstance(rule, EmailDomainRule):
            conditions.append(and_(_match_condition(rule), _domain_condition(rule.domains)))
        elif isinstance(rule, EventRule):
            conditions.append(_match_condition(rule))
        elif isinstance(rule, SequenceRule):
            conditions.extend(_match_condition(step) for step in rule.steps)
    return or_(*conditions) if conditions else false()


def frame(rows: Sequence[object], columns: list[str]) -> pd.DataFrame:
    """Result rows as a frame with `columns`."""
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)  # type: ignore[arg-type]


def _last_stage_change() -> Subquery:
    """Each contact's latest stage change (when, its kind and rule), and when the run that
    made it started."""
    latest_change = (
        select(StageHistory.contact_id, func.max(StageHistory.at).label("last_at"))
        .group_by(StageHistory.contact_id)
        .subquery()
    )
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


def _scored_contacts(
    conn: Connection, *, as_of: datetime, last_stage: Subquery, where: ColumnElement[bool]
) -> pd.DataFrame:
    """Contacts matching `where` with their score as of the hour (CONTACT_COLUMNS)."""
    latest_snapshot = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("snap_at"))
        .where(ScoreSnapshot.as_of <= as_of)
        .group_by(ScoreSnapshot.contact_id)
        .subquery()
    )
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
        .where(where)
        .order_by(Contact.id)
    )
    contacts = frame(
        conn.execute(contacts_query).all(), [*CONTACT_COLUMNS, "live_score", "scored_at"]
    )
    # A rerun of a past hour must judge the score of that hour: the snapshot at or
    # before as_of wins; the live score counts only if it was computed by then.
    live = contacts["live_score"].where(
        contacts["scored_at"].map(lambda at: not pd.isna(at) and at <= as_of).astype(bool)
    )
    contacts["score"] = contacts["score"].astype("Float64").fillna(live.astype("Float64"))
    return contacts[CONTACT_COLUMNS]


def _late_condition(last_stage: Subquery, *, rules: Rules, as_of: datetime) -> ColumnElement[bool]:
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


def read_promotion_inputs(conn: Connection, *, rules: Rules, as_of: datetime) -> PromotionInputs:
    """Load candidates, their events since their latest stage change, owners and history,
    and the late-assignment candidates of the assign stages (unowned, or moved there by a
    lead status)."""
    # When the run that made the latest change started: events ingested after it were
    # never seen by any rule, even if they occurred before the change (late imports).
    last_stage = _last_stage_change()
    stages = movable_stages(rules)
    contacts = _scored_contacts(
        conn,
        as_of=as_of,
        last_stage=last_stage,
        where=or_(Contact.lifecycle_stage.in_(stages), Contact.lifecycle_stage.is_(None)),
    )
    unowned = _scored_contacts(
        conn,
        as_of=as_of,
        last_stage=last_stage,
        where=_late_condition(last_stage, rules=rules, as_of=as_of),
    )[UNOWNED_COLUMNS]

    since = as_of - timedelta(days=rules.promotion.event_lookback_days)
    events_query = (
        select(Event.contact_id, Event.type, Event.detail, Event.occurred_at)
        .join(Contact, Contact.id == Event.contact_id)
        .outerjoin(last_stage, last_stage.c.contact_id == Event.contact_id)
        .where(
            relevant_events_condition(rules),
            Event.occurred_at <= as_of,
            Event.occurred_at > since,
            or_(
                last_stage.c.last_at.is_(None),
                Event.occurred_at > last_stage.c.last_at,
                Event.ingested_at > last_stage.c.recorded_at,
            ),
            or_(Contact.lifecycle_stage.in_(stages), Contact.lifecycle_stage.is_(None)),
        )
        .order_by(Event.contact_id, Event.occurred_at, Event.id)
    )
    events = frame(conn.execute(events_query).all(), EVENT_COLUMNS)

    owners = frame(
        conn.execute(
            select(
                Owner.id,
                Owner.name,
                Owner.email,
                Owner.team,
                Owner.active,
                Owner.weight,
                Owner.slack_user_id,
            ).order_by(Owner.id)
        ).all(),
        OWNER_COLUMNS,
    )
    assignments = frame(
        conn.execute(
            select(
                OwnerAssignment.contact_id,
                OwnerAssignment.owner_id,
                OwnerAssignment.team,
                OwnerAssignment.at,
            ).order_by(OwnerAssignment.at, OwnerAssignment.id)
        ).all(),
        ASSIGNMENT_COLUMNS,
    )
    return PromotionInputs(
        as_of=as_of,
        contacts=contacts,
        events=events,
        owners=owners,
        assignments=assignments,
        unowned=unowned,
    )
