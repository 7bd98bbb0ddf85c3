"""The SLA decide beat as it was before it worked on frames — kept as the test oracle.

Verbatim copies of tasks/sla/calendar.py (BusinessCalendar), cycles.py, clocks.py and
decide.py as they were before issue 13 rewrote decide over pandas/numpy frames: the
property tests (tests/unit/test_sla_decide_equivalence.py) compare the frame version with
this per-row one on random inputs, so any drift in the decisions shows up. Only the
imports were merged; do not "fix" or restyle this code — it is the reference.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pandas as pd

from models.calendar_rules import CalendarRules
from models.enums import LeadStatus, Stage
from models.lifecycle import TransitionKind
from models.nurture_rules import WEEKDAYS
from models.rules import Rules
from models.sla_rules import LadderLevel, SlaDuration, SlaPolicy, StopCondition
from tasks.promotion.assignment import route_team
from tasks.sla.decisions import (
    NO_OWNER,
    ClockRow,
    Escalation,
    FollowUpTask,
    SlaDecisions,
    SlaInputs,
)
from tasks.sla.schemas import (
    SLA_ACTIVITIES,
    SLA_ASSIGNMENTS,
    SLA_CONTACTS,
    SLA_OWNERS,
    SLA_STAGES,
    SLA_STATUSES,
    reason_text,
)
from tasks.validation import QuarantineRecord, check_bad_row_share, split_valid_rows

# --- tasks/sla/calendar.py -------------------------------------------------------------

# Closures and holidays never cover a whole year; this bounds every search.
_SEARCH_DAYS = 370


@lru_cache(maxsize=8)
def _public_holidays(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def _month_day(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


class BusinessCalendar:
    """The business calendar of `rules` in the business time zone `tz`."""

    def __init__(self, rules: CalendarRules, tz: str | ZoneInfo) -> None:
        self.rules = rules
        self.zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self._weekdays = {WEEKDAYS.index(day) for day in rules.weekdays}
        self._closures = [(_month_day(c.from_), _month_day(c.to)) for c in rules.closures]

    def is_business_day(self, day: date) -> bool:
        """Whether `day` (a local date) is a business day."""
        if day.weekday() not in self._weekdays:
            return False
        if self.rules.holiday_country and day in _public_holidays(self.rules.holiday_country):
            return False
        return not self.is_closure_day(day)

    def is_closure_day(self, day: date) -> bool:
        """Whether `day` falls in a company closure (ranges may wrap the new year)."""
        key = (day.month, day.day)
        for start, end in self._closures:
            inside = start <= key <= end if start <= end else key >= start or key <= end
            if inside:
                return True
        return False

    def next_business_day(self, day: date) -> date:
        """The first business day after `day`."""
        for offset in range(1, _SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_business_day(candidate):
                return candidate
        raise ValueError("the calendar has no business day within a year")

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """`days` business days after `start` (see the module rule), in UTC."""
        local = start.astimezone(self.zone)
        day, clock = local.date(), local.timetz().replace(tzinfo=None)
        if not self.is_business_day(day):
            day, clock = self.next_business_day(day), self.rules.start
        for _ in range(days):
            day = self.next_business_day(day)
        return self._at(day, clock).astimezone(UTC)

    def add_business_hours(self, start: datetime, hours: int) -> datetime:
        """`hours` business hours after `start`: only opening–close of business days count."""
        local = start.astimezone(self.zone)
        day = local.date()
        current = local
        if not self.is_business_day(day) or local >= self._at(day, self.rules.end):
            day = self.next_business_day(day)
            current = self._at(day, self.rules.start)
        elif local < self._at(day, self.rules.start):
            current = self._at(day, self.rules.start)
        remaining = timedelta(hours=hours)
        while True:
            available = self._at(day, self.rules.end) - current
            if remaining <= available:
                return (current + remaining).astimezone(UTC)
            remaining -= available
            day = self.next_business_day(day)
            current = self._at(day, self.rules.start)

    def close_of_business(self, instant: datetime) -> datetime:
        """The close of the business day `instant` falls in; after close or on a
        non-business day, the close of the next business day. In UTC."""
        local = instant.astimezone(self.zone)
        day = local.date()
        if not self.is_business_day(day) or local >= self._at(day, self.rules.end):
            day = self.next_business_day(day)
        return self._at(day, self.rules.end).astimezone(UTC)

    def add(self, start: datetime, duration: SlaDuration) -> datetime:
        """`start` plus an SLA duration in its unit, moved to the close of business when
        `duration.at_close`; in UTC."""
        if duration.unit == "hours":
            end = start.astimezone(UTC) + timedelta(hours=duration.amount)
        elif duration.unit == "days":
            end = start.astimezone(UTC) + timedelta(days=duration.amount)
        elif duration.unit == "business_hours":
            end = self.add_business_hours(start, duration.amount)
        else:
            end = self.add_business_days(start, duration.amount)
        return self.close_of_business(end) if duration.at_close else end


# --- tasks/sla/cycles.py ---------------------------------------------------------------

# Stages sales is handed a lead into; entering sql/opportunity counts only from before mql.
HANDOFF_STAGE = Stage.MQL.value
DIRECT_HANDOFF_STAGES = (Stage.SQL.value, Stage.OPPORTUNITY.value)
# Known stages at or past mql (or outside the funnel): moving on from them is no hand-off.
NOT_BEFORE_MQL = tuple(
    s.value for s in Stage if s not in (Stage.SUBSCRIBER, Stage.LEAD)
)
ENDING_KINDS = (
    TransitionKind.RECYCLE.value,
    TransitionKind.DISQUALIFY.value,
    TransitionKind.RENURTURE.value,
)
# The kind of the stage-history rows `leadflow import contacts` writes: moves as HubSpot
# recorded them, forward or not.
IMPORT_KIND = "import"
# Kinds whose move into a decided stage is the SQL decision.
DECIDING_KINDS = (TransitionKind.FORWARD.value, IMPORT_KIND)
# An imported move into one of these took the lead away from sales: its cycle ends.
IMPORT_ENDING_STAGES = (
    Stage.SUBSCRIBER.value, Stage.LEAD.value, Stage.OTHER.value, Stage.LOST_RENURTURE.value,
)
# A forward (or imported) move into one of these decides the lead for sales.
DECIDED_STAGES = (
    Stage.SQL.value, Stage.OPPORTUNITY.value, Stage.CUSTOMER.value, Stage.EVANGELIST.value,
)


def is_handoff(from_stage: str | None, to_stage: str) -> bool:
    """Whether a move `from_stage` → `to_stage` hands the lead to sales."""
    if to_stage == HANDOFF_STAGE:
        return True
    return to_stage in DIRECT_HANDOFF_STAGES and (
        from_stage is None or from_stage not in NOT_BEFORE_MQL
    )


@dataclass(frozen=True)
class Cycle:
    """The n-th hand-off of a contact: from `started_at` until `ended_at` (None: open)."""

    contact_id: int
    cycle: int
    started_at: datetime
    to_stage: str
    ended_at: datetime | None


@dataclass(frozen=True)
class StageRow:
    """One stage-history row as the SLA reads it."""

    from_stage: str | None
    to_stage: str
    at: datetime
    kind: str


def stage_rows(records: Iterable[Mapping[str, Any]]) -> list[StageRow]:
    """Stage-history records (from_stage, to_stage, at, kind) as rows, oldest first."""
    rows = [
        StageRow(
            from_stage=None if _missing(r["from_stage"]) else str(r["from_stage"]),
            to_stage=str(r["to_stage"]),
            at=_instant(r["at"]),
            kind=str(r["kind"]),
        )
        for r in records
    ]
    return sorted(rows, key=lambda row: row.at)


def ends_cycle(row: "StageRow") -> bool:
    """Whether a stage-history row (not a hand-off) ends the cycle it falls in."""
    return row.kind in ENDING_KINDS or (
        row.kind == IMPORT_KIND and row.to_stage in IMPORT_ENDING_STAGES
    )


def contact_cycles(contact_id: int, rows: list[StageRow], *, as_of: datetime) -> list[Cycle]:
    """The contact's cycles from its stage history (oldest first), facts up to `as_of`."""
    known = [row for row in rows if row.at <= as_of]
    starts = [row for row in known if is_handoff(row.from_stage, row.to_stage)]
    cycles: list[Cycle] = []
    for number, start in enumerate(starts, start=1):
        ends = [
            row.at
            for row in known
            if row.at > start.at
            and (ends_cycle(row) or is_handoff(row.from_stage, row.to_stage))
        ]
        cycles.append(
            Cycle(
                contact_id=contact_id,
                cycle=number,
                started_at=start.at,
                to_stage=start.to_stage,
                ended_at=min(ends) if ends else None,
            )
        )
    return cycles


def decided_at(rows: list[StageRow], *, start: datetime, end: datetime | None) -> datetime | None:
    """The first forward or imported move into sql or beyond at/after `start` and before
    `end`."""
    for row in rows:
        if (
            row.at >= start
            and (end is None or row.at < end)
            and row.kind in DECIDING_KINDS
            and row.to_stage in DECIDED_STAGES
        ):
            return row.at
    return None


def moved_at(
    rows: list[StageRow], *, kinds: tuple[str, ...], start: datetime, end: datetime | None
) -> datetime | None:
    """The first move of one of `kinds` at/after `start` and at/before `end` (the move
    that ends a cycle is still part of it)."""
    return next(
        (row.at for row in rows
         if row.kind in kinds and row.at >= start and (end is None or row.at <= end)),
        None,
    )


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _instant(value: object) -> datetime:
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    return value


# --- tasks/sla/clocks.py ---------------------------------------------------------------

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


# --- tasks/sla/decide.py ---------------------------------------------------------------

CLOCK_TIMES = ("started_at", "due_at", "satisfied_at", "breached_at", "closed_at")


def _valid(frame: pd.DataFrame, schema: Any, source: str, key: str,
           rejected: list[QuarantineRecord]) -> pd.DataFrame:
    checked = split_valid_rows(frame, schema, source=source, row_numbers=frame[key])
    rejected.extend(replace(r, reason=reason_text(r.reason)) for r in checked.rejected)
    return checked.good


def _by_contact(frame: pd.DataFrame) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in frame.to_dict("records"):
        grouped[int(record["contact_id"])].append(record)
    return grouped


def _when(value: Any) -> datetime:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def _maybe(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def contact_facts(
    stages: list[dict[str, Any]],
    activities: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    assignments: list[dict[str, Any]],
) -> ContactFacts:
    """One contact's records as SLA facts, each list oldest first."""
    return ContactFacts(
        stages=stage_rows(stages),
        touches=sorted(_when(a["occurred_at"]) for a in activities),
        statuses=sorted((_when(s["at"]), str(s["to_status"])) for s in statuses),
        assignments=sorted(
            (Assignment(_when(a["at"]), int(a["owner_id"]), str(a["team"])) for a in assignments),
            key=lambda a: a.at,
        ),
    )


def owner_as_of(current: int | None, assignments: list[Assignment], as_of: datetime) -> int | None:
    """The contact's owner at `as_of`: its current owner, unless it was assigned after
    `as_of` (a past hour), then the latest assignment at or before it."""
    if not any(a.at > as_of for a in assignments):
        return current
    earlier = [a for a in assignments if a.at <= as_of]
    return earlier[-1].owner_id if earlier else None


def _existing(frame: pd.DataFrame, keys: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        tuple(int(r[k]) if k != "policy" else str(r[k]) for k in keys): r
        for r in frame.to_dict("records")
    }


def decide_sla(
    inputs: SlaInputs, rules: Rules, *, tz: tzinfo | str, max_bad_row_share: float = 1.0
) -> SlaDecisions:
    """Clocks, escalations and follow-up tasks for every contact read, as of `inputs.as_of`."""
    as_of = inputs.as_of
    rejected: list[QuarantineRecord] = []
    contacts = _valid(inputs.contacts, SLA_CONTACTS, "sla:contacts", "contact_id", rejected)
    stages = _valid(inputs.stages, SLA_STAGES, "sla:stage_history", "contact_id", rejected)
    activities = _valid(inputs.activities, SLA_ACTIVITIES, "sla:activities", "contact_id",
                        rejected)
    statuses = _valid(inputs.statuses, SLA_STATUSES, "sla:lead_status_history", "contact_id",
                      rejected)
    assignments = _valid(inputs.assignments, SLA_ASSIGNMENTS, "sla:owner_assignments",
                         "contact_id", rejected)
    owners = _valid(inputs.owners, SLA_OWNERS, "sla:owners", "owner_id", rejected)
    total = sum(len(f) for f in (inputs.contacts, inputs.stages, inputs.activities,
                                 inputs.statuses, inputs.assignments, inputs.owners))
    decisions = SlaDecisions(as_of=as_of, contacts=len(contacts), quarantined=rejected)
    check_bad_row_share(what="SLA input rows", bad=decisions.bad_rows, total=total,
                        limit=max_bad_row_share, first=rejected[0] if rejected else None)

    calendar = BusinessCalendar(rules.calendar, tz if isinstance(tz, str) else str(tz))
    owner_team = {int(o): str(t) for o, t in zip(owners["owner_id"], owners["team"], strict=True)}
    grouped = [_by_contact(f) for f in (stages, activities, statuses, assignments)]
    clocks = _existing(inputs.clocks, ["contact_id", "cycle", "policy"])
    fired = set(_existing(inputs.escalations, ["contact_id", "cycle", "policy", "level"]))
    tasks = _existing(inputs.follow_ups, ["contact_id", "cycle", "day"])

    for contact in contacts.to_dict("records"):
        contact_id = int(contact["contact_id"])
        facts = contact_facts(*(g.get(contact_id, []) for g in grouped))
        current = _maybe(contact["owner_id"])
        owner = owner_as_of(None if current is None else int(current), facts.assignments, as_of)
        for cycle in contact_cycles(contact_id, facts.stages, as_of=as_of):
            team = owner_team.get(owner) if owner is not None else None
            team = team or _fallback_team(rules, cycle, facts, _maybe(contact["lead_source"]),
                                          as_of)
            for policy in rules.sla.policies:
                state = clock_state(policy, cycle, facts, calendar=calendar, as_of=as_of)
                if state is None:
                    continue
                key = (contact_id, cycle.cycle, policy.name)
                fires = _fire(state, policy, cycle, calendar=calendar, rules=rules, as_of=as_of,
                              fired=fired, owner=owner, team=team)
                decisions.escalations.extend(fires)
                row = _clock_row(state, cycle, clocks.get(key), fires, owner)
                if row is not None:
                    decisions.clocks.append(row)
                decisions.follow_ups.extend(
                    _follow_ups(state, cycle, calendar=calendar, existing=tasks, owner=owner)
                )
    return decisions


def _fallback_team(
    rules: Rules, cycle: Cycle, facts: ContactFacts, lead_source: str | None, as_of: datetime
) -> str:
    earlier = [a for a in facts.assignments if a.at <= as_of]
    if earlier:
        return earlier[-1].team
    stage = Stage(cycle.to_stage) if cycle.to_stage in Stage._value2member_map_ else Stage.MQL
    return route_team(rules.promotion.routing, to_stage=stage, lead_source=lead_source).value


def _fire(
    state: ClockState,
    policy: SlaPolicy,
    cycle: Cycle,
    *,
    calendar: BusinessCalendar,
    rules: Rules,
    as_of: datetime,
    fired: set[tuple[Any, ...]],
    owner: int | None,
    team: str | None,
) -> list[Escalation]:
    escalations = []
    for number, level in enumerate(policy.ladder, start=1):
        due = level_due(state, level, calendar)
        if as_of < due or not level_missed(state, level, due):
            continue
        # Done by now (a touch logged between the due time and this run): nobody to chase.
        if not level_missed(state, level, as_of):
            continue
        # Importing years of history opens clocks but pages nobody about them.
        if calendar.add(due, rules.sla.max_escalation_age) < as_of:
            continue
        if (cycle.contact_id, cycle.cycle, policy.name, number) in fired:
            continue
        escalations.append(
            Escalation(
                contact_id=cycle.contact_id, cycle=cycle.cycle, policy=policy.name,
                level=number, due_at=due, clock_due_at=state.due_at,
                started_at=state.started_at, at=as_of, action=level.action,
                notify=tuple(level.notify), via=tuple(level.via), owner_id=owner, team=team,
                touches=state.touches_by(as_of), touches_needed=level.touches,
                detail=NO_OWNER if owner is None else None,
            )
        )
    return escalations


def _clock_row(
    state: ClockState,
    cycle: Cycle,
    existing: dict[str, Any] | None,
    fires: list[Escalation],
    owner: int | None,
) -> ClockRow | None:
    before_level = int(existing["level"]) if existing else 0
    level = max([before_level, *(e.level for e in fires)])
    before = {k: _maybe(existing[k]) for k in CLOCK_TIMES} if existing else {}
    after: dict[str, Any] = {"started_at": state.started_at, "due_at": state.due_at,
                             "satisfied_at": state.satisfied_at,
                             # A stored breach stays (its escalations went out), even if
                             # a touch logged later is dated before the due time.
                             "breached_at": before.get("breached_at") or state.breached_at,
                             "closed_at": state.closed_at}
    if existing and level == before_level and all(
        _same(before[k], v) for k, v in after.items()
    ):
        return None
    return ClockRow(
        contact_id=cycle.contact_id, cycle=cycle.cycle, policy=state.policy.name, **after,
        level=level,
        owner_id=(None if _maybe(existing["owner_id"]) is None else int(existing["owner_id"]))
        if existing else owner,
        opened=existing is None,
        satisfied=state.satisfied_at is not None and before.get("satisfied_at") is None,
        breached=after["breached_at"] is not None and before.get("breached_at") is None,
        closed=state.closed_at is not None and before.get("closed_at") is None,
    )


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(_when(a) == _when(b))


def _follow_ups(
    state: ClockState,
    cycle: Cycle,
    *,
    calendar: BusinessCalendar,
    existing: dict[tuple[Any, ...], dict[str, Any]],
    owner: int | None,
) -> list[FollowUpTask]:
    tasks = []
    for level in state.policy.ladder:
        if level.touches is None:
            continue
        day = level.after.amount
        done = state.nth_touch(level.touches)
        before = existing.get((cycle.contact_id, cycle.cycle, day))
        if before is not None and _same(_maybe(before["done_at"]), done):
            continue
        tasks.append(
            FollowUpTask(
                contact_id=cycle.contact_id, cycle=cycle.cycle, day=day,
                due_at=level_due(state, level, calendar), done_at=done,
                owner_id=owner if before is None else _maybe(before["owner_id"]),
                opened=before is None,
            )
        )
    return tasks
