"""When side effects of an hour happen: the one rule for live runs and simulations."""

from datetime import datetime
from enum import StrEnum


class Clock(StrEnum):
    """How a run treats time.

    `live`: the hour is decided as of `as_of`, and what it sends goes out now, stamped
    with the real time (a rerun of a past hour never back-dates a send). `simulated`:
    the hour *is* the present — sends are recorded at `as_of`, so waits, windows and
    ladders play out as they would have live (demos, what-if replays, tests).
    """

    LIVE = "live"
    SIMULATED = "simulated"


def effective_now(as_of: datetime, *, clock: Clock, now: datetime) -> datetime:
    """The instant an hour's sends are stamped with.

    Live: the real `now`, but never before the hour itself (an hour run ahead of time
    sends at the hour, not before it was due). Simulated: the hour.
    """
    if clock is Clock.SIMULATED:
        return as_of
    return max(as_of, now)
