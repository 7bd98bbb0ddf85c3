"""SLA decisions from frames and rules: clocks, ladders, max age, follow-ups (pure)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from models.rules import load_rules
from tasks.sla.cycles import is_handoff
from tasks.sla.decide import decide_sla
from tasks.sla.decisions import NO_OWNER, SlaDecisions, SlaInputs
from tasks.sla.read import (
    ACTIVITY_COLUMNS,
    ASSIGNMENT_COLUMNS,
    CLOCK_COLUMNS,
    CONTACT_COLUMNS,
    ESCALATION_COLUMNS,
    FOLLOW_UP_COLUMNS,
    OWNER_COLUMNS,
    STAGE_COLUMNS,
    STATUS_COLUMNS,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
TZ = "Asia/Tokyo"
HOUR = timedelta(hours=1)
# Tuesday 2026-11-17 10:00 JST: a plain business day, far from holidays.
T0 = datetime(2026, 11, 17, 1, tzinfo=UTC)
OWNER, OTHER = 11, 12


@dataclass
class World:
    """One contact (id 1) handed over at T0, owned by OWNER (team is) unless told."""

    owner_id: int | None = OWNER
    stages: list[tuple[Any, ...]] = field(
        default_factory=lambda: [(1, "lead", "mql", T0, "forward")]
    )
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    statuses: list[tuple[Any, ...]] = field(default_factory=lambda: [(1, "new", T0)])
    assignments: list[tuple[Any, ...]] = field(default_factory=lambda: [(1, OWNER, "is", T0)])
    escalations: list[tuple[Any, ...]] = field(default_factory=list)

    def touch(self, at: datetime) -> "World":
        self.activities.append((1, "call", "no_answer", at))
        return self

    def decide(self, as_of: datetime, *, clocks: pd.DataFrame | None = None) -> SlaDecisions:
        owners = [
            (OWNER, "Owner", "owner@example.com", "is", "boss@example.com", "U0OWNER", True),
            (OTHER, "Other", "other@example.com", "is", None, None, True),
        ]
        return decide_sla(
            SlaInputs(
                as_of=as_of,
                contacts=pd.DataFrame(
                    [(1, "lead@example.com", self.owner_id, "web")], columns=CONTACT_COLUMNS
                ),
                stages=pd.DataFrame(self.stages, columns=STAGE_COLUMNS),
                activities=pd.DataFrame(self.activities, columns=ACTIVITY_COLUMNS),
                statuses=pd.DataFrame(self.statuses, columns=STATUS_COLUMNS),
                assignments=pd.DataFrame(self.assignments, columns=ASSIGNMENT_COLUMNS),
                owners=pd.DataFrame(owners, columns=OWNER_COLUMNS),
                clocks=clocks if clocks is not None else pd.DataFrame(columns=CLOCK_COLUMNS),
                escalations=pd.DataFrame(self.escalations, columns=ESCALATION_COLUMNS),
                follow_ups=pd.DataFrame(columns=FOLLOW_UP_COLUMNS),
            ),
            RULES,
            tz=TZ,
        )

    def fire(self, as_of: datetime, policy: str = "first_touch") -> list[tuple[str, int, str]]:
        """Decide `as_of`, remember what fired (as apply would); return `policy`'s levels."""
        decisions = self.decide(as_of)
        self.escalations += [(e.contact_id, e.cycle, e.policy, e.level)
                             for e in decisions.escalations]
        return [(e.policy, e.level, e.action) for e in decisions.escalations
                if e.policy == policy]


def clock(decisions: SlaDecisions, policy: str, cycle: int = 1) -> Any:
    return next(c for c in decisions.clocks if c.policy == policy and c.cycle == cycle)


def stored_clocks(decisions: SlaDecisions) -> pd.DataFrame:
    """The clocks decided, as the next hour reads them back from sla_clocks."""
    return pd.DataFrame(
        [(c.contact_id, c.cycle, c.policy, c.started_at, c.due_at, c.satisfied_at,
          c.breached_at, c.level, c.owner_id, c.closed_at) for c in decisions.clocks],
        columns=CLOCK_COLUMNS,
    )


def test_first_touch_ladder_reminds_the_owner_then_the_manager_then_reassigns() -> None:
    world = World()

    assert world.fire(T0 + 23 * HOUR) == []
    assert world.fire(T0 + 24 * HOUR) == [("first_touch", 1, "notify")]
    assert world.fire(T0 + 47 * HOUR) == []
    assert world.fire(T0 + 48 * HOUR) == [("first_touch", 2, "notify")]
    assert world.fire(T0 + 72 * HOUR) == [("first_touch", 3, "reassign")]


def test_each_ladder_level_fires_once_across_later_hours() -> None:
    world = World()

    fired = [world.fire(T0 + hours * HOUR) for hours in range(20, 80)]

    assert [f for hour in fired for f in hour] == [
        ("first_touch", 1, "notify"), ("first_touch", 2, "notify"), ("first_touch", 3, "reassign")
    ]


def test_the_reassign_level_names_the_owner_to_skip_and_the_owners_team() -> None:
    escalation = next(e for e in World().decide(T0 + 72 * HOUR).escalations
                      if e.policy == "first_touch" and e.level == 3)

    assert (escalation.action, escalation.owner_id, escalation.team) == ("reassign", OWNER, "is")
    assert escalation.notify == ("team_channel",)


def test_a_touch_at_23_hours_satisfies_first_touch_and_stops_its_ladder() -> None:
    world = World().touch(T0 + 23 * HOUR)

    decisions = world.decide(T0 + 72 * HOUR)

    first = clock(decisions, "first_touch")
    assert (first.satisfied_at, first.breached_at, first.level) == (T0 + 23 * HOUR, None, 0)
    assert not [e for e in decisions.escalations if e.policy == "first_touch"]


def test_a_late_touch_satisfies_the_clock_but_it_stays_breached() -> None:
    decisions = World().touch(T0 + 30 * HOUR).decide(T0 + 31 * HOUR)

    first = clock(decisions, "first_touch")
    assert (first.satisfied_at, first.breached_at) == (T0 + 30 * HOUR, T0 + 24 * HOUR)


def test_a_touch_logged_after_the_due_time_but_before_the_run_pages_nobody() -> None:
    # The 24 h level came due at 24 h; the run that would fire it comes at 25 h, after the
    # touch at 24 h 30 min: the owner already acted, a reminder would be noise.
    decisions = World().touch(T0 + 24 * HOUR + timedelta(minutes=30)).decide(T0 + 25 * HOUR)

    assert not [e for e in decisions.escalations if e.policy == "first_touch"]
    assert clock(decisions, "first_touch").breached_at == T0 + 24 * HOUR


def test_levels_due_longer_ago_than_max_escalation_age_open_and_breach_but_page_nobody() -> None:
    two_years_ago = T0 - timedelta(days=730)
    world = World(stages=[(1, "lead", "mql", two_years_ago, "forward")],
                  statuses=[], assignments=[(1, OWNER, "is", two_years_ago)])

    decisions = world.decide(T0)

    assert decisions.escalations == []
    assert {c.policy for c in decisions.clocks if c.opened and c.breached} == {
        "first_touch", "follow_ups", "sql_decision", "stale_new"
    }


def test_a_level_fires_only_while_it_is_younger_than_max_escalation_age() -> None:
    # max_escalation_age is 3 days: the 24 h level (due T0+24h) may fire until T0+96h.
    assert ("first_touch", 1, "notify") in World().fire(T0 + 96 * HOUR)
    assert ("first_touch", 1, "notify") not in World().fire(T0 + 97 * HOUR)


def test_follow_up_levels_fire_when_the_touch_count_is_short_by_the_level_due() -> None:
    world = World().touch(T0 + 2 * HOUR)  # day 0: one touch, in time
    # Business day 3 after Tue 17th is Fri 20th; the level is due at its close (18:00 JST).
    day3_close = datetime(2026, 11, 20, 9, tzinfo=UTC)

    assert world.fire(day3_close - HOUR, "follow_ups") == []
    assert world.fire(day3_close, "follow_ups") == [("follow_ups", 2, "notify")]


def test_follow_up_tasks_open_with_the_clock_and_are_done_by_the_nth_touch() -> None:
    world = World().touch(T0 + 2 * HOUR).touch(T0 + 50 * HOUR)

    tasks = {t.day: t for t in world.decide(T0 + 60 * HOUR).follow_ups}

    assert sorted(tasks) == [0, 3, 7]
    assert tasks[0].due_at == datetime(2026, 11, 17, 9, tzinfo=UTC)  # Tue 18:00 JST
    assert (tasks[0].done_at, tasks[3].done_at, tasks[7].done_at) == (
        T0 + 2 * HOUR, T0 + 50 * HOUR, None
    )
    assert all(t.opened and t.owner_id == OWNER for t in tasks.values())


def test_a_direct_to_sql_handoff_opens_clocks_with_the_sql_decision_satisfied() -> None:
    world = World(stages=[(1, "lead", "sql", T0, "forward")], statuses=[])

    decisions = world.decide(T0 + HOUR)

    assert is_handoff("lead", "sql") and not is_handoff("mql", "sql")
    assert {c.policy for c in decisions.clocks} == {
        "first_touch", "follow_ups", "sql_decision", "stale_new"
    }
    assert clock(decisions, "sql_decision").satisfied_at == T0
    assert clock(decisions, "first_touch").satisfied_at is None


def test_a_recycle_closes_the_cycle_and_a_later_mql_starts_cycle_two() -> None:
    recycled, again = T0 + 30 * HOUR, T0 + 200 * HOUR
    world = World(stages=[(1, "lead", "mql", T0, "forward"),
                          (1, "mql", "lead", recycled, "recycle"),
                          (1, "lead", "mql", again, "forward")])

    decisions = world.decide(again + HOUR)

    old = clock(decisions, "first_touch", cycle=1)
    assert (old.satisfied_at, old.breached_at, old.closed_at) == (
        None, T0 + 24 * HOUR, recycled
    )
    assert clock(decisions, "sql_decision", cycle=1).satisfied_at == recycled
    assert clock(decisions, "first_touch", cycle=2).started_at == again


def test_stale_new_starts_at_the_first_assignment_and_waits_without_one() -> None:
    assigned = T0 + 2 * HOUR
    unassigned = World(assignments=[]).decide(T0 + HOUR)
    later = World(assignments=[(1, OWNER, "is", assigned)]).decide(T0 + 3 * HOUR)

    assert "stale_new" not in {c.policy for c in unassigned.clocks}
    stale = clock(later, "stale_new")
    # 8 business hours from Tue 12:00 JST: Tue 12–18 (6 h) + Wed 09–11 (2 h).
    assert (stale.started_at, stale.due_at) == (assigned, datetime(2026, 11, 18, 2, tzinfo=UTC))


def test_a_lead_without_an_owner_escalates_with_no_owner_to_the_routed_team() -> None:
    world = World(owner_id=None, assignments=[])

    escalation = next(e for e in world.decide(T0 + 24 * HOUR).escalations
                      if e.policy == "first_touch")

    assert (escalation.owner_id, escalation.team, escalation.detail) == (None, "is", NO_OWNER)


def test_an_unchanged_stored_clock_is_not_written_again() -> None:
    world = World()
    first = world.decide(T0 + HOUR)
    stored = stored_clocks(first)

    again = world.decide(T0 + 2 * HOUR, clocks=stored)
    later = world.touch(T0 + 3 * HOUR).decide(T0 + 4 * HOUR, clocks=stored)

    assert again.clocks == []
    [touched] = later.clocks
    assert (touched.policy, touched.opened, touched.satisfied) == ("first_touch", False, True)


def test_imported_stage_history_opens_clocks_and_an_imported_move_to_sql_decides() -> None:
    decided = T0 + 30 * HOUR
    world = World(stages=[(1, None, "lead", T0 - 50 * HOUR, "import"),
                          (1, "lead", "mql", T0, "import"),
                          (1, "mql", "sql", decided, "import")], statuses=[])

    decisions = world.decide(decided + HOUR)

    assert decisions.quarantined == []
    assert {c.policy for c in decisions.clocks} == {
        "first_touch", "follow_ups", "sql_decision", "stale_new"
    }
    assert clock(decisions, "sql_decision").satisfied_at == decided
    assert clock(decisions, "first_touch").breached_at == T0 + 24 * HOUR


def test_a_stored_breach_stays_when_a_touch_dated_before_the_due_time_is_logged_later() -> None:
    world = World()
    breached = world.decide(T0 + 25 * HOUR)
    assert clock(breached, "first_touch").breached_at == T0 + 24 * HOUR

    later = world.touch(T0 + 2 * HOUR).decide(T0 + 26 * HOUR, clocks=stored_clocks(breached))

    first = clock(later, "first_touch")
    assert (first.satisfied_at, first.breached_at, first.satisfied) == (
        T0 + 2 * HOUR, T0 + 24 * HOUR, True
    )
    assert not first.breached  # breached an hour earlier, not now


def test_a_recycle_before_any_touch_closes_first_touch_unsatisfied_and_decides_sql() -> None:
    recycled = T0 + 10 * HOUR
    world = World(stages=[(1, "lead", "mql", T0, "forward"),
                          (1, "mql", "lead", recycled, "recycle")],
                  statuses=[(1, "new", T0), (1, "recycle", recycled)])

    decisions = world.decide(T0 + 30 * HOUR)

    first = clock(decisions, "first_touch")
    assert (first.satisfied_at, first.closed_at, first.breached_at) == (None, recycled, None)
    assert first.closed and not first.satisfied
    assert clock(decisions, "follow_ups").closed_at == recycled
    sql = clock(decisions, "sql_decision")
    assert (sql.satisfied_at, sql.closed_at) == (recycled, None)
    assert decisions.escalations == []
    assert decisions.by_policy("closed") == {"first_touch": 1, "follow_ups": 1}


def test_a_call_that_recycles_the_lead_is_its_first_touch() -> None:
    # An activity import moving the status at the call's instant ends the cycle then.
    ended = T0 + 5 * HOUR
    world = World(stages=[(1, "lead", "mql", T0, "forward"),
                          (1, "mql", "other", ended, "disqualify")],
                  statuses=[(1, "new", T0), (1, "unqualified", ended)]).touch(ended)

    decisions = world.decide(ended + HOUR)

    assert clock(decisions, "first_touch").satisfied_at == ended
    assert clock(decisions, "sql_decision").satisfied_at == ended


def test_a_re_nurture_closes_the_sql_decision_unsatisfied() -> None:
    moved = T0 + 30 * HOUR
    world = World(stages=[(1, "lead", "mql", T0, "forward"),
                          (1, "mql", "lost_renurture", moved, "renurture")])

    sql = clock(world.decide(moved + HOUR), "sql_decision")

    assert (sql.satisfied_at, sql.closed_at) == (None, moved)


def test_a_clock_closed_after_its_breach_stays_breached_and_fires_no_later_level() -> None:
    recycled = T0 + 30 * HOUR
    world = World(stages=[(1, "lead", "mql", T0, "forward"),
                          (1, "mql", "lead", recycled, "recycle")])
    assert world.fire(T0 + 24 * HOUR) == [("first_touch", 1, "notify")]

    assert world.fire(T0 + 48 * HOUR) == []
    first = clock(world.decide(T0 + 48 * HOUR), "first_touch")
    assert (first.breached_at, first.closed_at) == (T0 + 24 * HOUR, recycled)


def test_quarantined_sla_rows_say_why_in_words() -> None:
    world = World(statuses=[(1, "new", T0), (1, "snoozed", T0 + HOUR)])

    decisions = world.decide(T0 + 2 * HOUR)

    [record] = decisions.quarantined
    assert (record.source, record.field, record.value) == (
        "sla:lead_status_history", "to_status", "snoozed"
    )
    assert record.reason.startswith("not a known lead status (known: new, attempting")
