"""Writing lead-status changes: the contact's status, a history row each, the lifecycle
move the status brings, and — for recycle — the owner back to marketing.

The one writer of lead statuses: `leadflow set-status`, `leadflow log-activity`, the
activities import and the recycling flow all apply their decided changes here.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select, update

from leadflow.db import insert_ignoring_conflicts
from models.enums import LeadStatus
from models.rules import Rules
from models.tables import Contact, LeadStatusHistory
from tasks.owners import OwnerPick, OwnerRequest, pick_owners, record_owners
from tasks.stage_history import apply_transitions
from tasks.status.decide import StatusChange, lifecycle_moves
from tasks.transitions import Transition


@dataclass
class AppliedStatusChanges:
    """What took effect: status moves, the stage moves they brought, owners handed back."""

    changes: list[StatusChange] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    owners: list[OwnerPick] = field(default_factory=list)


def status_history_rows(
    changes: Sequence[StatusChange], *, run_id: str | None, now: datetime
) -> list[dict[str, object]]:
    """The `lead_status_history` rows of these changes."""
    return [
        {
            "contact_id": c.contact_id, "from_status": c.from_status,
            "to_status": c.to_status.value, "at": c.at, "reason": c.reason,
            "source": c.source, "retry_at": c.retry_at, "run_id": run_id, "created_at": now,
        }
        for c in changes
    ]


def record_status_history(
    conn: Connection, changes: Sequence[StatusChange], *, run_id: str | None, now: datetime
) -> int:
    """Write the history rows of changes that already took effect; returns rows added.

    Keyed by (contact, to_status, at), so a rerun adds nothing.
    """
    return insert_ignoring_conflicts(
        conn,
        LeadStatusHistory.__table__,  # type: ignore[arg-type]
        status_history_rows(changes, run_id=run_id, now=now),
        keys=["contact_id", "to_status", "at"],
    )


def apply_status_changes(
    conn: Connection,
    changes: Sequence[StatusChange],
    *,
    rules: Rules,
    run_id: str | None,
    now: datetime,
) -> AppliedStatusChanges:
    """Apply changes in order inside the caller's transaction.

    A change takes effect only while the contact still has its `from_status`, so a rerun
    or a concurrent writer changes nothing twice.
    """
    applied = AppliedStatusChanges()
    for change in changes:
        current = (
            Contact.lead_status.is_(None)
            if change.from_status is None
            else Contact.lead_status == change.from_status
        )
        result = conn.execute(
            update(Contact)
            .where(Contact.id == change.contact_id, current)
            .values(lead_status=change.to_status.value)
        )
        if result.rowcount == 1:
            applied.changes.append(change)
    record_status_history(conn, applied.changes, run_id=run_id, now=now)
    contact_ids = sorted({c.contact_id for c in applied.changes})
    stages: dict[int, str | None] = {
        contact_id: stage
        for contact_id, stage in conn.execute(
            select(Contact.id, Contact.lifecycle_stage).where(Contact.id.in_(contact_ids))
        )
    }
    moves = lifecycle_moves(applied.changes, stages, rules.lead_status)
    applied.transitions = apply_transitions(conn, moves, run_id=run_id).transitions
    recycled = [c for c in applied.changes if c.to_status is LeadStatus.RECYCLE]
    if recycled:
        applied.owners = pick_owners(
            conn,
            [
                OwnerRequest(c.contact_id, rules.recycling.owner_team,
                             reason=f"recycle: {c.reason or ''}".strip())
                for c in recycled
            ],
        )
        for change in recycled:
            record_owners(
                conn, [p for p in applied.owners if p.contact_id == change.contact_id],
                at=change.at, run_id=run_id,
            )
    return applied
