"""Apply side of stage dates on import: the stage-history rows of imported contacts.

Reads the contacts' ids and recorded history, asks `plan_stage_history` what to write,
and inserts it keyed by (contact, to_stage, at), so a re-import adds nothing.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Table, select

from leadflow.db import in_chunks
from models.schemas import STAGE_DATE_COLUMNS
from models.tables import Contact, StageHistory
from tasks.imports.decide import ContactPlan
from tasks.imports.stage_dates import INSTANT, plan_stage_history
from tasks.imports.store import KEY_CHUNK, insert_ignore, read_by_keys

DATED_NOTE = "stage-history rows dated from the file"


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


CONTACTS, STAGE_HISTORY = _table(Contact), _table(StageHistory)


def read_recorded_stages(conn: Connection, contact_ids: Sequence[int]) -> pd.DataFrame:
    """contact_id, to_stage, at of the stage history stored for these contacts."""
    rows: list[tuple[object, ...]] = []
    columns = (STAGE_HISTORY.c.contact_id, STAGE_HISTORY.c.to_stage, STAGE_HISTORY.c.at)
    for part in in_chunks(sorted(set(contact_ids)), KEY_CHUNK):
        statement = select(*columns).where(STAGE_HISTORY.c.contact_id.in_(part))
        rows.extend(tuple(r) for r in conn.execute(statement).all())
    frame = pd.DataFrame(rows, columns=["contact_id", "to_stage", "at"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True).astype(INSTANT)
    return frame


def record_imported_stages(
    conn: Connection,
    *,
    rows: pd.DataFrame,
    plan: ContactPlan,
    labels: Mapping[str, str],
    now: datetime,
    source: str,
    run_id: str,
) -> tuple[int, dict[str, int]]:
    """Write the stage history of a contacts chunk after its contacts were written.

    Returns how many rows were new and the notes for the summary. Without stage dates
    this is the import's plain moves, each stamped `now`.
    """
    dates = rows[["email", *STAGE_DATE_COLUMNS.values()]]
    dated = dates[list(STAGE_DATE_COLUMNS.values())].notna().any(axis=1)
    wanted = plan.stages[
        plan.stages["moved"].astype(bool)
        | plan.stages["email"].isin(dates.loc[dated, "email"]).to_numpy()
    ]
    if wanted.empty:
        return 0, {}
    ids = read_by_keys(conn, CONTACTS, key="email", keys=wanted["email"], columns=["email", "id"])
    contacts = wanted.merge(dates, on="email").merge(
        ids.rename(columns={"id": "contact_id"}), on="email"
    )
    has_dates = contacts[list(STAGE_DATE_COLUMNS.values())].notna().any(axis=1)
    recorded = read_recorded_stages(conn, [int(i) for i in contacts.loc[has_dates, "contact_id"]])
    history = plan_stage_history(contacts, recorded, now=now, source=source, labels=labels)
    notes = dict(history.notes)
    frame = history.rows.assign(rule="import", kind="import", run_id=run_id)
    keys = ["contact_id", "to_stage", "at"]
    from_file = frame["dated"].astype(bool)
    dated = insert_ignore(conn, STAGE_HISTORY, frame[from_file].drop(columns="dated"), keys=keys)
    stamped = insert_ignore(conn, STAGE_HISTORY, frame[~from_file].drop(columns="dated"), keys=keys)
    if dated:
        notes[DATED_NOTE] = dated
    return dated + stamped, notes
