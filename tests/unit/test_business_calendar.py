"""The business calendar: Japanese holidays, closures, business days and business hours."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from models.calendar_rules import CalendarRules
from models.sla_rules import SlaDuration
from tasks.sla.calendar import BusinessCalendar

JST = ZoneInfo("Asia/Tokyo")
CALENDAR = BusinessCalendar(CalendarRules(), "Asia/Tokyo")


def jst(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=JST)


def test_an_mql_on_friday_evening_before_golden_week_is_due_the_wednesday_after() -> None:
    due = CALENDAR.add(jst(2026, 5, 1, 18, 0), SlaDuration(amount=5, unit="business_days"))
    assert due == jst(2026, 5, 13, 18, 0)
    assert due.tzinfo is UTC


def test_an_mql_on_a_saturday_counts_from_monday_morning() -> None:
    # 2026-06-06 is a Saturday: counting starts Monday 09:00, five business days later.
    assert CALENDAR.add_business_days(jst(2026, 6, 6, 15, 30), 5) == jst(2026, 6, 15, 9, 0)


def test_zero_business_days_on_a_holiday_is_the_next_opening() -> None:
    assert CALENDAR.add_business_days(jst(2026, 5, 4, 12, 0), 0) == jst(2026, 5, 7, 9, 0)


@pytest.mark.parametrize(
    "day", [date(2026, 12, 29), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 3)]
)
def test_the_year_end_closure_is_not_business_days(day: date) -> None:
    assert not CALENDAR.is_business_day(day)


def test_the_day_after_the_closure_is_a_business_day_again() -> None:
    assert CALENDAR.is_business_day(date(2027, 1, 4))
    assert CALENDAR.add_business_days(jst(2026, 12, 28, 10, 0), 1) == jst(2027, 1, 4, 10, 0)


def test_japanese_public_holidays_are_skipped() -> None:
    assert not CALENDAR.is_business_day(date(2026, 5, 6))  # substitute holiday
    assert not CALENDAR.is_business_day(date(2026, 9, 21))  # Respect for the Aged Day
    assert CALENDAR.is_business_day(date(2026, 5, 7))


def test_closures_are_data() -> None:
    rules = CalendarRules.model_validate({"closures": [{"from": "08-13", "to": "08-16"}]})
    calendar = BusinessCalendar(rules, "Asia/Tokyo")
    assert not calendar.is_business_day(date(2026, 8, 13))
    assert calendar.is_business_day(date(2026, 12, 29))


def test_business_hours_count_only_inside_opening_hours() -> None:
    # Assigned Friday 16:00: two hours on Friday, six on Monday.
    assert CALENDAR.add_business_hours(jst(2026, 6, 5, 16, 0), 8) == jst(2026, 6, 8, 15, 0)


def test_business_hours_from_before_opening_start_at_opening() -> None:
    assert CALENDAR.add_business_hours(jst(2026, 6, 8, 7, 0), 8) == jst(2026, 6, 8, 17, 0)


def test_business_hours_from_after_close_start_the_next_business_morning() -> None:
    assert CALENDAR.add_business_hours(jst(2026, 6, 8, 20, 0), 3) == jst(2026, 6, 9, 12, 0)


def test_a_touch_due_at_close_of_day_zero_is_due_that_evening() -> None:
    day_zero = SlaDuration(amount=0, unit="business_days", at_close=True)
    assert CALENDAR.add(jst(2026, 6, 8, 10, 0), day_zero) == jst(2026, 6, 8, 18, 0)


def test_a_hand_off_after_close_makes_the_next_business_day_day_zero() -> None:
    day_zero = SlaDuration(amount=0, unit="business_days", at_close=True)
    day_three = SlaDuration(amount=3, unit="business_days", at_close=True)
    friday_night = jst(2026, 6, 5, 20, 0)
    assert CALENDAR.add(friday_night, day_zero) == jst(2026, 6, 8, 18, 0)
    assert CALENDAR.add(friday_night, day_three) == jst(2026, 6, 11, 18, 0)


def test_clock_hours_ignore_the_calendar() -> None:
    assert CALENDAR.add(jst(2026, 5, 1, 18, 0), SlaDuration(amount=24, unit="hours")) == jst(
        2026, 5, 2, 18, 0
    )
