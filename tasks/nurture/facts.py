"""Frame-wide facts of nurture's decide, computed over whole frames at once (pure).

`active_enrollments` sorts the active enrollments and marks, for all of them in a few
vectorised passes, which must exit now (and why) and which are due this hour: the rest
neither move nor log anything, so only the marked rows are walked one by one.
`Lookups` holds the per-contact facts the walk needs, built only for the contacts that
are walked or may enter a program, never for the whole frame.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from models.nurture_rules import END, Program
from tasks.nurture.frames import ACTIVE, FAILED, SENT, NurtureFrames, email_id


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts of Python values (cheaper than DataFrame.to_dict)."""
    if frame.empty:
        return []
    columns = [str(c) for c in frame.columns]
    values = [_values(frame[c]) for c in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _values(column: pd.Series) -> list[Any]:
    # Instants as datetime (NaT kept): boxing each as a pandas Timestamp costs ~5 µs.
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return list(column.dt.to_pydatetime())
    return column.tolist()


def text(value: Any) -> str:
    """A nullable frame value as text ('' for a missing one)."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def stamp(value: Any) -> datetime | None:
    """A nullable frame value as a datetime (None for a missing one)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if type(value) is datetime and value.tzinfo is not None:
        return value
    instant = pd.Timestamp(value)
    if pd.isna(instant):
        return None
    return instant.to_pydatetime()


def instants(values: pd.Series) -> pd.Series:
    """A column of instants as tz-aware UTC datetimes (NaT for missing ones)."""
    return pd.to_datetime(values, utc=True)


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """`table[key]` for every key (missing: NA), in the table's dtype, on the keys' index."""
    return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def truthy(values: pd.Series) -> pd.Series:
    """`bool(value)` of every value, as the row-by-row code read it (None → False)."""
    if values.dtype == object:
        return values.map(bool).astype(bool)
    return values.astype(bool)


def suppressed_reasons(frames: NurtureFrames, as_of: datetime) -> dict[int, str]:
    """Contact → the first suppression reason recorded at or before as_of."""
    rows = frames.suppressions
    if rows.empty:
        return {}
    created = instants(rows["created_at"])
    known = rows[created.notna() & (created <= as_of)].drop_duplicates("contact_id")
    ids = known["contact_id"].astype("int64").tolist()
    return dict(zip(ids, (str(r) for r in known["reason"].tolist()), strict=True))


def unique_contacts(frames: NurtureFrames) -> pd.DataFrame:
    """Contacts by id (the last row of an id wins), in contact_id order."""
    contacts = frames.contacts.drop_duplicates("contact_id", keep="last")
    return contacts.sort_values("contact_id", kind="stable")


@dataclass(frozen=True)
class ActiveSplit:
    """Active enrollments split into those that move this hour and those that stay put."""

    moving: pd.DataFrame  # by enrollment_key, with `exit_now` (reason or None)
    staying_contacts: set[int]


def active_enrollments(
    frames: NurtureFrames,
    *,
    programs: Mapping[str, Program],
    suppressed: Mapping[int, str],
    as_of: datetime,
) -> ActiveSplit:
    """Which active enrollments exit now (and why), are finished or are due this hour."""
    enrollments = frames.enrollments
    active = enrollments[enrollments["status"] == ACTIVE].reset_index(drop=True)
    ids = active["contact_id"].astype("int64")
    contacts = frames.contacts.drop_duplicates("contact_id", keep="last")
    contact_ids = contacts["contact_id"].astype("int64").to_numpy()
    stage = ids.map(pd.Series(contacts["lifecycle_stage"].to_numpy(), index=contact_ids))
    names = list(programs)
    program_code = pd.Categorical(active["program"], categories=names).codes
    stage_code, stage_names = pd.factorize(stage)
    # exits[p, s]: whether being in stage s makes program p's enrollments leave.
    exits = np.zeros((len(names) + 1, len(stage_names) + 1), dtype=bool)
    for p, program in enumerate(names):
        leave = {str(s) for s in programs[program].exit.stages}
        exits[p, : len(stage_names)] = [str(s) in leave for s in stage_names]
    leaving = exits[program_code, stage_code]  # -1 indexes the all-False last row/column
    reason = pd.Series(None, index=active.index, dtype=object)
    reason[leaving] = "stage_" + stage[leaving].astype(str)
    reason = reason.combine_first(_activity_exits(frames, active, programs, as_of))
    reason = reason.where(ids.isin(contact_ids), "contact_gone")
    reason = ids.map(suppressed).combine_first(reason)
    reason = reason.where(program_code >= 0, "program_removed")
    clock = instants(active["next_step_at"]).fillna(pd.Timestamp(as_of))
    due = clock.dt.floor("h") <= as_of
    finished = active["step"].isna() | (active["step"] == END)
    moves = (reason.notna() | finished | due).to_numpy()
    # Keys are unique, so sorting only the moving rows keeps the order of sorting all.
    why = reason[moves].astype(object)
    moving = active[moves].assign(exit_now=why.where(why.notna(), None))
    return ActiveSplit(
        moving=moving.sort_values("enrollment_key"),
        staying_contacts=set(ids[~moves].tolist()),
    )


def _activity_exits(
    frames: NurtureFrames, active: pd.DataFrame, programs: Mapping[str, Program], as_of: datetime
) -> pd.Series:
    """The first (frame order) exit activity since entry of each active enrollment."""
    activities = frames.activities
    none = pd.Series(np.nan, index=active.index, dtype=object)
    if activities.empty or active.empty:
        return none
    acts = activities.assign(
        _order=np.arange(len(activities)),
        _at=instants(activities["occurred_at"]),
        contact_id=activities["contact_id"].astype("int64"),
    )
    rows = active[["contact_id", "program"]].assign(
        contact_id=active["contact_id"].astype("int64"),
        _row=active.index,
        _entered=instants(active["entered_at"]),
    )
    pairs = rows.merge(acts, on="contact_id")
    counted = pd.Series(False, index=pairs.index)
    for program in programs.values():
        outcomes = [str(o) for o in program.exit.activity_outcomes]
        counted |= (pairs["program"] == program.name) & pairs["outcome"].isin(outcomes)
    hits = pairs[counted & (pairs["_entered"] <= pairs["_at"]) & (pairs["_at"] <= as_of)]
    first = hits.sort_values("_order", kind="stable").drop_duplicates("_row")
    found = pd.Series([str(o) for o in first["outcome"].tolist()], index=first["_row"].to_numpy(),
                      dtype=object)
    return found.reindex(active.index)


def send_step_keys(enrollment_keys: Iterable[str], program: Program) -> list[str]:
    """The email ids the send steps of `program` give these enrollments."""
    steps = [s.id for s in program.steps if s.send is not None]
    return [email_id(key, step) for key in enrollment_keys for step in steps]


@dataclass
class Lookups:
    """Per-contact facts for the contacts a decide call walks (or may enrol)."""

    contacts: dict[int, dict[str, Any]]
    sends: dict[str, dict[str, Any]]
    sent_times: defaultdict[int, list[datetime]]
    events: defaultdict[int, list[dict[str, Any]]]
    suppressed: Mapping[int, str]


def lookups(
    frames: NurtureFrames,
    *,
    contact_ids: set[int],
    email_ids: set[str],
    suppressed: Mapping[int, str],
    as_of: datetime,
) -> Lookups:
    """Contacts, their sends, send times and known events, for `contact_ids` only."""
    wanted = list(contact_ids)

    def of_contacts(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        return frame[frame["contact_id"].astype("int64").isin(wanted)]

    # The walk reads no instants of a contact: converting them would cost the most.
    fields = [c for c in frames.contacts.columns if c not in ("created_at", "updated_at")]
    contacts = {
        int(r["contact_id"]): r for r in records(of_contacts(frames.contacts)[fields])
    }
    # One row per email id, the last one, as a dict keyed by email id keeps it.
    sends_frame = frames.sends.drop_duplicates("email_id", keep="last")
    sends = {
        r["email_id"]: r
        for r in records(sends_frame[sends_frame["email_id"].isin(list(email_ids))])
    } if not sends_frame.empty else {}
    sent_times: defaultdict[int, list[datetime]] = defaultdict(list)
    for r in records(of_contacts(sends_frame)):
        sent_at = stamp(r["sent_at"]) if r["status"] == SENT else None
        # At as_of an email counts from when it went out, if it had by then; one a live
        # backfill sent only later was still queued at as_of and counts from then.
        when = sent_at if sent_at is not None and sent_at <= as_of else stamp(r["queued_at"])
        if r["status"] != FAILED and when is not None and when <= as_of:
            sent_times[int(r["contact_id"])].append(when)
    events: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records(of_contacts(frames.events)):
        occurred = stamp(r["occurred_at"])
        if occurred is not None and occurred <= as_of:
            events[int(r["contact_id"])].append(r)
    return Lookups(contacts, sends, sent_times, events, suppressed)
