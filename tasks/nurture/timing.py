"""Send-time arithmetic, pure: the send window in a contact's time zone and the frequency cap.

Nothing here reads a clock: every function takes the instant it reasons about.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from models.nurture_rules import WEEKDAYS, FrequencyCap, SendWindow

# A window that is open at least one weekday is reached within two weeks even across
# Golden Week; a year bounds the search for any valid window.
_SEARCH_DAYS = 370


@lru_cache(maxsize=16)
def _holiday_calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


@lru_cache(maxsize=256)
def contact_zone(name: str | None, default: str) -> ZoneInfo:
    """The contact's time zone, or `default` when unset or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


def is_send_day(day: date, window: SendWindow) -> bool:
    """Whether emails may go out on this local date (weekday allowed, not a public holiday)."""
    if WEEKDAYS[day.weekday()] not in window.weekdays:
        return False
    return not (window.skip_public_holidays and day in _holiday_calendar(window.holiday_country))


def next_send_slot(earliest: datetime, *, zone: ZoneInfo, window: SendWindow) -> datetime:
    """The first instant at or after `earliest` inside the send window of `zone`, in UTC."""
    local = earliest.astimezone(zone)
    for _ in range(_SEARCH_DAYS):
        day = local.date()
        if is_send_day(day, window):
            opens = datetime.combine(day, window.start, tzinfo=zone)
            closes = datetime.combine(day, window.end, tzinfo=zone)
            if local < opens:
                return opens.astimezone(UTC)
            if local < closes:
                return local.astimezone(UTC)
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    raise ValueError("the send window never opens")


def cap_frees_at(sent: Iterable[datetime], *, at: datetime, cap: FrequencyCap) -> datetime | None:
    """When one more email fits under the cap (None: it fits at `at` already).

    `sent` are the contact's marketing emails (sent or queued) at or before `at`.
    """
    period = timedelta(days=cap.days)
    recent = sorted(t for t in sent if at - period < t <= at)
    if len(recent) < cap.max_emails:
        return None
    # The window must lose len - max + 1 emails; the oldest of those leaves at +period.
    return recent[len(recent) - cap.max_emails] + period


def next_allowed_send(
    *,
    at: datetime,
    sent: Iterable[datetime],
    zone: ZoneInfo,
    window: SendWindow,
    cap: FrequencyCap,
) -> datetime:
    """The first instant ≥ `at` that is inside the window and under the frequency cap."""
    sent_times = list(sent)
    candidate = at
    for _ in range(_SEARCH_DAYS):
        candidate = next_send_slot(candidate, zone=zone, window=window)
        freed = cap_frees_at(sent_times, at=candidate, cap=cap)
        if freed is None:
            return candidate
        candidate = max(freed, candidate + timedelta(seconds=1))
    raise ValueError("no send slot found")
