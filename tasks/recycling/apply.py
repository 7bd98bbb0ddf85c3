"""Apply beat of recycling: status changes, stage moves, owners and reminders, one transaction.

Recycles of unreachable leads go through the one status writer
(`tasks.status.apply.apply_status_changes`: history row, lifecycle back to lead, owner to
marketing). Lifecycle moves of statuses set earlier and of lost deals go through
`tasks.stage_history.apply_transitions`; recycled and re-nurtured contacts then get a
marketing owner by the shared rotation (`tasks.owners`). Every write is keyed by a
natural key, so a rerun or a concurrent run changes nothing twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from models.lifecycle import TransitionKind
from models.messages import OutboxMessage
from models.rules import Rules
from tasks.outbox import enqueue
from tasks.owners import OwnerPick, OwnerRequest, pick_owners, record_owners
from tasks.quarantine import store_quarantine
from tasks.recycling.decisions import RECYCLE_REASON, RecyclingDecisions, count_values
from tasks.stage_history import apply_transitions
from tasks.status.apply import apply_status_changes
from tasks.status.decide import StatusChange
from tasks.transitions import Transition

# owner_assignments.reason is a short label.
OWNER_REASON_LENGTH = 120
MARKETING_KINDS = (TransitionKind.RECYCLE, TransitionKind.RENURTURE)


@dataclass
class AppliedRecycling:
    """What took effect: status changes, every stage move, owners handed back, messages,
    and quarantine rows stored (new ones; a rerun finds the same rows stored)."""

    changes: list[StatusChange] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    owners: list[OwnerPick] = field(default_factory=list)
    enqueued: int = 0
    quarantined: int = 0

    def recycled_by_reason(self) -> dict[str, int]:
        """Applied recycles (back to lead) per reason."""
        return count_values(
            t.reason or RECYCLE_REASON
            for t in self.transitions
            if t.kind is TransitionKind.RECYCLE
        )

    def moved(self, kind: TransitionKind) -> int:
        """How many applied stage moves were of `kind`."""
        return sum(1 for t in self.transitions if t.kind is kind)

    def to_marketing(self) -> int:
        """Contacts handed to a marketing owner (not those left without one)."""
        return sum(1 for p in self.owners if p.owner_id is not None)


def apply_recycling(
    engine: Engine,
    decisions: RecyclingDecisions,
    messages: Sequence[OutboxMessage],
    *,
    rules: Rules,
    run_id: str | None,
    now: datetime,
) -> AppliedRecycling:
    """Write all decisions, enqueue the reminders and store the quarantined input rows,
    in one transaction."""
    applied = AppliedRecycling()
    with engine.begin() as conn:
        status = apply_status_changes(
            conn, decisions.recycles, rules=rules, run_id=run_id, now=now
        )
        moved = apply_transitions(conn, decisions.transitions, run_id=run_id).transitions
        handed = [t for t in moved if t.kind in MARKETING_KINDS]
        picks = pick_owners(
            conn,
            [
                OwnerRequest(
                    t.contact_id, rules.recycling.owner_team,
                    reason=_owner_reason(t),
                )
                for t in handed
            ],
        )
        for transition, pick in zip(handed, picks, strict=True):
            record_owners(conn, [pick], at=transition.at, run_id=run_id)
        applied.changes = status.changes
        applied.transitions = [*status.transitions, *moved]
        applied.owners = [*status.owners, *picks]
        applied.enqueued = enqueue(conn, messages, run_id=run_id, now=now)
        applied.quarantined = store_quarantine(
            conn, decisions.quarantined, run_id=run_id, now=now
        )
    return applied


def _owner_reason(transition: Transition) -> str:
    label = "recycle" if transition.kind is TransitionKind.RECYCLE else "lost deal"
    return f"{label}: {transition.reason or ''}".strip()[:OWNER_REASON_LENGTH]
