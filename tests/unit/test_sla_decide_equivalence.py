"""The frame-based SLA decide decides exactly what the row-by-row one did (property tests).

tests/support/legacy_sla_decide.py is the per-row implementation it replaced; every
example compares clocks, escalations, follow-up tasks and quarantine, in order.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from models.calendar_rules import CalendarRules
from models.rules import Rules, load_rules
from models.sla_rules import SlaDuration
from tasks.sla.business_time import FrameCalendar
from tasks.sla.decide import decide_sla
from tasks.sla.decisions import SlaDecisions, SlaInputs
from tests.support import legacy_sla_decide as legacy
from tests.support.sla_inputs import sla_inputs, stored_state
from tests.support.sla_worlds import ANCHORS, offsets, other_policies, sla_worlds

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
OTHER_RULES = other_policies(RULES)
TOKYO = "Asia/Tokyo"


def assert_same(new: SlaDecisions, old: SlaDecisions) -> None:
    assert new.contacts == old.contacts
    assert new.quarantined == old.quarantined
    assert new.clocks == old.clocks
    assert new.escalations == old.escalations
    assert new.follow_ups == old.follow_ups


def both(inputs: SlaInputs, rules: Rules = RULES, tz: str = TOKYO) -> SlaDecisions:
    new = decide_sla(inputs, rules, tz=tz)
    assert_same(new, legacy.decide_sla(inputs, rules, tz=tz))
    return new


@settings(max_examples=150, deadline=None)
@given(sla_worlds())
def test_frame_decide_decides_what_the_row_by_row_decide_did(inputs: SlaInputs) -> None:
    both(inputs)


@settings(max_examples=50, deadline=None)
@given(sla_worlds())
def test_frame_decide_agrees_in_a_zone_with_daylight_saving(inputs: SlaInputs) -> None:
    both(inputs, tz="America/New_York")


@settings(max_examples=75, deadline=None)
@given(sla_worlds())
def test_frame_decide_agrees_under_other_policies(inputs: SlaInputs) -> None:
    both(inputs, OTHER_RULES)


@settings(max_examples=75, deadline=None)
@given(sla_worlds(), st.integers(1, 4 * 24), st.booleans())
def test_frame_decide_agrees_on_the_hour_after_a_stored_hour(
    inputs: SlaInputs, hours: int, other: bool
) -> None:
    rules = OTHER_RULES if other else RULES
    earlier = SlaInputs(**{**inputs.__dict__, "as_of": inputs.as_of - hours * timedelta(hours=1)})
    stored = legacy.decide_sla(earlier, rules, tz=TOKYO)

    both(stored_state(earlier, stored, later=hours * timedelta(hours=1)), rules)


DURATIONS = st.builds(
    SlaDuration,
    amount=st.integers(0, 30),
    unit=st.sampled_from(["hours", "days", "business_hours", "business_days"]),
    at_close=st.booleans(),
)
CALENDARS = st.sampled_from([
    CalendarRules(),
    CalendarRules.model_validate({"weekdays": ["mon", "tue", "wed", "sat"], "start": "08:30",
                                  "end": "17:15",
                                  "closures": [{"from": "08-13", "to": "08-16"}]}),
    CalendarRules.model_validate({"holiday_country": None, "closures": []}),
])


@settings(max_examples=300, deadline=None)
@given(CALENDARS, st.sampled_from([TOKYO, "America/New_York"]), DURATIONS,
       st.lists(st.tuples(st.sampled_from(ANCHORS), offsets), min_size=1, max_size=20))
def test_frame_calendar_adds_durations_as_the_business_calendar_does(
    rules: CalendarRules, tz: str, duration: SlaDuration, starts: list[tuple[datetime, int]]
) -> None:
    instants = [(base + minutes * timedelta(minutes=1)).astimezone(UTC) for base, minutes in starts]
    ns = np.array([pd.Timestamp(i).as_unit("ns").value for i in instants], dtype=np.int64)
    scalar = legacy.BusinessCalendar(rules, tz)

    added = FrameCalendar.covering(rules, tz, ns).add(ns, duration)

    assert added.tolist() == [pd.Timestamp(scalar.add(i, duration)).as_unit("ns").value
                              for i in instants]


def test_the_golden_week_and_saturday_examples_hold_for_arrays() -> None:
    jst = datetime(2026, 5, 1, 18, tzinfo=legacy.ZoneInfo(TOKYO))
    saturday = datetime(2026, 6, 6, 15, 30, tzinfo=legacy.ZoneInfo(TOKYO))
    ns = np.array([pd.Timestamp(jst).value, pd.Timestamp(saturday).value], dtype=np.int64)

    due = FrameCalendar.covering(CalendarRules(), TOKYO, ns).add(
        ns, SlaDuration(amount=5, unit="business_days"))

    assert [pd.Timestamp(d, tz=UTC) for d in due] == [
        pd.Timestamp("2026-05-13 18:00", tz=TOKYO), pd.Timestamp("2026-06-15 09:00", tz=TOKYO)
    ]


def test_frame_decide_agrees_on_a_synthetic_month_of_hand_offs_and_the_hour_after() -> None:
    inputs = sla_inputs(400, seed=7)

    first = both(inputs)
    both(stored_state(inputs, first, later=timedelta(hours=1)))

    assert first.escalations and first.follow_ups and len(first.clocks) > 1000
