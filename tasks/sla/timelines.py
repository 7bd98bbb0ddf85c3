"""Per-contact timelines of instants with vectorised look-ups (pure).

A `Timeline` holds the instants (int64 ns, UTC) of one kind of fact for many contacts,
sorted by contact then instant; its look-ups answer, for arrays of (contact, instant)
questions at once, "how many before" and "the n-th from". Each (contact, instant) pair is
turned into one sortable int64 key (contact rank × distinct instants + instant rank), so a
single `np.searchsorted` answers every question.
"""

from typing import Literal

import numpy as np
import pandas as pd

NAT = np.iinfo(np.int64).min
# An open end: after every instant.
NEVER = np.iinfo(np.int64).max


class Timeline:
    """Instants per contact; `contacts` and `at` are parallel arrays, in any order."""

    def __init__(self, contacts: np.ndarray, at: np.ndarray) -> None:
        order = np.lexsort((at, contacts))
        self.contacts = np.asarray(contacts, dtype=np.int64)[order]
        self.at = np.asarray(at, dtype=np.int64)[order]
        self._ids = np.unique(self.contacts)
        self._instants = np.unique(self.at)
        self._width = self._instants.size + 1
        self._lo = np.searchsorted(self.contacts, self._ids, side="left")
        self._hi = np.searchsorted(self.contacts, self._ids, side="right")
        self._keys = (np.searchsorted(self._ids, self.contacts) * self._width
                      + np.searchsorted(self._instants, self.at))

    def _group(self, contacts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rank = np.searchsorted(self._ids, contacts)
        clipped = np.minimum(rank, max(self._ids.size - 1, 0))
        present = (rank < self._ids.size) & (self._ids[clipped] == contacts) if self._ids.size \
            else np.zeros(len(contacts), dtype=bool)
        return clipped, present

    def count_before(self, contacts: np.ndarray, instants: np.ndarray, *,
                     inclusive: bool = False) -> np.ndarray:
        """How many instants of each contact are before (`inclusive`: at or before) each
        instant asked about."""
        if not self._ids.size:
            return np.zeros(len(contacts), dtype=np.int64)
        rank, present = self._group(contacts)
        side: Literal["left", "right"] = "right" if inclusive else "left"
        keys = rank * self._width + np.searchsorted(self._instants, instants, side=side)
        counts = np.searchsorted(self._keys, keys, side="left") - self._lo[rank]
        return np.where(present, counts, 0)

    def nth_from(self, contacts: np.ndarray, starts: np.ndarray, n: int | np.ndarray = 1, *,
                 until: np.ndarray | None = None, after: bool = False) -> np.ndarray:
        """The n-th instant (1-based) of each contact at or after (`after`: strictly after)
        each start and at or before `until`; NAT where there is none."""
        if not self._ids.size:
            return np.full(len(contacts), NAT, dtype=np.int64)
        rank, present = self._group(contacts)
        index = self._lo[rank] + self.count_before(contacts, starts, inclusive=after) + n - 1
        found = present & (index < self._hi[rank])
        result = np.where(found, self.at[np.minimum(index, self.at.size - 1)], NAT)
        if until is not None:
            result = np.where(result <= until, result, NAT)
        return result


def instants(values: pd.Series) -> np.ndarray:
    """Timezone-aware date-times (datetimes, Timestamps, None/NaT) as UTC ns; NAT if missing."""
    if values.empty:
        return np.zeros(0, dtype=np.int64)
    converted = pd.to_datetime(values, utc=True)
    return np.asarray(pd.DatetimeIndex(converted).as_unit("ns").asi8, dtype=np.int64)
