"""`leadflow export sla`: one row per SLA clock, times in the business time zone.

The issue's columns come first, in its order; `closed_at` (the cycle ended before the
clock was satisfied) is appended so a sheet built on the first eight keeps working.
"""

from datetime import tzinfo

import pandas as pd
from sqlalchemy import Connection, select

from models.tables import Contact, SlaClock
from tasks.export import neutralise_formulas

SLA_EXPORT_COLUMNS = [
    "email", "policy", "cycle", "started_at", "due_at", "satisfied_at", "breached_at", "level",
    "closed_at",
]
TIME_COLUMNS = ("started_at", "due_at", "satisfied_at", "breached_at", "closed_at")


def read_sla_export(conn: Connection) -> pd.DataFrame:
    """Every clock with its contact's email, ordered by email, cycle and policy."""
    rows = conn.execute(
        select(Contact.email, SlaClock.policy, SlaClock.cycle, SlaClock.started_at,
               SlaClock.due_at, SlaClock.satisfied_at, SlaClock.breached_at, SlaClock.level,
               SlaClock.closed_at)
        .join(Contact, Contact.id == SlaClock.contact_id)
        .order_by(Contact.email, SlaClock.cycle, SlaClock.policy)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=SLA_EXPORT_COLUMNS)


def write_sla_csv(frame: pd.DataFrame, path: str, *, tz: tzinfo) -> None:
    """Write the clocks as CSV: ISO 8601 with the business time zone's offset, empty cells
    for missing times, formula-like text neutralised, CRLF line ends (like `export contacts`)."""
    out = frame.copy()
    for column in TIME_COLUMNS:
        out[column] = [
            "" if value is None or pd.isna(value)
            else pd.Timestamp(value).tz_convert(tz).isoformat()
            for value in out[column]
        ]
    out["cycle"] = out["cycle"].astype("Int64")
    out["level"] = out["level"].astype("Int64")
    neutralise_formulas(out).to_csv(path, index=False, lineterminator="\r\n")
