"""The one writer of the quarantine table: rejected rows with their source, field and reason."""

from datetime import datetime

from sqlalchemy import Connection

from leadflow.db import insert_ignoring_conflicts
from models.tables import Quarantine
from tasks.validation import QuarantineRecord


def store_quarantine(
    conn: Connection, records: list[QuarantineRecord], *, run_id: str | None, now: datetime
) -> int:
    """Write quarantine records stamped `now`; the same row, field and reason is stored once."""
    rows = [
        {
            "source": r.source,
            "row_number": r.row_number,
            "field": r.field,
            "value": r.value,
            "reason": r.reason,
            "run_id": run_id,
            "created_at": now,
        }
        for r in records
    ]
    return insert_ignoring_conflicts(
        conn,
        Quarantine.__table__,  # type: ignore[arg-type]
        rows,
        keys=["source", "row_number", "field", "reason"],
    )
