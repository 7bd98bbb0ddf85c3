"""`leadflow explain`, the sales side: lead-status history, SLA clocks, follow-up tasks."""

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, select

from models.tables import FollowUpTask, LeadStatusHistory, SlaClock


@dataclass(frozen=True)
class SalesWork:
    """A contact's status changes, SLA clocks and follow-up tasks, oldest first."""

    statuses: list[Any] = field(default_factory=list)
    clocks: list[Any] = field(default_factory=list)
    follow_ups: list[Any] = field(default_factory=list)


def read_sales_work(conn: Connection, *, contact_id: int) -> SalesWork:
    """Everything sales did or owes on one contact, as stored."""
    h, c, f = LeadStatusHistory, SlaClock, FollowUpTask
    return SalesWork(
        statuses=list(conn.execute(
            select(h.from_status, h.to_status, h.at, h.source, h.reason, h.retry_at)
            .where(h.contact_id == contact_id).order_by(h.at, h.id)
        )),
        clocks=list(conn.execute(
            select(c.policy, c.cycle, c.started_at, c.due_at, c.satisfied_at, c.breached_at,
                   c.level)
            .where(c.contact_id == contact_id).order_by(c.cycle, c.started_at, c.policy)
        )),
        follow_ups=list(conn.execute(
            select(f.cycle, f.day, f.due_at, f.done_at)
            .where(f.contact_id == contact_id).order_by(f.cycle, f.day)
        )),
    )


def format_sales_work(work: SalesWork, *, tz: tzinfo) -> list[str]:
    """The explain sections, times in the business time zone `tz`."""

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
            else "open" if row.breached_at is None else "not satisfied"
        )
        breach = f", breached {at(row.breached_at)}" if row.breached_at else ""
        lines.append(
            f"  {row.policy} (cycle {row.cycle}): started {at(row.started_at)}, due "
            f"{at(row.due_at)}, {state}{breach}, level {row.level}"
        )
    if not work.clocks:
        lines.append("  no SLA clocks (run `leadflow run sla`)")
    lines += ["", "follow-up tasks"]
    for row in work.follow_ups:
        done = f"done {at(row.done_at)}" if row.done_at else "open"
        lines.append(f"  cycle {row.cycle}, day {row.day}: due {at(row.due_at)}, {done}")
    if not work.follow_ups:
        lines.append("  no follow-up tasks")
    return lines
