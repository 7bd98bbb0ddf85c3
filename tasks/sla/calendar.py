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
import numpy as np

from models.calendar_rules import CalendarRules
from models.nurture_rules import WEEKDAYS
from models.sla_rules import SlaDuration

# Closures and holidays never cover a whole year; this bounds every search.
_SEARCH_DAYS = 370


# What identifies a calendar's non-business days: weekdays, holiday country, closures.
CalendarKey = tuple[tuple[str, ...], str | None, tuple[tuple[str, str], ...]]


def calendar_key(rules: CalendarRules) -> CalendarKey:
    """The parts of `rules` that decide which days are business days, hashable."""
    return (tuple(rules.weekdays), rules.holiday_country,
            tuple((c.from_, c.to) for c in rules.closures))


def _month_day(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


# Building a year of public holidays costs milliseconds and the lookups of the holidays
# package are slow per call: every SLA hour of a process shares one table per key + years.
@lru_cache(maxsize=64)
def closed_days(key: CalendarKey, first_year: int, last_year: int) -> np.ndarray:
    """Public holidays and closure days from `first_year` to `last_year` (inclusive),
    sorted, as datetime64[D]; built once per process for each key and year range."""
    _, country, closures = key
    days = np.arange(np.datetime64(f"{first_year}-01-01"),
                     np.datetime64(f"{last_year + 1}-01-01"), dtype="datetime64[D]")
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    month_day = month * 100 + (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    closed = np.zeros(days.size, dtype=bool)
    for from_, to in closures:
        start, end = (m * 100 + d for m, d in (_month_day(from_), _month_day(to)))
        if start <= end:
            closed |= (month_day >= start) & (month_day <= end)
        else:
            closed |= (month_day >= start) | (month_day <= end)
    if country:
        public = holidays.country_holidays(country, years=range(first_year, last_year + 1))
        dates = np.array(sorted(public), dtype="datetime64[D]")
        closed |= np.isin(days, dates)
    table = days[closed]
    table.flags.writeable = False  # shared by every caller through the cache
    return table


@lru_cache(maxsize=256)
def _closed_in_year(key: CalendarKey, year: int) -> frozenset[date]:
    return frozenset(closed_days(key, year, year).tolist())


class BusinessCalendar:
    """The business calendar of `rules` in the business time zone `tz`."""

    def __init__(self, rules: CalendarRules, tz: str | ZoneInfo) -> None:
        self.rules = rules
        self.zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self._weekdays = {WEEKDAYS.index(day) for day in rules.weekdays}
        self._closures = [(_month_day(c.from_), _month_day(c.to)) for c in rules.closures]
        self._key = calendar_key(rules)

    def is_business_day(self, day: date) -> bool:
        """Whether `day` (a local date) is a business day."""
        return day.weekday() in self._weekdays and day not in _closed_in_year(self._key, day.year)

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
