"""Business-calendar arithmetic for SLA clocks (pure): business days, business hours, closures.

Rules (DOMAIN.md): a business day is a listed weekday that is neither a public holiday
of `holiday_country` nor a company closure day. N business days after an instant t
(local time): if t falls on a business day, step over the next N business days and keep
t's time of day; if t falls on a non-business day, count from the opening (09:00) of the
next business day. Business hours count only inside opening–close of business days.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from models.calendar_rules import CalendarRules
from models.nurture_rules import WEEKDAYS
from models.sla_rules import SlaDuration

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
