"""The SLA clocks of one policy over every cycle at once (pure): when each starts, is due,
is satisfied, is breached, and how many touches it had counted by an instant.

Only facts inside the cycle and at or before `as_of` count: touches and statuses from
the clock's start up to the instant the cycle ends (the call or status change that ended
it is still part of it), assignments before it. A clock whose stop condition was not met
when its cycle ended is closed then: not satisfied, and it never escalates again.
Instants are int64 ns (UTC); NAT is "none", NEVER an open end.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.enums import LeadStatus
from models.lifecycle import TransitionKind
from models.sla_rules import LadderLevel, SlaPolicy, StopCondition
from tasks.sla.business_time import FrameCalendar
from tasks.sla.cycles import decided_rows, first_move
from tasks.sla.timelines import NAT, NEVER, Timeline

# The stage move a deciding status brings (lead_status.lifecycle): history without the
# status row (imported, or a recycle written by stage only) still shows the decision.
STATUS_MOVE_KINDS = {
    LeadStatus.RECYCLE.value: TransitionKind.RECYCLE.value,
    LeadStatus.UNQUALIFIED.value: TransitionKind.DISQUALIFY.value,
}


@dataclass(frozen=True)
class Facts:
    """What the SLA knows about the contacts read: stage history known at `as_of`
    (tasks.sla.cycles.known_stages), touches, status moves and owner assignments."""

    as_of: int
    known: pd.DataFrame
    touches: Timeline
    statuses: pd.DataFrame  # contact_id, to_status, at (ns)
    assignments: Timeline


def _statuses(facts: Facts, keep: np.ndarray) -> Timeline:
    rows = facts.statuses[keep]
    return Timeline(rows["contact_id"].to_numpy(), rows["at"].to_numpy())


def clock_starts(policy: SlaPolicy, cycles: pd.DataFrame, facts: Facts) -> np.ndarray:
    """The hand-off for `mql` policies; for `assigned` ones the first owner assignment
    at/after the hand-off inside the cycle (NAT: nobody has been assigned yet)."""
    started = cycles["started_at"].to_numpy()
    if policy.start == "mql":
        return started
    first = facts.assignments.nth_from(cycles["contact_id"].to_numpy(), started)
    inside = (first != NAT) & (first <= facts.as_of) & (first < cycles["ended_at"].to_numpy())
    return np.where(inside, first, NAT)


def stop_instants(until: StopCondition, clocks: pd.DataFrame, facts: Facts) -> np.ndarray:
    """When each clock's stop condition was first met inside its window, or NAT."""
    contacts = clocks["contact_id"].to_numpy()
    start = clocks["started_at"].to_numpy()
    window = clocks["window_end"].to_numpy()
    if until.touches is not None:
        return facts.touches.nth_from(contacts, start, until.touches, until=window)
    status = facts.statuses["to_status"]
    if until.statuses is not None:
        wanted = {s.value for s in until.statuses}
        found = _statuses(facts, np.asarray(status.isin(wanted))).nth_from(
            contacts, start, until=window)
        # Imported HubSpot data often has no status, only the stage move it brought.
        kinds = tuple(kind for s, kind in STATUS_MOVE_KINDS.items() if s in wanted)
        end = clocks["ended_at"].to_numpy()
        decided = first_move(facts.known, decided_rows(facts.known), contacts, start, end,
                             with_end=False)
        moved = first_move(facts.known, np.asarray(facts.known["kind"].isin(kinds)),
                           contacts, start, end, with_end=True)
        return _earliest(np.stack([found, decided, moved]))
    left = {s.value for s in until.left_statuses or []}
    return _statuses(facts, np.asarray(~status.isin(left))).nth_from(
        contacts, start, until=window)


def _earliest(candidates: np.ndarray) -> np.ndarray:
    earliest = np.where(candidates == NAT, NEVER, candidates).min(axis=0)
    return np.where(earliest == NEVER, NAT, earliest)


def clock_states(
    policy: SlaPolicy, cycles: pd.DataFrame, facts: Facts, *, calendar: FrameCalendar
) -> pd.DataFrame:
    """The clocks of `policy` in `cycles` as of `facts.as_of` (clocks not started yet are
    left out): the cycle's columns plus started_at, due_at, satisfied_at, closed_at,
    ended_at, breached_at and window_end (the last instant a fact still counts)."""
    started = clock_starts(policy, cycles, facts)
    clocks = cycles[started != NAT].copy()
    clocks["started_at"] = started[started != NAT]
    clocks["due_at"] = calendar.add(clocks["started_at"].to_numpy(), policy.due)
    clocks["window_end"] = np.minimum(clocks["ended_at"].to_numpy(), facts.as_of)
    satisfied = stop_instants(policy.until, clocks, facts)
    end = clocks["ended_at"].to_numpy()
    closed = np.where(satisfied == NAT, np.where(end == NEVER, NAT, end), NAT)
    ended = np.where(satisfied != NAT, satisfied, closed)
    due = clocks["due_at"].to_numpy()
    late = (facts.as_of >= due) & ((ended == NAT) | (ended > due))
    clocks["satisfied_at"] = satisfied
    clocks["closed_at"] = closed
    clocks["stopped_at"] = ended
    clocks["breached_at"] = np.where(late, due, NAT)
    return clocks


def touches_by(clocks: pd.DataFrame, facts: Facts, instant: np.ndarray | int) -> np.ndarray:
    """How many touches each clock had counted by `instant`."""
    contacts = clocks["contact_id"].to_numpy()
    upto = np.minimum(clocks["window_end"].to_numpy(), instant)
    counted = facts.touches.count_before(contacts, upto, inclusive=True) - \
        facts.touches.count_before(contacts, clocks["started_at"].to_numpy())
    return np.maximum(counted, 0)


def nth_touch(clocks: pd.DataFrame, facts: Facts, n: int) -> np.ndarray:
    """When the n-th touch of each clock happened, or NAT."""
    return facts.touches.nth_from(clocks["contact_id"].to_numpy(),
                                  clocks["started_at"].to_numpy(), n,
                                  until=clocks["window_end"].to_numpy())


def level_missed(
    clocks: pd.DataFrame, facts: Facts, level: LadderLevel, instant: np.ndarray | int
) -> np.ndarray:
    """Whether each clock still owed what `level` checks at `instant`: not satisfied or
    closed by then, and (for a follow-up level) fewer touches than it asks for."""
    ended = clocks["stopped_at"].to_numpy()
    open_then = (ended == NAT) | (ended > instant)
    if level.touches is None:
        return open_then
    return open_then & (touches_by(clocks, facts, instant) < level.touches)
