"""Read beat of promotion: candidates with their score as of the hour, events, owners.

Only contacts that some transition rule could still move are read, and only events
after each contact's latest stage change (inside the rules' lookback) of the types the
rules look at, so a run never reads the whole ledger. A second, narrow read loads the
hand-off context (names, reasons, latest activities) for the contacts that moved.
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
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)

from models.enums import Stage
from models.promotion_rules import EmailDomainRule, EventMatch, EventRule, SequenceRule
from models.rules import Rules
from models.tables import (
    Activity,
    Company,
    Contact,
    Event,
    Owner,
    OwnerAssignment,
    Run,
    ScoreSnapshot,
    StageHistory,
    UTCDateTime,
)
from tasks.promotion.decide import PromotionInputs
from tasks.promotion.handoff import HandoffContext
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


def _frame(rows: Sequence[object], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)  # type: ignore[arg-type]


def read_promotion_inputs(conn: Connection, *, rules: Rules, as_of: datetime) -> PromotionInputs:
    """Load candidates, their events since their latest stage change, owners and history."""
    latest_change = (
        select(StageHistory.contact_id, func.max(StageHistory.at).label("last_at"))
        .group_by(StageHistory.contact_id)
        .subquery()
    )
    # When the run that made the latest change started: events ingested after it were
    # never seen by any rule, even if they occurred before the change (late imports).
    last_stage = (
        select(
            latest_change.c.contact_id,
            latest_change.c.last_at,
            type_coerce(func.max(Run.started_at), UTCDateTime).label("recorded_at"),
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
    latest_snapshot = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("snap_at"))
        .where(ScoreSnapshot.as_of <= as_of)
        .group_by(ScoreSnapshot.contact_id)
        .subquery()
    )
    snapshot = ScoreSnapshot.__table__.alias("snapshot")
    stages = movable_stages(rules)
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
        .where(or_(Contact.lifecycle_stage.in_(stages), Contact.lifecycle_stage.is_(None)))
        .order_by(Contact.id)
    )
    contacts = _frame(
        conn.execute(contacts_query).all(), [*CONTACT_COLUMNS, "live_score", "scored_at"]
    )
    # A rerun of a past hour must judge the score of that hour: the snapshot at or
    # before as_of wins; the live score counts only if it was computed by then.
    live = contacts["live_score"].where(
        contacts["scored_at"].map(lambda at: at is not None and at <= as_of).astype(bool)
    )
    contacts["score"] = contacts["score"].astype("Float64").fillna(live.astype("Float64"))
    contacts = contacts[CONTACT_COLUMNS]

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
    events = _frame(conn.execute(events_query).all(), EVENT_COLUMNS)

    owners = _frame(
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
    assignments = _frame(
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
        as_of=as_of, contacts=contacts, events=events, owners=owners, assignments=assignments
    )


def read_handoff_context(
    conn: Connection, *, contact_ids: Sequence[int], as_of: datetime, latest: int
) -> HandoffContext:
    """Names, company, score breakdown and the latest events/activities of these contacts."""
    ids = sorted(set(contact_ids))
    columns = [
        "contact_id",
        "email",
        "first_name",
        "last_name",
        "job_title",
        "lead_source",
        "company_name",
        "company_domain",
    ]
    if not ids:
        return HandoffContext(
            contacts=pd.DataFrame(columns=columns),
            reasons={},
            activities=pd.DataFrame(columns=["contact_id", "source", "type", "detail", "at"]),
        )
    contacts = _frame(
        conn.execute(
            select(
                Contact.id,
                Contact.email,
                Contact.first_name,
                Contact.last_name,
                Contact.job_title,
                Contact.lead_source,
                Company.name,
                Company.domain,
            )
            .outerjoin(Company, Company.id == Contact.company_id)
            .where(Contact.id.in_(ids))
            .order_by(Contact.id)
        ).all(),
        columns,
    )
    latest_snapshot = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("snap_at"))
        .where(ScoreSnapshot.as_of <= as_of, ScoreSnapshot.contact_id.in_(ids))
        .group_by(ScoreSnapshot.contact_id)
        .subquery()
    )
    reasons: dict[int, list[dict[str, object]]] = {}
    for contact_id, breakdown in conn.execute(
        select(ScoreSnapshot.contact_id, ScoreSnapshot.breakdown).join(
            latest_snapshot,
            and_(
                latest_snapshot.c.contact_id == ScoreSnapshot.contact_id,
                latest_snapshot.c.snap_at == ScoreSnapshot.as_of,
            ),
        )
    ):
        signals = breakdown.get("signals", []) if isinstance(breakdown, dict) else []
        reasons[contact_id] = [s for s in signals if isinstance(s, dict)]

    touches = union_all(
        select(
            Event.contact_id,
            literal("event").label("source"),
            Event.type,
            Event.detail,
            Event.occurred_at.label("at"),
        ).where(Event.contact_id.in_(ids), Event.occurred_at <= as_of),
        select(
            Activity.contact_id,
            literal("activity").label("source"),
            Activity.type,
            Activity.outcome.label("detail"),
            Activity.occurred_at.label("at"),
        ).where(Activity.contact_id.in_(ids), Activity.occurred_at <= as_of),
    ).subquery()
    ranked = select(
        touches,
        func.row_number()
        .over(partition_by=touches.c.contact_id, order_by=touches.c.at.desc())
        .label("rank"),
    ).subquery()
    activity_rows = conn.execute(
        select(ranked.c.contact_id, ranked.c.source, ranked.c.type, ranked.c.detail, ranked.c.at)
        .where(ranked.c.rank <= latest)
        .order_by(ranked.c.contact_id, ranked.c.at.desc())
    ).all()
    activities = _frame(activity_rows, ["contact_id", "source", "type", "detail", "at"])
    return HandoffContext(contacts=contacts, reasons=reasons, activities=activities)
