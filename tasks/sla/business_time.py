"""Business-calendar arithmetic over arrays of instants (pure): the rules of
tasks.sla.calendar.BusinessCalendar, with numpy's business-day functions.

Instants are int64 nanoseconds since the epoch, in UTC. Each operation converts them to
wall time of the business zone, moves whole days with `np.busday_offset` (the weekmask
and the cached holiday + closure table of `tasks.sla.calendar.closed_days`), clamps to
business hours, and converts the wall time back to UTC as `datetime.combine(...,
tzinfo=zone)` does (fold=0). Results equal `BusinessCalendar.add` instant for instant.
"""

from datetime import UTC, datetime, time
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from models.calendar_rules import CalendarRules
from models.nurture_rules import WEEKDAYS
from models.sla_rules import SlaDuration
from tasks.sla.calendar import CalendarKey, calendar_key, closed_days

SECOND_NS = 10**9
HOUR_NS = 3_600 * SECOND_NS
DAY_NS = 24 * HOUR_NS
# Year range kept in the holiday table beyond the instants asked about.
MARGIN_YEARS = 1


@lru_cache(maxsize=64)
def _busdays(key: CalendarKey, first_year: int, last_year: int) -> np.busdaycalendar:
    weekmask = [day in key[0] for day in WEEKDAYS]
    return np.busdaycalendar(weekmask=weekmask,
                             holidays=closed_days(key, first_year, last_year))


@lru_cache(maxsize=64)
def _fixed_offset(zone: ZoneInfo, first_year: int, last_year: int) -> int | None:
    """The zone's UTC offset in ns when it is the same all over the years, else None."""
    days = pd.date_range(f"{first_year - 1}-01-01", f"{last_year + 2}-01-01", freq="D",
                         tz=UTC, unit="ns")
    wall = days.tz_convert(zone).tz_localize(None)
    offsets = np.unique(wall.asi8 - days.tz_localize(None).asi8)
    return int(offsets[0]) if offsets.size == 1 else None


def _time_ns(clock: time) -> int:
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * SECOND_NS + (
        clock.microsecond * 1000
    )


class _Uncovered(Exception):
    """A result fell after the last day of the holiday table."""


class FrameCalendar:
    """The business calendar of `rules` in zone `tz`, for arrays of UTC instants."""

    def __init__(self, rules: CalendarRules, tz: str | ZoneInfo, *, years: tuple[int, int]):
        self.rules = rules
        self.zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self._key = calendar_key(rules)
        self._open = _time_ns(rules.start)
        self._close = _time_ns(rules.end)
        self._cover(*years)

    @classmethod
    def covering(cls, rules: CalendarRules, tz: str | ZoneInfo, instants: np.ndarray,
                 ) -> "FrameCalendar":
        """A calendar whose holiday table covers `instants` (UTC ns) and a year after."""
        known = instants[instants != np.iinfo(np.int64).min]
        years = pd.DatetimeIndex(known.astype("datetime64[ns]")).year
        first = int(years.min()) if years.size else datetime.now(UTC).year
        last = int(years.max()) if years.size else first
        return cls(rules, tz, years=(first - MARGIN_YEARS, last + MARGIN_YEARS))

    def _cover(self, first_year: int, last_year: int) -> None:
        self._years = (first_year, last_year)
        self._days = _busdays(self._key, first_year, last_year)
        self._last_day = np.datetime64(f"{last_year}-12-31")
        self._offset = _fixed_offset(self.zone, first_year, last_year)

    @property
    def fixed_offset(self) -> bool:
        """Whether the zone keeps one UTC offset over the years covered (no DST): then
        wall-time arithmetic never steps back."""
        return self._offset is not None

    def add(self, starts: np.ndarray, duration: SlaDuration) -> np.ndarray:
        """`starts` plus an SLA duration in its unit (see BusinessCalendar.add), UTC ns."""
        while True:
            try:
                return self._add(starts, duration)
            except _Uncovered:
                first, last = self._years
                self._cover(first, last + 1 + duration.amount // 200)

    def _add(self, starts: np.ndarray, duration: SlaDuration) -> np.ndarray:
        if duration.unit == "hours":
            end = starts + duration.amount * HOUR_NS
        elif duration.unit == "days":
            end = starts + duration.amount * DAY_NS
        elif duration.unit == "business_hours":
            end = self.add_business_hours(starts, duration.amount)
        else:
            end = self.add_business_days(starts, duration.amount)
        return self.close_of_business(end) if duration.at_close else end

    # Wall time <-> UTC -------------------------------------------------------------------

    def _wall(self, utc: np.ndarray) -> np.ndarray:
        if self._offset is not None:
            return utc + self._offset
        index = pd.DatetimeIndex(utc.astype("datetime64[ns]")).tz_localize(UTC)
        return np.asarray(index.tz_convert(self.zone).tz_localize(None).as_unit("ns").asi8)

    def _utc(self, wall: np.ndarray) -> np.ndarray:
        if self._offset is not None:
            return wall - self._offset
        # Around a DST change, a wall time means what datetime.combine(..., tzinfo=zone)
        # makes of it (fold=0): zoneinfo decides, once per distinct wall time.
        unique, inverse = np.unique(wall, return_inverse=True)
        offsets = np.array([
            int(pd.Timestamp(w).to_pydatetime().replace(tzinfo=self.zone).utcoffset()
                .total_seconds() * SECOND_NS)
            for w in unique
        ], dtype=np.int64)
        return wall - offsets[inverse]

    def _split(self, utc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wall = self._wall(utc)
        day = wall // DAY_NS
        return day.astype("datetime64[D]"), wall - day * DAY_NS

    def _at(self, day: np.ndarray, clock: np.ndarray | int) -> np.ndarray:
        return self._utc(day.astype(np.int64) * DAY_NS + clock)

    def _offset_days(self, day: np.ndarray, offsets: np.ndarray | int,
                     roll: Literal["forward", "backward"]) -> np.ndarray:
        moved = np.busday_offset(day, offsets, roll=roll, busdaycal=self._days)
        if moved.size and moved.max() > self._last_day:
            raise _Uncovered
        return moved

    def _next_business_day(self, day: np.ndarray) -> np.ndarray:
        """The first business day strictly after each day."""
        return self._offset_days(day, 1, "backward")

    # The three operations of BusinessCalendar ---------------------------------------------

    def add_business_days(self, utc: np.ndarray, days: int) -> np.ndarray:
        """`days` business days after each instant (BusinessCalendar.add_business_days)."""
        day, clock = self._split(utc)
        business = np.is_busday(day, busdaycal=self._days)
        moved = self._offset_days(day, days, "forward")
        return self._at(moved, np.where(business, clock, self._open))

    def add_business_hours(self, utc: np.ndarray, hours: int) -> np.ndarray:
        """`hours` business hours after each instant (BusinessCalendar.add_business_hours)."""
        day, clock = self._split(utc)
        outside = ~np.is_busday(day, busdaycal=self._days) | (clock >= self._close)
        day = np.where(outside, self._next_business_day(day), day)
        current = np.where(outside | (clock < self._open), self._open, clock)
        remaining = hours * HOUR_NS
        today = remaining <= self._close - current
        rest = remaining - (self._close - current)
        length = self._close - self._open
        later_days = np.where(today, 0, -(-rest // length))
        result_day = self._offset_days(day, later_days, "forward")
        result_clock = np.where(today, current + remaining,
                                self._open + rest - (later_days - 1) * length)
        return self._at(result_day, result_clock)

    def close_of_business(self, utc: np.ndarray) -> np.ndarray:
        """The close of the business day each instant falls in, or of the next one."""
        day, clock = self._split(utc)
        outside = ~np.is_busday(day, busdaycal=self._days) | (clock >= self._close)
        day = np.where(outside, self._next_business_day(day), day)
        return self._at(day, self._close)
