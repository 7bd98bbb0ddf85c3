"""Read beat of nurture: the frames `decide_nurture` needs for one as_of.

Only what can matter is loaded: contacts that could enter a program or are in one, the
sends inside the frequency-cap window or of active enrollments, the events that trigger
programs or answer branch conditions, and (for low-score re-nurture) two score
aggregates per contact pushed down into SQL instead of every snapshot.

An incremental run (`tasks.nurture.read_scope`) reads the same frames for the contacts
whose decisions can have changed only: every statement then also lists the contacts.

The statements depend on the rules only; instants are bound parameters, so one process
running many hours (a backfill, a simulation) builds them once per rules object.
"""

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Executable

from leadflow.db import id_list_value
from models.rules import Rules
from tasks.nurture.decide import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    ENROLLMENT_COLUMNS,
    EVENT_COLUMNS,
    SEND_COLUMNS,
    SNAPSHOT_COLUMNS,
    STAGE_ENTRY_COLUMNS,
    SUPPRESSION_COLUMNS,
    NurtureFrames,
)
from tasks.nurture.read_scope import NurtureScope
from tasks.nurture.read_statements import SCOPE, NurtureStatements, build_statements
from tasks.scoring.read import MAX_LISTED_CANDIDATES

_BUILT: dict[tuple[int, bool, str], tuple[Rules, NurtureStatements]] = {}


def _frame(
    conn: Connection, query: Executable, columns: list[str], params: dict[str, Any]
) -> pd.DataFrame:
    rows = [tuple(r) for r in conn.execute(query, params)]
    return pd.DataFrame(rows, columns=columns)


def _parameters(rules: Rules, as_of: datetime) -> dict[str, Any]:
    programs = rules.nurture.programs
    params: dict[str, Any] = {
        "as_of": as_of,
        "cap_start": as_of - timedelta(days=rules.nurture.frequency_cap.days + 1),
        "low_score_cutoff": as_of - timedelta(days=rules.scoring.thresholds.low_score_days),
    }
    for program in programs:
        params[f"since_{program.name}"] = as_of - timedelta(days=program.entry.within_days)
    event_windows = [p.entry.within_days for p in programs if p.entry.trigger == "event"]
    params["events_since"] = as_of - timedelta(days=max(event_windows, default=0))
    return params


def read_nurture_frames(
    conn: Connection, *, rules: Rules, as_of: datetime, scope: NurtureScope | None = None
) -> NurtureFrames:
    """Load every frame the nurture decision needs at `as_of`, for every contact or only
    for the contacts `scope` lists (their rows are the same as in a full read)."""
    ids = scope.contacts if scope is not None and not scope.full else None
    listed = ids is not None and len(ids) <= MAX_LISTED_CANDIDATES
    dialect = conn.dialect.name
    key = (id(rules), listed, dialect)
    built = _BUILT.get(key)
    if built is None or built[0] is not rules:
        if len(_BUILT) >= 8:
            # A long-lived worker loads the rules afresh for every run: keep a few only.
            _BUILT.clear()
        built = (rules, build_statements(rules, listed=listed, dialect=dialect))
        _BUILT[key] = built
    statements = built[1]
    params = _parameters(rules, as_of)
    if ids is not None and listed:
        params[SCOPE] = id_list_value(ids, dialect)
    wanted = None if ids is None or listed else set(ids)

    def frame(query: Executable, columns: list[str]) -> pd.DataFrame:
        if ids is not None and not ids:
            return pd.DataFrame(columns=columns)
        read = _frame(conn, query, columns, params)
        if wanted is None or read.empty:
            return read
        # Too many contacts to list in SQL: read as a full run does, keep theirs.
        return read[read["contact_id"].isin(wanted)].reset_index(drop=True)

    low = [
        f
        for f in (
            frame(statements.low_before, SNAPSHOT_COLUMNS)
            if statements.low_before is not None
            else None,
            frame(statements.low_since, SNAPSHOT_COLUMNS)
            if statements.low_since is not None
            else None,
        )
        if f is not None and not f.empty
    ]
    return NurtureFrames(
        contacts=frame(statements.contacts, CONTACT_COLUMNS),
        enrollments=frame(statements.enrollments, ENROLLMENT_COLUMNS),
        sends=frame(statements.sends, SEND_COLUMNS),
        events=frame(statements.events, EVENT_COLUMNS),
        activities=frame(statements.activities, ACTIVITY_COLUMNS),
        stage_entries=frame(statements.stage_entries, STAGE_ENTRY_COLUMNS),
        suppressions=frame(statements.suppressions, SUPPRESSION_COLUMNS),
        snapshots=(
            pd.concat(low, ignore_index=True) if low else pd.DataFrame(columns=SNAPSHOT_COLUMNS)
        ),
    )
