"""Score breakdowns: the compact form snapshots store, and the full form people read.

A full breakdown names every paying signal with its group, points, units, latest event
and window, plus the raw sums and caps (what `leadflow explain`, hand-offs and dry runs
show). Writing that as a JSON object per snapshot cost seconds per 100k contacts, so
snapshots written since version 2 store the same facts without the repeated keys:

    {"v": 2, "as_of": "2026-12-01T18:00:00+00:00", "caps": [80, 20],
     "b": [["pricing_page", 10, 1, 1764000000, 30], ...],   # signal, points, units,
                                                            # latest (epoch s), window
     "f": [["employees_50", 5], ["manager_or_above", 10, "director"], ...]}

`expand_breakdown` turns it back into the full form, key for key; snapshots written
before (a full object without "v") pass through unchanged. The raw sums are the sums of
the listed points: signals that paid nothing are not listed in either form.
"""

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

COMPACT_VERSION = 2
LAST_AT_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"


def is_compact(value: object) -> bool:
    """Whether a stored breakdown is in the compact form (else the full, older one)."""
    return isinstance(value, Mapping) and value.get("v") == COMPACT_VERSION


def _last_at(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime(LAST_AT_FORMAT)


def expand_breakdown(value: Mapping[str, Any]) -> dict[str, Any]:
    """The full breakdown of a stored one, compact or not (a full one is returned as is)."""
    if not is_compact(value):
        return dict(value)
    signals: list[dict[str, Any]] = []
    behaviour_raw = fit_raw = 0
    for name, points, units, last, window in value["b"]:
        behaviour_raw += points
        signals.append(
            {"signal": name, "group": "behaviour", "points": points, "units": units,
             "last_at": _last_at(last), "window_days": window}
        )
    for name, points, *level in value["f"]:
        fit_raw += points
        entry: dict[str, Any] = {"signal": name, "group": "fit", "points": points}
        if level:
            entry["job_level"] = level[0]
        signals.append(entry)
    behaviour_cap, fit_cap = value["caps"]
    return {
        "as_of": value["as_of"],
        "signals": signals,
        "behaviour_raw": behaviour_raw,
        "behaviour_cap": behaviour_cap,
        "fit_raw": fit_raw,
        "fit_cap": fit_cap,
    }


class Breakdown(Mapping[str, Any]):
    """One contact's breakdown as decided: the compact JSON text a snapshot stores, read
    as the full breakdown (expanded on first access, so a 100k-contact run never builds
    100k dictionaries nobody reads)."""

    __slots__ = ("_full", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._full: dict[str, Any] | None = None

    def _expanded(self) -> dict[str, Any]:
        if self._full is None:
            self._full = expand_breakdown(orjson.loads(self.text))
        return self._full

    def __getitem__(self, key: str) -> Any:
        return self._expanded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._expanded())

    def __len__(self) -> int:
        return len(self._expanded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Breakdown):
            return self.text == other.text
        return isinstance(other, Mapping) and self._expanded() == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Breakdown({self.text})"

    def __getstate__(self) -> str:
        return self.text

    def __setstate__(self, state: str) -> None:
        self.text = state
        self._full = None
