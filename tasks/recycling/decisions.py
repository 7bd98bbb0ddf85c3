"""What one recycling hour decides, as data: status changes, moves, reminders, quarantine."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from models.lifecycle import TransitionKind
from tasks.status.decide import StatusChange
from tasks.transitions import Transition
from tasks.validation import QuarantineRecord

RECYCLE_REASON = "recycle"


@dataclass(frozen=True)
class RetryReminder:
    """Today is the agreed re-approach date of a `retry` contact: remind its owner."""

    contact_id: int
    owner_id: int
    retry_at: datetime
    note: str | None


@dataclass(frozen=True)
class RecyclingDecisions:
    """Everything one recycling hour would write.

    `recycles`: status changes to recycle (unreachable leads) for the status writer;
    `transitions`: lifecycle moves of statuses set earlier and of lost deals;
    `reminders`: retry reminders; `unowned_retries`: retry dates due today on contacts
    without an owner to remind (none, or one whose row was quarantined);
    `quarantined`: input rows that failed validation and were left out.
    """

    as_of: datetime
    recycles: list[StatusChange] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    reminders: list[RetryReminder] = field(default_factory=list)
    unowned_retries: int = 0
    quarantined: list[QuarantineRecord] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        """How many input rows were quarantined."""
        return len({(r.source, r.row_number) for r in self.quarantined})

    def recycled_by_reason(self) -> dict[str, int]:
        """Decided recycles (back to lead) per reason."""
        reasons = [c.reason or RECYCLE_REASON for c in self.recycles] + [
            t.reason or RECYCLE_REASON for t in self.transitions
            if t.kind is TransitionKind.RECYCLE
        ]
        return count_values(reasons)

    def counts(self) -> dict[str, int]:
        """Decided recycles, disqualifications, re-nurtures and retry reminders."""
        return {
            "recycled": len(self.recycles)
            + sum(1 for t in self.transitions if t.kind is TransitionKind.RECYCLE),
            "disqualified": sum(1 for t in self.transitions if t.kind is TransitionKind.DISQUALIFY),
            "renurtured": sum(1 for t in self.transitions if t.kind is TransitionKind.RENURTURE),
            "retry_reminders": len(self.reminders),
            "retry_without_owner": self.unowned_retries,
        }


def count_values(values: Iterable[str]) -> dict[str, int]:
    """How often each value occurs, sorted by value."""
    return dict(sorted(Counter(values).items()))
