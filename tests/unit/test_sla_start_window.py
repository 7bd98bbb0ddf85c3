"""The start window of the SLA's incremental read holds every clock whose level comes due
inside the hour read, checked against the calendar start by start."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from models.calendar_rules import CalendarRules
from models.sla_rules import SlaDuration, SlaRules
from tasks.sla.business_time import FrameCalendar
from tasks.sla.read_scope import start_window

CALENDAR = CalendarRules()
DURATIONS = sorted(
    {level.after for policy in SlaRules().policies for level in policy.ladder}
    | {SlaDuration(amount=2, unit="business_hours", at_close=True)},
    key=str,
)
STEP = timedelta(minutes=7)


def _starts(first: datetime, last: datetime) -> np.ndarray:
    return pd.date_range(first, last, freq=STEP).as_unit("ns").asi8


def _ns(instant: datetime) -> int:
    return int(pd.Timestamp(instant).as_unit("ns").value)


def _check(zone: str, since: datetime, as_of: datetime) -> int:
    calendar = FrameCalendar(CALENDAR, zone, years=(since.year - 1, since.year + 1))
    starts = _starts(since - timedelta(days=25), as_of)
    found = 0
    for duration in DURATIONS:
        window = start_window(calendar, duration, since=since, as_of=as_of)
        due = calendar.add(starts, duration)
        inside = starts[(due > _ns(since)) & (due <= _ns(as_of))]
        found += inside.size
        if window is None:
            assert inside.size == 0, (duration, since)
            continue
        first, last = window
        assert (inside <= _ns(last)).all(), (duration, since)
        if first is not None:
            assert (inside >= _ns(first)).all(), (duration, since)
    return found


@pytest.mark.parametrize(
    "since",
    [
        # Friday close of business in Tokyo, the weekend, and a holiday Monday.
        datetime(2026, 11, 20, 8, tzinfo=UTC),
        datetime(2026, 11, 21, 3, tzinfo=UTC),
        datetime(2026, 11, 23, 0, tzinfo=UTC),
        # Opening after the year-end closure, and Golden Week.
        datetime(2027, 1, 4, 0, tzinfo=UTC),
        datetime(2026, 5, 7, 9, tzinfo=UTC),
    ],
)
def test_every_start_whose_level_comes_due_in_the_hour_is_inside_its_window(
    since: datetime,
) -> None:
    found = sum(
        _check("Asia/Tokyo", since + k * timedelta(hours=1), since + (k + 1) * timedelta(hours=1))
        for k in range(6)
    )

    assert found > 0


def test_a_window_over_several_hours_and_a_daylight_saving_change_still_holds_them_all() -> None:
    # New York moves its clocks on Sunday 2026-03-08 and 2026-11-01.
    for since in (datetime(2026, 3, 9, 12, tzinfo=UTC), datetime(2026, 11, 2, 13, tzinfo=UTC)):
        assert _check("America/New_York", since, since + timedelta(hours=7)) > 0


def test_a_window_is_narrow_when_the_level_is_counted_in_clock_hours() -> None:
    calendar = FrameCalendar(CALENDAR, "Asia/Tokyo", years=(2025, 2027))
    since = datetime(2026, 11, 20, 8, tzinfo=UTC)

    window = start_window(
        calendar,
        SlaDuration(amount=24, unit="hours"),
        since=since,
        as_of=since + timedelta(hours=1),
    )
    closing = start_window(
        calendar,
        SlaDuration(amount=0, unit="business_days", at_close=True),
        since=since - timedelta(hours=2),
        as_of=since - timedelta(hours=1),
    )

    assert window == (
        since - timedelta(hours=24) + timedelta(microseconds=1),
        since - timedelta(hours=23),
    )
    # Friday 15:00-16:00 in Tokyo: nothing closes its business day then.
    assert closing is None
