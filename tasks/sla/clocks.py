"""One SLA clock of one cycle (pure): when it starts, is due, is satisfied, is breached,
and when each ladder level comes due.

Only facts inside the cycle and at or before `as_of` count: touches and statuses from
the clock's start up to the instant the cycle ends (the call or status change that ended
it is still part of it), assignments before it. A clock whose stop condition was not met
when its cycle ended is closed then: not satisfied, and it never escalates again.
"""

from dataclasses import dataclass, field
from datetime import datetime

from models.enums import LeadStatus
from models.lifecycle import TransitionKind
from models.sla_rules import LadderLevel, SlaPolicy, StopCondition
from tasks.sla.calendar import BusinessCalendar
from tasks.sla.cycles import Cycle, StageRow, decided_at, moved_at

# The stage move a deciding status brings (lead_status.lifecycle): history without the
# status row (imported, or a recycle written by stage only) still shows the decision.
STATUS_MOVE_KINDS = {
    LeadStatus.RECYCLE.value: TransitionKind.RECYCLE.value,
    LeadStatus.UNQUALIFIED.value: TransitionKind.DISQUALIFY.value,
}


@dataclass(frozen=True)
class Assignment:
    """An owner given to the contact at `at` (from the owner-assignment history)."""

    at: datetime
    owner_id: int
    team: str


@dataclass(frozen=True)
class ContactFacts:
    """What the SLA knows about one contact, each list oldest first."""

    stages: list[StageRow] = field(default_factory=list)
    touches: list[datetime] = field(default_factory=list)
    statuses: list[tuple[datetime, str]] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)


@dataclass(frozen=True)
class ClockState:
    """A clock as the facts up to `as_of` make it; `touches` are the cycle's sales touches."""

    policy: SlaPolicy
    started_at: datetime
    due_at: datetime
    satisfied_at: datetime | None
    breached_at: datetime | None
    touches: tuple[datetime, ...]
    closed_at: datetime | None = None

    @property
    def ended_at(self) -> datetime | None:
        """When the clock stopped counting: satisfied or closed, if it did."""
        return self.satisfied_at or self.closed_at

    def touches_by(self, instant: datetime) -> int:
        """How many touches the clock had counted by `instant`."""
        return sum(1 for touch in self.touches if touch <= instant)

    def nth_touch(self, n: int) -> datetime | None:
        """When the n-th touch of the clock happened, if it did."""
        return self.touches[n - 1] if len(self.touches) >= n else None


def _inside(
    at: datetime, *, start: datetime, end: datetime | None, as_of: datetime,
    with_end: bool = False,
) -> bool:
    return start <= at <= as_of and (end is None or at < end or (with_end and at == end))


def clock_start(
    policy: SlaPolicy, cycle: Cycle, facts: ContactFacts, *, as_of: datetime
) -> datetime | None:
    """The hand-off for `mql` policies; for `assigned` ones the first owner assignment
    at/after the hand-off inside the cycle (None: nobody has been assigned yet)."""
    if policy.start == "mql":
        return cycle.started_at
    for assignment in facts.assignments:
        if _inside(assignment.at, start=cycle.started_at, end=cycle.ended_at, as_of=as_of):
            return assignment.at
    return None


def stop_instant(
    until: StopCondition,
    facts: ContactFacts,
    *,
    start: datetime,
    end: datetime | None,
    touches: tuple[datetime, ...],
    as_of: datetime,
) -> datetime | None:
    """When the stop condition was first met inside the window, if it was."""
    if until.touches is not None:
        return touches[until.touches - 1] if len(touches) >= until.touches else None
    statuses = [
        (at, status)
        for at, status in facts.statuses
        if _inside(at, start=start, end=end, as_of=as_of, with_end=True)
    ]
    if until.statuses is not None:
        wanted = {s.value for s in until.statuses}
        found = [at for at, status in statuses if status in wanted]
        # Imported HubSpot data often has no status, only the stage move it brought.
        known = [r for r in facts.stages if r.at <= as_of]
        kinds = tuple(kind for status, kind in STATUS_MOVE_KINDS.items() if status in wanted)
        moves = [decided_at(known, start=start, end=end),
                 moved_at(known, kinds=kinds, start=start, end=end)]
        candidates = [*found[:1], *(m for m in moves if m is not None)]
        return min(candidates) if candidates else None
    left = {s.value for s in until.left_statuses or []}
    return next((at for at, status in statuses if status not in left), None)


def clock_state(
    policy: SlaPolicy,
    cycle: Cycle,
    facts: ContactFacts,
    *,
    calendar: BusinessCalendar,
    as_of: datetime,
) -> ClockState | None:
    """The clock of `policy` in `cycle` as of `as_of`, or None while it has not started."""
    started = clock_start(policy, cycle, facts, as_of=as_of)
    if started is None:
        return None
    due = calendar.add(started, policy.due)
    touches = tuple(
        at for at in facts.touches
        if _inside(at, start=started, end=cycle.ended_at, as_of=as_of, with_end=True)
    )
    satisfied = stop_instant(
        policy.until, facts, start=started, end=cycle.ended_at, touches=touches, as_of=as_of
    )
    closed = cycle.ended_at if satisfied is None else None
    ended = satisfied or closed
    breached = due if as_of >= due and (ended is None or ended > due) else None
    return ClockState(
        policy=policy,
        started_at=started,
        due_at=due,
        satisfied_at=satisfied,
        breached_at=breached,
        touches=touches,
        closed_at=closed,
    )


def level_due(clock: ClockState, level: LadderLevel, calendar: BusinessCalendar) -> datetime:
    """When ladder `level` of the clock comes due."""
    return calendar.add(clock.started_at, level.after)


def level_missed(clock: ClockState, level: LadderLevel, due: datetime) -> bool:
    """Whether the clock still owed what `level` checks at its due time: not satisfied or
    closed by then, and (for a follow-up level) fewer touches than it asks for."""
    if clock.ended_at is not None and clock.ended_at <= due:
        return False
    return level.touches is None or clock.touches_by(due) < level.touches
