"""Time helpers: everything is timezone-aware and stored in UTC."""

from datetime import UTC, datetime, tzinfo


def utc_now() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)


def floor_to_hour(instant: datetime) -> datetime:
    """The instant floored to the whole hour, in UTC."""
    return to_utc(instant).replace(minute=0, second=0, microsecond=0)


def to_utc(instant: datetime, *, naive_tz: tzinfo = UTC) -> datetime:
    """Convert to UTC; a naive datetime is read in `naive_tz`."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=naive_tz)
    return instant.astimezone(UTC)


def parse_instant(text: str, *, naive_tz: tzinfo = UTC) -> datetime:
    """Parse an ISO 8601 timestamp into UTC; a naive one is read in `naive_tz`."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return to_utc(datetime.fromisoformat(value), naive_tz=naive_tz)
