"""Business time over arrays: the holiday table is built once per process, and closes,
weekends and holidays move instants as the business calendar says."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from models.calendar_rules import CalendarRules
from models.sla_rules import SlaDuration
from tasks.sla.business_time import FrameCalendar
from tasks.sla.calendar import BusinessCalendar, closed_days

JST = ZoneInfo("Asia/Tokyo")


def ns(*instants: datetime) -> np.ndarray:
    return np.array([pd.Timestamp(i).as_unit("ns").value for i in instants], dtype=np.int64)


def test_the_holiday_table_is_built_once_per_process_for_the_same_rules_and_years() -> None:
    rules = CalendarRules.model_validate({"closures": [{"from": "08-10", "to": "08-12"}]})
    hours = ns(datetime(2026, 8, 7, 10, tzinfo=JST), datetime(2026, 8, 7, 11, tzinfo=JST))
    first = closed_days.cache_info().misses

    for hour in hours:
        FrameCalendar.covering(rules, "Asia/Tokyo", np.array([hour])).add(
            np.array([hour]), SlaDuration(amount=1, unit="business_days"))
    BusinessCalendar(rules, "Asia/Tokyo").is_business_day(datetime(2026, 8, 11).date())

    # One table for the frame calendar's years, one for the scalar calendar's year.
    assert closed_days.cache_info().misses - first == 2


def test_a_hand_off_on_a_closure_day_counts_from_the_next_opening() -> None:
    calendar = FrameCalendar(CalendarRules(), "Asia/Tokyo", years=(2026, 2027))

    due = calendar.add(ns(datetime(2026, 12, 30, 15, tzinfo=JST)),
                       SlaDuration(amount=1, unit="business_days"))

    assert pd.Timestamp(due[0], tz=UTC) == pd.Timestamp("2027-01-05 09:00", tz=JST)


def test_business_hours_after_close_on_a_friday_start_on_monday_morning() -> None:
    calendar = FrameCalendar(CalendarRules(), "Asia/Tokyo", years=(2026, 2026))

    due = calendar.add(ns(datetime(2026, 6, 5, 19, tzinfo=JST)),
                       SlaDuration(amount=10, unit="business_hours"))

    assert pd.Timestamp(due[0], tz=UTC) == pd.Timestamp("2026-06-09 10:00", tz=JST)


def test_a_due_time_past_the_holiday_table_widens_it_instead_of_ignoring_holidays() -> None:
    calendar = FrameCalendar(CalendarRules(), "Asia/Tokyo", years=(2026, 2026))
    start = datetime(2026, 12, 25, 10, tzinfo=JST)

    due = calendar.add(ns(start), SlaDuration(amount=5, unit="business_days"))

    expected = BusinessCalendar(CalendarRules(), "Asia/Tokyo").add_business_days(start, 5)
    assert pd.Timestamp(due[0], tz=UTC) == pd.Timestamp(expected)
