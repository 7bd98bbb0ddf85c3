"""Recycling's facts per contact as frames (pure): instants, status history, stamps.

The read beat's time columns hold aware datetimes of any zone (or nothing); here they
become UTC instants for comparing, while decisions carry the original cell (`ts`), so a
decided instant is exactly the fact that caused it.
"""

from datetime import datetime

import numpy as np
import pandas as pd

from tasks.recycling.frames import cell_text, ts

ORDER = "_order"


def instants(series: pd.Series) -> pd.Series:
    """A time column as UTC instants (NaT where empty)."""
    return pd.to_datetime(series, utc=True)


def contacts_by_id(frame: pd.DataFrame) -> pd.DataFrame:
    """Candidates indexed by contact id (`_contact`), in id order, with their instants in
    `*_utc` columns."""
    contacts = frame.set_index(frame["contact_id"].astype("int64").rename("_contact"))
    contacts = contacts[~contacts.index.duplicated(keep="last")].sort_index()
    for column in ("last_stage_at", "handoff_at", "renurtured_at"):
        contacts[f"{column}_utc"] = instants(contacts[column])
    return contacts


def ordered_until(frame: pd.DataFrame, time_column: str, as_of: datetime) -> pd.DataFrame:
    """Rows dated at or before `as_of`, per contact oldest first (ties in frame order),
    with the instant in `_at` and the contact as int in `_contact`."""
    at = instants(frame[time_column])
    kept = frame.assign(_at=at, _contact=frame["contact_id"].astype("int64"))
    kept[ORDER] = np.arange(len(kept))
    kept = kept[(at.notna() & (at <= pd.Timestamp(as_of))).to_numpy()]
    return kept.sort_values(["_contact", "_at", ORDER], kind="stable")


def latest_status_rows(history: pd.DataFrame, status: str) -> pd.DataFrame:
    """Each contact's latest history row setting `status` (of `ordered_until` rows),
    indexed by contact."""
    rows = history[history["to_status"] == status]
    return rows.groupby("_contact", sort=False).tail(1).set_index("_contact")


def stamps(
    facts: pd.Series, originals: pd.Series, *, after: list[pd.Series], as_of: datetime
) -> list[datetime]:
    """`tasks.recycling.decide.stamp` over frames: each fact (UTC instant, with its
    original cell in `originals`) if at or before `as_of` and not before the latest of
    `after` (aligned series of instants), else `as_of`."""
    floor = pd.concat(after, axis=1).max(axis=1) if after else None
    usable = facts.notna() & (facts <= pd.Timestamp(as_of))
    if floor is not None:
        usable &= floor.isna() | (facts >= floor)
    chosen = usable.to_numpy(dtype=bool)
    return [
        (ts(original) or as_of) if use else as_of
        for use, original in zip(chosen, originals, strict=True)
    ]


def texts(series: pd.Series) -> list[str | None]:
    """`cell_text` of each cell, in order."""
    return [cell_text(value) for value in series]


def stage_keys(stages: pd.Series) -> list[str | None]:
    """Each stage cell as text, or None (NaN, None), for looking decisions up by stage."""
    return [stage if isinstance(stage, str) else None for stage in stages]
