"""When marketing acts: email sends, webinars and trade shows on the Tokyo calendar."""

from dataclasses import dataclass
from datetime import UTC

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.synthetic.vocab import _SHOW_NAMES, JST


@dataclass(frozen=True)
class _Calendar:
    """Scheduled things (emails, webinars, shows) as sorted UTC seconds with their ids."""

    ids: list[str]
    at: npt.NDArray[np.int64]


def _jst_days(start_s: int, end_s: int) -> pd.DatetimeIndex:
    start = pd.Timestamp(start_s, unit="s", tz=UTC).tz_convert(JST).normalize()
    end = pd.Timestamp(end_s, unit="s", tz=UTC).tz_convert(JST).normalize()
    return pd.date_range(start, end, freq="D")


def _email_calendar(start_s: int, end_s: int) -> _Calendar:
    """Newsletters go out on Tuesdays, campaign emails on Thursdays, 10:00 JST."""
    ids: list[str] = []
    times: list[int] = []
    for day in _jst_days(start_s, end_s):
        if day.weekday() not in (1, 3):
            continue
        sent = int((day + pd.Timedelta(hours=10)).timestamp())
        if start_s <= sent <= end_s:
            ids.append(("nl-" if day.weekday() == 1 else "cp-") + day.strftime("%Y-%m-%d"))
            times.append(sent)
    return _Calendar(ids, np.asarray(times, dtype=np.int64))


def _webinar_calendar(start_s: int, end_s: int) -> _Calendar:
    """A webinar every other Wednesday at 14:00 JST."""
    ids: list[str] = []
    times: list[int] = []
    for day in _jst_days(start_s, end_s):
        if day.weekday() != 2 or (day.toordinal() // 7) % 2:
            continue
        held = int((day + pd.Timedelta(hours=14)).timestamp())
        if start_s <= held <= end_s:
            ids.append("wb-" + day.strftime("%Y-%m-%d"))
            times.append(held)
    return _Calendar(ids, np.asarray(times, dtype=np.int64))


def _show_calendar(start_s: int, end_s: int) -> _Calendar:
    """A trade show about every 45 days; the id names the month and the show."""
    ids: list[str] = []
    times: list[int] = []
    for day in _jst_days(start_s, end_s):
        if day.toordinal() % 45 != 0:
            continue
        opens = int((day + pd.Timedelta(hours=10)).timestamp())
        if start_s <= opens <= end_s:
            name = _SHOW_NAMES[(day.toordinal() // 45) % len(_SHOW_NAMES)]
            ids.append(f"ts-{day:%Y-%m}-{name}")
            times.append(opens)
    return _Calendar(ids, np.asarray(times, dtype=np.int64))
