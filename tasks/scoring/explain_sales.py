"""`leadflow explain`, the sales side: lead-status history, SLA clocks, what they fired
(escalations and reassignments), follow-up tasks."""

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, select

from models.enums import Team
from models.sla_rules import SlaRules
from models.tables import (
    FollowUpTask,
    LeadStatusHistory,
    Owner,
    OwnerAssignment,
    SlaClock,
    SlaEscalation,
)

# What `tasks.sla.hour` records as the reason of an SLA reassignment: "sla <policy> level <n>".
SLA_REASON_PREFIX = "sla "
RECIPIENT_WORDS = {"owner": "owner", "manager": "manager", "team_channel": "team channel"}


@dataclass(frozen=True)
class SalesWork:
    """A contact's status changes, SLA clocks, escalations, owner assignments and
    follow-up tasks, oldest first."""

    statuses: list[Any] = field(default_factory=list)
    clocks: list[Any] = field(default_factory=list)
    follow_ups: list[Any] = field(default_factory=list)
    escalations: list[Any] = field(default_factory=list)
    assignments: list[Any] = field(default_factory=list)


def read_sales_work(conn: Connection, *, contact_id: int) -> SalesWork:
    """Everything sales did or owes on one contact, as stored."""
    h, c, f, e, a = LeadStatusHistory, SlaClock, FollowUpTask, SlaEscalation, OwnerAssignment
    return SalesWork(
        statuses=list(conn.execute(
            select(h.from_status, h.to_status, h.at, h.source, h.reason, h.retry_at)
            .where(h.contact_id == contact_id).order_by(h.at, h.id)
        )),
        clocks=list(conn.execute(
            select(c.policy, c.cycle, c.started_at, c.due_at, c.satisfied_at, c.breached_at,
                   c.level, c.closed_at)
            .where(c.contact_id == contact_id).order_by(c.cycle, c.started_at, c.policy)
        )),
        follow_ups=list(conn.execute(
            select(f.cycle, f.day, f.due_at, f.done_at)
            .where(f.contact_id == contact_id).order_by(f.cycle, f.day)
        )),
        escalations=list(conn.execute(
            select(e.cycle, e.policy, e.level, e.due_at, e.at, e.action, e.detail,
                   Owner.email.label("owner_email"), Owner.manager_email, Owner.team)
            .outerjoin(Owner, Owner.id == e.owner_id)
            .where(e.contact_id == contact_id).order_by(e.at, e.cycle, e.policy, e.level)
        )),
        assignments=list(conn.execute(
            select(a.at, a.reason, a.team, Owner.email.label("owner_email"))
            .join(Owner, Owner.id == a.owner_id)
            .where(a.contact_id == contact_id).order_by(a.at, a.id)
        )),
    )


def _reassignments(assignments: list[Any]) -> dict[tuple[str, datetime], tuple[str | None, str]]:
    """SLA reassignments by (reason, instant): (previous owner's email, new owner's email)."""
    moves: dict[tuple[str, datetime], tuple[str | None, str]] = {}
    previous: str | None = None
    for row in assignments:
        if str(row.reason).startswith(SLA_REASON_PREFIX):
            moves[(str(row.reason), row.at)] = (previous, str(row.owner_email))
        previous = str(row.owner_email)
    return moves


def _recipients(row: Any, sla: SlaRules | None) -> str:
    """Who the level told, as the policy ladder names them, with the person or channel."""
    level = None
    if sla is not None:
        policy = next((p for p in sla.policies if p.name == row.policy), None)
        if policy is not None and 1 <= row.level <= len(policy.ladder):
            level = policy.ladder[row.level - 1]
    if level is None:
        return "recipients unknown (the policy is no longer in the rules)"
    # Without an owner only the team channel hears of it (see tasks.sla.messages).
    notify = list(level.notify) if row.owner_email else ["team_channel"]
    via = list(level.via) if row.owner_email else ["slack"]
    channel = (sla.team_channels.get(Team(row.team))
               if sla is not None and row.team in Team._value2member_map_ else None)
    whom = {"owner": row.owner_email, "manager": row.manager_email or "(no manager email)",
            "team_channel": channel}
    names = [
        f"{RECIPIENT_WORDS[r]} {whom[r]}" if whom.get(r) else RECIPIENT_WORDS[r] for r in notify
    ]
    return f"{', '.join(names)} by {', '.join(via)}"


def _closed_cycles(work: SalesWork) -> dict[int, datetime | None]:
    """Cycles that ended, with the instant if a clock recorded it (a later cycle also
    means the earlier one ended)."""
    closed: dict[int, datetime | None] = {}
    for row in work.clocks:
        if row.closed_at is not None:
            known = closed.get(row.cycle)
            closed[row.cycle] = row.closed_at if known is None else min(known, row.closed_at)
    latest = max((row.cycle for row in work.clocks), default=0)
    for cycle in {row.cycle for row in work.follow_ups}:
        if cycle < latest:
            closed.setdefault(cycle, None)
    return closed


def format_sales_work(
    work: SalesWork, *, tz: tzinfo, sla: SlaRules | None = None
) -> list[str]:
    """The explain sections, times in the business time zone `tz`; `sla` names who each
    escalation level told."""

    def at(instant: datetime | None) -> str:
        return "-" if instant is None else instant.astimezone(tz).isoformat(timespec="minutes")

    lines = ["", "lead status history"]
    for row in work.statuses:
        detail = f"{row.source}" + (f": {row.reason}" if row.reason else "")
        retry = f", re-approach {at(row.retry_at)}" if row.retry_at else ""
        lines.append(
            f"  {at(row.at)}  {row.from_status or '-'} → {row.to_status}{retry} ({detail})"
        )
    if not work.statuses:
        lines.append("  no status changes recorded")
    lines += ["", "SLA clocks"]
    for row in work.clocks:
        state = (
            f"satisfied {at(row.satisfied_at)}" if row.satisfied_at
            else f"closed unsatisfied {at(row.closed_at)} (the cycle ended)" if row.closed_at
            else "open" if row.breached_at is None else "not satisfied"
        )
        breach = f", breached {at(row.breached_at)}" if row.breached_at else ""
        lines.append(
            f"  {row.policy} (cycle {row.cycle}): started {at(row.started_at)}, due "
            f"{at(row.due_at)}, {state}{breach}, level {row.level}"
        )
    if not work.clocks:
        lines.append("  no SLA clocks (run `leadflow run sla`)")
    lines += ["", "SLA escalations"]
    moves = _reassignments(work.assignments)
    for row in work.escalations:
        detail = f" — {row.detail}" if row.detail and row.action != "reassign" else ""
        lines.append(
            f"  {at(row.at)}  {row.policy} level {row.level} (cycle {row.cycle}, due "
            f"{at(row.due_at)}): {row.action} → {_recipients(row, sla)}{detail}"
        )
        if row.action == "reassign":
            move = moves.get((f"{SLA_REASON_PREFIX}{row.policy} level {row.level}", row.at))
            lines.append(
                f"    reassigned {move[0] or '-'} → {move[1]}" if move
                else f"    not reassigned: {row.detail or 'no owner to take over'}"
            )
    if not work.escalations:
        lines.append("  no escalations")
    lines += ["", "follow-up tasks"]
    closed = _closed_cycles(work)
    for row in work.follow_ups:
        if row.done_at:
            state = f"done {at(row.done_at)}"
        elif row.cycle in closed:
            ended = closed[row.cycle]
            state = "closed" + (f" {at(ended)} (the cycle ended)" if ended else
                                " (the cycle ended)")
        else:
            state = "open"
        lines.append(f"  cycle {row.cycle}, day {row.day}: due {at(row.due_at)}, {state}")
    if not work.follow_ups:
        lines.append("  no follow-up tasks")
    return lines
