"""Who may enter which nurture program at `as_of`, over whole frames at once (pure).

Per program, the trigger instant of every contact is one groupby (latest matching
event or stage move, creation, the low-score streak), and entry conditions plus the
re-enrollment policy are column arithmetic. A contact goes to the first program of
the rules it may enter.
"""

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd

from models.nurture_rules import NurtureRules, Program
from models.rules import Thresholds
from tasks.nurture.facts import instants, lookup, truthy, unique_contacts
from tasks.nurture.frames import NurtureFrames

_NO_TIMES = pd.Series(dtype="datetime64[us, UTC]")


def entry_programs(
    frames: NurtureFrames,
    *,
    rules: NurtureRules,
    thresholds: Thresholds,
    suppressed: Mapping[int, str],
    busy: Collection[int],
    as_of: datetime,
) -> list[tuple[int, Program]]:
    """(contact, first program it may enter) in contact_id order, `busy` contacts left out.

    A contact may only enter when no active enrollment of it is left after this hour, so
    the contacts of enrollments that stay put are never looked at.
    """
    contacts = unique_contacts(frames)
    contacts = contacts[~contacts["contact_id"].astype("int64").isin(list(busy))]
    contacts = contacts.reset_index(drop=True)
    if contacts.empty or not rules.programs:
        return []
    frames = _of_contacts(frames, set(contacts["contact_id"].astype("int64").tolist()))
    ids = contacts["contact_id"].astype("int64")
    allowed = truthy(contacts["consent"]) & ~ids.isin(list(suppressed))
    stage = contacts["lifecycle_stage"]
    chosen = pd.Series(None, index=contacts.index, dtype=object)
    previous = _previous_entries(frames)
    for index, program in enumerate(rules.programs):
        entry = program.entry
        candidates = allowed & stage.isin([str(s) for s in entry.stages]) & chosen.isna()
        if not candidates.any():
            continue
        trigger = _trigger(program, contacts, frames, thresholds, as_of)
        ok = candidates & trigger.notna() & (trigger <= as_of)
        if entry.trigger != "low_score":
            ok &= trigger >= as_of - timedelta(days=entry.within_days)
        last = instants(lookup(ids, previous.get(program.name, _NO_TIMES)))
        if program.reenroll == "never":
            ok &= last.isna()
        else:
            again = (trigger > last) & (
                last + timedelta(days=program.reenroll.after_days) <= as_of
            )
            ok &= last.isna() | again
        chosen[ok] = index
    picked = chosen.notna()
    return [
        (int(c), rules.programs[int(p)])
        for c, p in zip(ids[picked].tolist(), chosen[picked].tolist(), strict=True)
    ]


def _of_contacts(frames: NurtureFrames, ids: set[int]) -> NurtureFrames:
    """Only the rows of these contacts (the frames entry reads per contact)."""
    wanted = list(ids)

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        return frame[frame["contact_id"].astype("int64").isin(wanted)]

    return replace(
        frames,
        enrollments=keep(frames.enrollments),
        events=keep(frames.events),
        stage_entries=keep(frames.stage_entries),
        snapshots=keep(frames.snapshots),
    )


def _previous_entries(frames: NurtureFrames) -> dict[str, pd.Series]:
    """Program → (contact → latest entered_at of any of its enrollments)."""
    rows = frames.enrollments
    if rows.empty:
        return {}
    entered = instants(rows["entered_at"])
    known = pd.DataFrame({
        "contact_id": rows["contact_id"].astype("int64"),
        "program": rows["program"].astype(str),
        "entered": entered,
    })[entered.notna()]
    latest = known.groupby(["program", "contact_id"])["entered"].max()
    return {
        str(name): group.droplevel("program")
        for name, group in latest.groupby(level="program")
    }


def _latest(frame: pd.DataFrame, when: pd.Series, mask: pd.Series) -> pd.Series:
    """Contact → the latest of `when` where `mask` holds."""
    rows = pd.DataFrame({"contact_id": frame["contact_id"].astype("int64"), "at": when})[mask]
    return rows.groupby("contact_id")["at"].max()


def _trigger(
    program: Program,
    contacts: pd.DataFrame,
    frames: NurtureFrames,
    thresholds: Thresholds,
    as_of: datetime,
) -> pd.Series:
    """When each contact last met the program's trigger (NaT: never, or not known yet)."""
    entry = program.entry
    ids = contacts["contact_id"].astype("int64")
    nothing = pd.Series(pd.NaT, index=contacts.index, dtype="datetime64[us, UTC]")
    if entry.trigger == "created":
        return instants(contacts["created_at"])
    if entry.trigger == "low_score":
        low = _low_score(contacts, frames, thresholds, as_of)
        return nothing.mask(low, pd.Timestamp(as_of))
    if entry.trigger == "event":
        events = frames.events
        if events.empty:
            return nothing
        at = instants(events["occurred_at"])
        types = [str(t) for t in entry.events or []]
        match = at.notna() & (at <= as_of) & events["type"].isin(types)
        if entry.details is not None:
            match &= events["detail"].isin(entry.details)
        return instants(lookup(ids, _latest(events, at, match)))
    moves = frames.stage_entries
    latest = _NO_TIMES
    if not moves.empty:
        at = instants(moves["at"])
        match = at.notna() & (at <= as_of) & moves["to_stage"].isin([str(s) for s in entry.stages])
        if entry.kinds is not None:
            match &= moves["kind"].isin([str(k) for k in entry.kinds])
        latest = _latest(moves, at, match)
    known = instants(lookup(ids, latest))
    # A stage without history (imported) counts from the last update; a kinds filter
    # asks for a recorded move of that kind.
    if entry.kinds is not None:
        return known
    return known.fillna(instants(contacts["updated_at"]))


def _low_score(
    contacts: pd.DataFrame, frames: NurtureFrames, thresholds: Thresholds, as_of: datetime
) -> pd.Series:
    """At or below the low line now, at the cutoff, and at every snapshot since."""
    low = thresholds.low_score
    score = pd.to_numeric(contacts["score"], errors="coerce")
    now_low = score.notna() & (score <= low)
    snaps = frames.snapshots
    if snaps.empty:
        return pd.Series(False, index=contacts.index)
    taken = instants(snaps["as_of"])
    rows = pd.DataFrame({
        "contact_id": snaps["contact_id"].astype("int64"),
        "taken": taken,
        "score": snaps["score"].astype("int64"),
    })[taken.notna() & (taken <= as_of)]
    cutoff = as_of - timedelta(days=thresholds.low_score_days)
    before = rows[rows["taken"] <= cutoff].sort_values(["contact_id", "taken", "score"])
    last_before = before.groupby("contact_id")["score"].last()
    highest_since = rows[rows["taken"] > cutoff].groupby("contact_id")["score"].max()
    ids = contacts["contact_id"].astype("int64")
    was_low = lookup(ids, last_before)
    since = lookup(ids, highest_since)
    return now_low & was_low.notna() & (was_low <= low) & (since.isna() | (since <= low))
