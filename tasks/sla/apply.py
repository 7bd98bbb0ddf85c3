"""Apply beat of the SLA hour: clocks, escalations, reassignments, follow-up tasks and
their messages, in one transaction.

Natural keys everywhere: clocks (contact, cycle, policy), escalations (contact, cycle,
policy, level), follow-up tasks (contact, cycle, day), outbox idempotency keys. An
escalation that is already stored (a rerun, a concurrent run) neither reassigns the lead
again nor enqueues its messages again.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, select, update

from leadflow.db import in_chunks, insert_ignoring_conflicts
from models.enums import Team
from models.messages import OutboxMessage
from models.tables import FollowUpTask, SlaClock, SlaEscalation
from tasks.outbox import enqueue
from tasks.owners import OwnerPick, record_owners
from tasks.quarantine import store_quarantine
from tasks.sla.decisions import ClockRow, Escalation, SlaDecisions
from tasks.sla.messages import Reassignment

CLOCK_FIELDS = ("started_at", "due_at", "satisfied_at", "breached_at", "closed_at", "level")
# Contacts per clock-id lookup: an IN list must stay under the bound-parameter limit.
CLOCK_ID_CHUNK = 5_000


@dataclass
class AppliedSla:
    """What the apply beat actually wrote."""

    clocks_opened: int = 0
    clocks_updated: int = 0
    escalations: list[Escalation] = field(default_factory=list)
    reassigned: list[Reassignment] = field(default_factory=list)
    follow_ups_opened: int = 0
    follow_ups_done: int = 0
    enqueued: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0

    def escalations_by_level(self) -> dict[str, int]:
        """Escalations stored per `policy:level`."""
        counts: dict[str, int] = {}
        for escalation in self.escalations:
            name = f"{escalation.policy}:{escalation.level}"
            counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items()))


def _clock_values(row: ClockRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in CLOCK_FIELDS}


def _write_clocks(
    conn: Connection, clocks: Sequence[ClockRow], *, run_id: str | None, now: datetime
) -> tuple[int, int]:
    opened = insert_ignoring_conflicts(
        conn,
        SlaClock.__table__,  # type: ignore[arg-type]
        [
            {"contact_id": c.contact_id, "cycle": c.cycle, "policy": c.policy,
             **_clock_values(c), "owner_id": c.owner_id, "updated_at": now, "run_id": run_id}
            for c in clocks if c.opened
        ],
        keys=["contact_id", "cycle", "policy"],
    )
    changed = [c for c in clocks if not c.opened]
    if changed:
        conn.execute(
            update(SlaClock)
            .where(
                SlaClock.contact_id == bindparam("k_contact"),
                SlaClock.cycle == bindparam("k_cycle"),
                SlaClock.policy == bindparam("k_policy"),
            )
            .values(**{name: bindparam(f"v_{name}") for name in CLOCK_FIELDS},
                    updated_at=now, run_id=run_id),
            [
                {"k_contact": c.contact_id, "k_cycle": c.cycle, "k_policy": c.policy,
                 **{f"v_{name}": value for name, value in _clock_values(c).items()}}
                for c in changed
            ],
        )
    return opened, len(changed)


def _clock_ids(
    conn: Connection, escalations: Sequence[Escalation]
) -> dict[tuple[int, int, str], int]:
    contact_ids = sorted({e.contact_id for e in escalations})
    if not contact_ids:
        return {}
    found: dict[tuple[int, int, str], int] = {}
    for part in in_chunks(contact_ids, CLOCK_ID_CHUNK):
        rows = conn.execute(
            select(SlaClock.id, SlaClock.contact_id, SlaClock.cycle, SlaClock.policy)
            .where(SlaClock.contact_id.in_(part))
        )
        found.update({(r.contact_id, r.cycle, r.policy): r.id for r in rows})
    return found


def _write_follow_ups(
    conn: Connection, decisions: SlaDecisions, *, run_id: str | None, now: datetime
) -> tuple[int, int]:
    opened = insert_ignoring_conflicts(
        conn,
        FollowUpTask.__table__,  # type: ignore[arg-type]
        [
            {"contact_id": t.contact_id, "cycle": t.cycle, "day": t.day, "due_at": t.due_at,
             "done_at": t.done_at, "owner_id": t.owner_id, "created_at": now, "run_id": run_id}
            for t in decisions.follow_ups if t.opened
        ],
        keys=["contact_id", "cycle", "day"],
    )
    done = [t for t in decisions.follow_ups if not t.opened]
    if done:
        conn.execute(
            update(FollowUpTask)
            .where(
                FollowUpTask.contact_id == bindparam("k_contact"),
                FollowUpTask.cycle == bindparam("k_cycle"),
                FollowUpTask.day == bindparam("k_day"),
            )
            .values(done_at=bindparam("v_done_at")),
            [
                {"k_contact": t.contact_id, "k_cycle": t.cycle, "k_day": t.day,
                 "v_done_at": t.done_at}
                for t in done
            ],
        )
    return opened, len(done)


def _detail(escalation: Escalation, change: Reassignment | None) -> str | None:
    if change is None:
        return escalation.detail
    if change.to_owner_id is None:
        return "reassign: no other active owner in the team"
    return f"reassigned from owner {change.from_owner_id} to owner {change.to_owner_id}"


def apply_sla(
    engine: Engine,
    decisions: SlaDecisions,
    messages: Sequence[OutboxMessage],
    *,
    reassignments: Mapping[str, Reassignment],
    run_id: str | None,
    now: datetime,
) -> AppliedSla:
    """Write the hour's decisions and enqueue the messages of escalations that are new."""
    applied = AppliedSla()
    with engine.begin() as conn:
        applied.clocks_opened, applied.clocks_updated = _write_clocks(
            conn, decisions.clocks, run_id=run_id, now=now
        )
        clock_ids = _clock_ids(conn, decisions.escalations)
        landed: set[str] = set()
        for escalation in decisions.escalations:
            change = reassignments.get(escalation.key)
            added = insert_ignoring_conflicts(
                conn,
                SlaEscalation.__table__,  # type: ignore[arg-type]
                [{
                    "clock_id": clock_ids[(escalation.contact_id, escalation.cycle,
                                           escalation.policy)],
                    "contact_id": escalation.contact_id, "cycle": escalation.cycle,
                    "policy": escalation.policy, "level": escalation.level,
                    "due_at": escalation.due_at, "at": escalation.at,
                    "action": escalation.action, "owner_id": escalation.owner_id,
                    "detail": _detail(escalation, change), "run_id": run_id,
                }],
                keys=["contact_id", "cycle", "policy", "level"],
            )
            if not added:
                continue
            landed.add(escalation.key)
            applied.escalations.append(escalation)
            if change is not None and change.to_owner_id is not None:
                pick = OwnerPick(change.contact_id, Team(change.team), change.to_owner_id,
                                 change.reason)
                record_owners(conn, [pick], at=escalation.at, run_id=run_id)
            if change is not None:
                applied.reassigned.append(change)
        applied.follow_ups_opened, applied.follow_ups_done = _write_follow_ups(
            conn, decisions, run_id=run_id, now=now
        )
        kept = [m for m in messages if m.idempotency_key.rsplit(":", 2)[0] in landed]
        for channel in sorted({m.channel for m in kept}):
            applied.enqueued[channel] = enqueue(
                conn, [m for m in kept if m.channel == channel], run_id=run_id, now=now
            )
        applied.quarantined = store_quarantine(conn, decisions.quarantined, run_id=run_id,
                                               now=now)
    return applied
