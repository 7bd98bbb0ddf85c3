"""Read beat of the SLA hour: the contacts whose clocks can still change, with their facts.

A contact is read while it has a hand-off at or before `as_of` and either an open clock,
a cycle without clocks yet, or an open latest cycle missing a clock it is owed (an
`assigned` policy is owed one once an owner was assigned). Everything else is settled
and not read again, so a run does not re-read two years of history every hour. An
incremental run (`tasks.sla.read_scope`) reads only those of them whose clocks can have
changed since the previous run, in slices of ids.
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

from leadflow.db import in_chunks
from models.rules import Rules
from models.tables import (
    Activity,
    Contact,
    FollowUpTask,
    LeadStatusHistory,
    Owner,
    OwnerAssignment,
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
from tasks.sla.read_scope import SlaScope

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
PART_COLUMNS = {
    "contacts": CONTACT_COLUMNS, "stages": STAGE_COLUMNS, "activities": ACTIVITY_COLUMNS,
    "statuses": STATUS_COLUMNS, "assignments": ASSIGNMENT_COLUMNS, "clocks": CLOCK_COLUMNS,
    "escalations": ESCALATION_COLUMNS, "follow_ups": FOLLOW_UP_COLUMNS,
}
# Keeps IN lists well below every driver's bound-parameter limit (each is bound twice).
KEY_CHUNK = 2_000


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


def candidates_query(
    *, rules: Rules, as_of: datetime, among: Sequence[int] | None = None
) -> Select[tuple[int, datetime]]:
    """Contacts whose SLA state can still change at `as_of`, with their first hand-off;
    only those `among` these ids when given."""
    handoff_rows = select(
        StageHistory.contact_id,
        func.count().label("cycles"),
        func.min(StageHistory.at).label("first_at"),
        func.max(StageHistory.at).label("last_at"),
    ).where(handoff_condition(), StageHistory.at <= as_of)
    clock_rows = select(
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
    if among is not None:
        handoff_rows = handoff_rows.where(StageHistory.contact_id.in_(among))
        clock_rows = clock_rows.where(SlaClock.contact_id.in_(among))
    handoffs = handoff_rows.group_by(StageHistory.contact_id).subquery()
    clocks = clock_rows.group_by(SlaClock.contact_id).subquery()
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


def read_sla_inputs(
    conn: Connection, *, rules: Rules, as_of: datetime, scope: SlaScope | None = None
) -> SlaInputs:
    """Load the unsettled contacts' stage, activity, status and owner history and their
    clocks, escalations and follow-up tasks; every owner.

    Without `scope`, or with a full one, every unsettled contact; else only those among
    the scope's candidates, read in slices of ids.
    """
    if scope is None or scope.full:
        parts = [_read_part(conn, rules=rules, as_of=as_of, among=None)]
    else:
        parts = [
            _read_part(conn, rules=rules, as_of=as_of, among=chunk)
            for chunk in in_chunks(scope.candidates or [], KEY_CHUNK)
        ]
    frames = {
        name: _joined([part[name] for part in parts], columns)
        for name, columns in PART_COLUMNS.items()
    }
    owners = _frame(
        conn.execute(
            select(Owner.id, Owner.name, Owner.email, Owner.team, Owner.manager_email,
                   Owner.slack_user_id, Owner.active).order_by(Owner.id)
        ).all(),
        OWNER_COLUMNS,
    )
    return SlaInputs(as_of=as_of, owners=owners, **frames)


def _joined(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=columns)
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _read_part(
    conn: Connection, *, rules: Rules, as_of: datetime, among: Sequence[int] | None
) -> dict[str, pd.DataFrame]:
    """The frames of the unsettled contacts (`among` these ids when given), by name."""
    candidates = candidates_query(rules=rules, as_of=as_of, among=among).subquery()
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
    return {
        "contacts": contacts, "stages": stages, "activities": activities,
        "statuses": statuses, "assignments": assignments, "clocks": clocks,
        "escalations": escalations, "follow_ups": follow_ups,
    }
