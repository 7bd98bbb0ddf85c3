"""Read beat of the SLA hour: the contacts whose clocks can still change, with their facts.

A contact is read while it has a hand-off at or before `as_of` and either an open clock,
a cycle without clocks yet, or an open latest cycle missing a clock it is owed (an
`assigned` policy is owed one once an owner was assigned). Everything else is settled
and not read again, so a run does not re-read two years of history every hour.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)

from models.rules import Rules
from models.tables import (
    Activity,
    Company,
    Contact,
    FollowUpTask,
    LeadStatusHistory,
    Owner,
    OwnerAssignment,
    ScoreSnapshot,
    SlaClock,
    SlaEscalation,
    StageHistory,
)
from tasks.sla.cycles import (
    DIRECT_HANDOFF_STAGES,
    ENDING_KINDS,
    HANDOFF_STAGE,
    IMPORT_ENDING_STAGES,
    IMPORT_KIND,
    NOT_BEFORE_MQL,
)
from tasks.sla.decisions import SlaInputs

CONTACT_COLUMNS = ["contact_id", "email", "owner_id", "lead_source"]
STAGE_COLUMNS = ["contact_id", "from_stage", "to_stage", "at", "kind"]
ACTIVITY_COLUMNS = ["contact_id", "type", "outcome", "occurred_at"]
STATUS_COLUMNS = ["contact_id", "to_status", "at"]
ASSIGNMENT_COLUMNS = ["contact_id", "owner_id", "team", "at"]
OWNER_COLUMNS = ["owner_id", "name", "email", "team", "manager_email", "slack_user_id", "active"]
CLOCK_COLUMNS = ["contact_id", "cycle", "policy", "started_at", "due_at", "satisfied_at",
                 "breached_at", "level", "owner_id", "closed_at"]
ESCALATION_COLUMNS = ["contact_id", "cycle", "policy", "level"]
FOLLOW_UP_COLUMNS = ["contact_id", "cycle", "day", "due_at", "done_at", "owner_id"]
CONTEXT_COLUMNS = ["contact_id", "email", "first_name", "last_name", "company_name",
                   "company_domain", "score", "last_type", "last_outcome", "last_at"]


def handoff_condition() -> ColumnElement[bool]:
    """SQL for a stage-history row that is a hand-off (see tasks.sla.cycles.is_handoff)."""
    return or_(
        StageHistory.to_stage == HANDOFF_STAGE,
        and_(
            StageHistory.to_stage.in_(DIRECT_HANDOFF_STAGES),
            or_(StageHistory.from_stage.is_(None),
                StageHistory.from_stage.not_in(NOT_BEFORE_MQL)),
        ),
    )


def ending_condition() -> ColumnElement[bool]:
    """SQL for a stage-history row that ends a cycle (see tasks.sla.cycles.ending_rows)."""
    return or_(
        StageHistory.kind.in_(ENDING_KINDS),
        and_(StageHistory.kind == IMPORT_KIND, StageHistory.to_stage.in_(IMPORT_ENDING_STAGES)),
    )


def _frame(rows: Sequence[object], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)  # type: ignore[arg-type]


def candidates_query(*, rules: Rules, as_of: datetime) -> Select[tuple[int, datetime]]:
    """Contacts whose SLA state can still change at `as_of`, with their first hand-off."""
    handoffs = (
        select(
            StageHistory.contact_id,
            func.count().label("cycles"),
            func.min(StageHistory.at).label("first_at"),
            func.max(StageHistory.at).label("last_at"),
        )
        .where(handoff_condition(), StageHistory.at <= as_of)
        .group_by(StageHistory.contact_id)
        .subquery()
    )
    clocks = (
        select(
            SlaClock.contact_id,
            func.max(SlaClock.cycle).label("max_cycle"),
            func.sum(
                case(
                    (and_(or_(SlaClock.satisfied_at.is_(None), SlaClock.satisfied_at > as_of),
                          or_(SlaClock.closed_at.is_(None), SlaClock.closed_at > as_of)), 1),
                    else_=0,
                )
            ).label("open"),
        )
        .group_by(SlaClock.contact_id)
        .subquery()
    )
    in_latest = (
        select(func.count())
        .where(SlaClock.contact_id == handoffs.c.contact_id,
               SlaClock.cycle == handoffs.c.cycles)
        .scalar_subquery()
    )
    # An `assigned` policy is owed a clock only once someone was assigned in the cycle:
    # without that, a lead nobody owns would be read again every hour.
    assigned = exists().where(
        OwnerAssignment.contact_id == handoffs.c.contact_id,
        OwnerAssignment.at >= handoffs.c.last_at,
        OwnerAssignment.at <= as_of,
    )
    by_start = [p.start for p in rules.sla.policies]
    expected = literal(by_start.count("mql")) + case(
        (assigned, by_start.count("assigned")), else_=0
    )
    ended = exists().where(
        StageHistory.contact_id == handoffs.c.contact_id,
        StageHistory.at > handoffs.c.last_at,
        StageHistory.at <= as_of,
        ending_condition(),
    )
    return (
        select(handoffs.c.contact_id, handoffs.c.first_at)
        .outerjoin(clocks, clocks.c.contact_id == handoffs.c.contact_id)
        .where(
            or_(
                func.coalesce(clocks.c.open, 0) > 0,
                func.coalesce(clocks.c.max_cycle, 0) < handoffs.c.cycles,
                and_(not_(ended), in_latest < expected),
            )
        )
    )


def read_sla_inputs(conn: Connection, *, rules: Rules, as_of: datetime) -> SlaInputs:
    """Load the unsettled contacts' stage, activity, status and owner history and their
    clocks, escalations and follow-up tasks; every owner."""
    candidates = candidates_query(rules=rules, as_of=as_of).subquery()
    ids = select(candidates.c.contact_id)

    def rows(query: Select[Any], columns: list[str]) -> pd.DataFrame:
        return _frame(conn.execute(query).all(), columns)

    contacts = rows(
        select(Contact.id, Contact.email, Contact.owner_id, Contact.lead_source)
        .where(Contact.id.in_(ids)).order_by(Contact.id),
        CONTACT_COLUMNS,
    )
    stages = rows(
        select(StageHistory.contact_id, StageHistory.from_stage, StageHistory.to_stage,
               StageHistory.at, StageHistory.kind)
        .where(StageHistory.contact_id.in_(ids), StageHistory.at <= as_of)
        .order_by(StageHistory.contact_id, StageHistory.at, StageHistory.id),
        STAGE_COLUMNS,
    )
    activities = rows(
        select(Activity.contact_id, Activity.type, Activity.outcome, Activity.occurred_at)
        .join(candidates, candidates.c.contact_id == Activity.contact_id)
        .where(Activity.occurred_at <= as_of, Activity.occurred_at >= candidates.c.first_at)
        .order_by(Activity.contact_id, Activity.occurred_at, Activity.id),
        ACTIVITY_COLUMNS,
    )
    statuses = rows(
        select(LeadStatusHistory.contact_id, LeadStatusHistory.to_status, LeadStatusHistory.at)
        .join(candidates, candidates.c.contact_id == LeadStatusHistory.contact_id)
        .where(LeadStatusHistory.at <= as_of, LeadStatusHistory.at >= candidates.c.first_at)
        .order_by(LeadStatusHistory.contact_id, LeadStatusHistory.at, LeadStatusHistory.id),
        STATUS_COLUMNS,
    )
    assignments = rows(
        select(OwnerAssignment.contact_id, OwnerAssignment.owner_id, OwnerAssignment.team,
               OwnerAssignment.at)
        .where(OwnerAssignment.contact_id.in_(ids))
        .order_by(OwnerAssignment.contact_id, OwnerAssignment.at, OwnerAssignment.id),
        ASSIGNMENT_COLUMNS,
    )
    owners = rows(
        select(Owner.id, Owner.name, Owner.email, Owner.team, Owner.manager_email,
               Owner.slack_user_id, Owner.active).order_by(Owner.id),
        OWNER_COLUMNS,
    )
    clocks = rows(
        select(SlaClock.contact_id, SlaClock.cycle, SlaClock.policy, SlaClock.started_at,
               SlaClock.due_at, SlaClock.satisfied_at, SlaClock.breached_at, SlaClock.level,
               SlaClock.owner_id, SlaClock.closed_at).where(SlaClock.contact_id.in_(ids)),
        CLOCK_COLUMNS,
    )
    escalations = rows(
        select(SlaEscalation.contact_id, SlaEscalation.cycle, SlaEscalation.policy,
               SlaEscalation.level).where(SlaEscalation.contact_id.in_(ids)),
        ESCALATION_COLUMNS,
    )
    follow_ups = rows(
        select(FollowUpTask.contact_id, FollowUpTask.cycle, FollowUpTask.day,
               FollowUpTask.due_at, FollowUpTask.done_at, FollowUpTask.owner_id)
        .where(FollowUpTask.contact_id.in_(ids)),
        FOLLOW_UP_COLUMNS,
    )
    return SlaInputs(
        as_of=as_of, contacts=contacts, stages=stages, activities=activities,
        statuses=statuses, assignments=assignments, owners=owners, clocks=clocks,
        escalations=escalations, follow_ups=follow_ups,
    )


def read_message_context(
    conn: Connection, *, contact_ids: Sequence[int], as_of: datetime
) -> pd.DataFrame:
    """Name, company, score as of the hour and latest sales touch of these contacts."""
    ids = sorted(set(contact_ids))
    if not ids:
        return pd.DataFrame(columns=CONTEXT_COLUMNS)
    snapshot_at = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("snap_at"))
        .where(ScoreSnapshot.as_of <= as_of, ScoreSnapshot.contact_id.in_(ids))
        .group_by(ScoreSnapshot.contact_id)
        .subquery()
    )
    snapshot = ScoreSnapshot.__table__.alias("snapshot")
    ranked = (
        select(
            Activity.contact_id, Activity.type, Activity.outcome, Activity.occurred_at,
            func.row_number().over(
                partition_by=Activity.contact_id,
                order_by=(Activity.occurred_at.desc(), Activity.id.desc()),
            ).label("rank"),
        )
        .where(Activity.contact_id.in_(ids), Activity.occurred_at <= as_of)
        .subquery()
    )
    latest = select(ranked).where(ranked.c.rank == 1).subquery()
    # A score computed after the hour does not belong to it (a rerun of a past hour).
    live_score = case((Contact.scored_at <= as_of, Contact.score), else_=None)
    query = (
        select(
            Contact.id, Contact.email, Contact.first_name, Contact.last_name, Company.name,
            Company.domain, func.coalesce(snapshot.c.score, live_score),
            latest.c.type, latest.c.outcome, latest.c.occurred_at,
        )
        .outerjoin(Company, Company.id == Contact.company_id)
        .outerjoin(snapshot_at, snapshot_at.c.contact_id == Contact.id)
        .outerjoin(snapshot, and_(snapshot.c.contact_id == snapshot_at.c.contact_id,
                                  snapshot.c.as_of == snapshot_at.c.snap_at))
        .outerjoin(latest, latest.c.contact_id == Contact.id)
        .where(Contact.id.in_(ids))
        .order_by(Contact.id)
    )
    return _frame(conn.execute(query).all(), CONTEXT_COLUMNS)
