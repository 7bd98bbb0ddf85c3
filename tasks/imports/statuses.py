"""Lead statuses on import: a history row for each status a contacts file changes, and
the status moves that newly imported activities bring (see `tasks.status.activities`).
"""

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Table

from models.rules import Rules
from models.tables import Activity, Contact
from tasks.imports.store import read_by_keys
from tasks.status.activities import move_statuses_from_activities
from tasks.status.apply import record_status_history
from tasks.status.decide import Touch, imported_status_changes

CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
TOUCH_COLUMNS = ["contact_id", "outcome", "occurred_at"]


def _status(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def record_imported_statuses(
    conn: Connection,
    *,
    stored: pd.DataFrame,
    inserts: pd.DataFrame,
    updates: pd.DataFrame,
    source: str,
    run_id: str,
    now: datetime,
) -> int:
    """History rows (source "import") for the statuses a contacts chunk set or changed.

    `stored` holds id and lead_status before the chunk was written; `inserts` and
    `updates` are what was written. Lifecycle effects are not applied: the file carries
    its own lifecycle stage. Returns how many history rows were added.
    """
    before = {int(i): _status(s) for i, s in zip(stored["id"], stored["lead_status"], strict=True)}
    after = {int(i): _status(s) for i, s in zip(updates["id"], updates["lead_status"], strict=True)}
    new = inserts[inserts["lead_status"].notna()]
    if not new.empty:
        ids = read_by_keys(conn, CONTACTS, key="email", keys=new["email"], columns=["email", "id"])
        by_email = dict(zip(ids["email"], ids["id"], strict=True))
        for email, status in zip(new["email"], new["lead_status"], strict=True):
            if email in by_email:
                after[int(by_email[email])] = _status(status)
    changes = imported_status_changes(before, after, at=now, reason=f"imported from {source}")
    return record_status_history(conn, changes, run_id=run_id, now=now)


def unseen_activities(conn: Connection, inserts: pd.DataFrame, *, rules: Rules) -> pd.DataFrame:
    """The rows of `inserts` not stored yet whose outcome can move a status (read before
    they are inserted), as contact_id, outcome, occurred_at."""
    moving = [outcome.value for outcome in rules.lead_status.activity_outcomes]
    rows = inserts[inserts["outcome"].isin(moving)].drop_duplicates("source_activity_id")
    if rows.empty:
        return pd.DataFrame(columns=TOUCH_COLUMNS)
    stored = read_by_keys(
        conn, ACTIVITIES, key="source_activity_id", keys=rows["source_activity_id"],
        columns=["source_activity_id"],
    )
    fresh = rows[~rows["source_activity_id"].isin(stored["source_activity_id"])]
    return fresh[TOUCH_COLUMNS].reset_index(drop=True)


def move_imported_statuses(
    conn: Connection,
    activities: Sequence[pd.DataFrame],
    *,
    rules: Rules,
    run_id: str,
    now: datetime,
) -> int:
    """Move lead statuses from the activities an import added (all chunks at once, so the
    file's order does not matter); returns how many statuses changed."""
    frames = [f for f in activities if not f.empty]
    if not frames:
        return 0
    frame = pd.concat(frames, ignore_index=True)
    touches = [
        Touch(int(contact_id), str(outcome), pd.Timestamp(at).to_pydatetime())
        for contact_id, outcome, at in zip(
            frame["contact_id"], frame["outcome"], frame["occurred_at"], strict=True
        )
    ]
    applied = move_statuses_from_activities(
        conn, touches, rules=rules, source="import", run_id=run_id, now=now
    )
    return len(applied.changes)
