"""What the SLA hour reads and decides, as data: inputs, clocks, escalations, tasks."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from tasks.validation import QuarantineRecord

NO_OWNER = "no owner"


@dataclass(frozen=True)
class SlaInputs:
    """What the read beat loaded for one hour (see tasks.sla.read for the columns).

    `assignments` holds every assignment of the contacts read, also those after `as_of`
    (they tell a past hour that the contact's current owner came later).
    """

    as_of: datetime
    contacts: pd.DataFrame
    stages: pd.DataFrame
    activities: pd.DataFrame
    statuses: pd.DataFrame
    assignments: pd.DataFrame
    owners: pd.DataFrame
    clocks: pd.DataFrame
    escalations: pd.DataFrame
    follow_ups: pd.DataFrame


@dataclass(frozen=True)
class ClockRow:
    """A clock to write (new or changed) and what changed about it.

    `closed_at`: the cycle ended before the stop condition was met (never satisfied).
    """

    contact_id: int
    cycle: int
    policy: str
    started_at: datetime
    due_at: datetime
    satisfied_at: datetime | None
    breached_at: datetime | None
    level: int
    owner_id: int | None
    closed_at: datetime | None = None
    opened: bool = False
    satisfied: bool = False
    breached: bool = False
    closed: bool = False


@dataclass(frozen=True)
class Escalation:
    """A ladder level firing now; `due_at` is the level's due time, `clock_due_at` the SLA's."""

    contact_id: int
    cycle: int
    policy: str
    level: int
    due_at: datetime
    clock_due_at: datetime
    started_at: datetime
    at: datetime
    action: str
    notify: tuple[str, ...]
    via: tuple[str, ...]
    owner_id: int | None
    team: str | None
    touches: int
    touches_needed: int | None = None
    detail: str | None = None

    @property
    def key(self) -> str:
        """The natural key as text, for the outbox idempotency keys."""
        return f"sla:{self.contact_id}:{self.cycle}:{self.policy}:{self.level}"


@dataclass(frozen=True)
class FollowUpTask:
    """A follow-up touch owed on business day `day` of a cycle (new, or its done_at changed)."""

    contact_id: int
    cycle: int
    day: int
    due_at: datetime
    done_at: datetime | None
    owner_id: int | None
    opened: bool = False


@dataclass
class SlaDecisions:
    """Everything one SLA hour decided."""

    as_of: datetime
    contacts: int = 0
    clocks: list[ClockRow] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    follow_ups: list[FollowUpTask] = field(default_factory=list)
    quarantined: list[QuarantineRecord] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        """How many input rows were quarantined."""
        return len({(r.source, r.row_number) for r in self.quarantined})

    def by_policy(self, what: str) -> dict[str, int]:
        """Clocks `opened`, `satisfied`, `breached` or `closed` this hour, per policy."""
        counts: dict[str, int] = defaultdict(int)
        for clock in self.clocks:
            if getattr(clock, what):
                counts[clock.policy] += 1
        return dict(sorted(counts.items()))

    def escalations_by_level(self) -> dict[str, int]:
        """Escalations decided per `policy:level`."""
        counts: dict[str, int] = defaultdict(int)
        for escalation in self.escalations:
            counts[f"{escalation.policy}:{escalation.level}"] += 1
        return dict(sorted(counts.items()))
