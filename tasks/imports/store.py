"""Database side of `leadflow import`: frames ↔ rows, reads by key, bulk writes.

Insert-ignore goes through `leadflow.db.insert_ignoring_conflicts`, except for large
frames on PostgreSQL: one `INSERT … SELECT unnest(arrays)` per chunk keeps a 3M-event
file to a few parameters per statement. Quarantine records are written by
`tasks.quarantine.store_quarantine`, the one writer of that table.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from leadflow.db import in_chunks, insert_ignoring_conflicts
from tasks.imports.columns import printable
from tasks.quarantine import store_quarantine
from tasks.validation import QuarantineRecord

WRITE_CHUNK = 10_000
ARRAY_CHUNK = 50_000
KEY_CHUNK = 2_000
SOURCE_LIMIT, FIELD_LIMIT = 500, 120  # the quarantine table's column lengths


def _python(value: Any, kind: type | None) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if kind is Integer:
        return int(value)
    if kind is Float:
        return float(value)
    if kind is Boolean:
        return bool(value)
    if kind is String:
        return str(value)
    return value.item() if hasattr(value, "item") else value


def _column_kind(table: Table, column: str) -> type | None:
    if column not in table.c:
        return None
    sql_type = table.c[column].type
    for kind in (Boolean, Integer, Float, String):
        if isinstance(sql_type, kind):
            return kind
    return None


def _values(series: pd.Series, kind: type | None) -> list[Any]:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        present = series.notna().to_numpy()
        times = series.dt.to_pydatetime()
        return [t if ok else None for t, ok in zip(times, present, strict=True)]
    if (
        series.dtype.kind in "iub"
        or isinstance(series.dtype, pd.StringDtype)
        or (str(series.dtype) in ("Int64", "boolean", "str"))
    ):
        return series.astype(object).where(series.notna(), None).tolist()
    return [_python(v, kind) for v in series.tolist()]


def frame_records(
    frame: pd.DataFrame, table: Table, *, names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Rows as plain Python dicts for executemany; `names` renames keys (for bind params)."""
    names = names or {}
    columns = list(frame.columns)
    values = [_values(frame[c], _column_kind(table, c)) for c in columns]
    keys = [names.get(c, c) for c in columns]
    return [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]


def read_by_keys(
    conn: Connection, table: Table, *, key: str, keys: Iterable[Any], columns: Sequence[str]
) -> pd.DataFrame:
    """Stored rows whose `key` is in `keys`, as a frame of `columns`."""
    wanted = sorted({k for k in keys if isinstance(k, str) and k})
    rows: list[Any] = []
    statement = select(*(table.c[c] for c in columns))
    for part in in_chunks(wanted, KEY_CHUNK):
        rows.extend(conn.execute(statement.where(table.c[key].in_(part))).all())
    return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))


def _pg_insert_arrays(
    conn: Connection, table: Table, frame: pd.DataFrame, *, keys: Sequence[str] | None
) -> int:
    """One INSERT … SELECT unnest(arrays) per chunk: a handful of parameters, not one per
    cell, so neither SQLAlchemy nor psycopg parses a statement with thousands of them."""
    columns = list(frame.columns)
    arrays = [
        func.unnest(bindparam(f"a_{i}", type_=postgresql.ARRAY(table.c[column].type)))
        for i, column in enumerate(columns)
    ]
    statement: Any = postgresql.insert(table).from_select(columns, select(*arrays))
    if keys is not None:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    statement = statement.returning(table.c[columns[0]])
    added = 0
    for start in range(0, len(frame), ARRAY_CHUNK):
        part = frame.iloc[start : start + ARRAY_CHUNK]
        params = {
            f"a_{i}": _values(part[column], _column_kind(table, column))
            for i, column in enumerate(columns)
        }
        added += len(conn.execute(statement, params).all())
    return added


def insert_ignore(
    conn: Connection, table: Table, frame: pd.DataFrame, *, keys: Sequence[str]
) -> int:
    """INSERT … ON CONFLICT (keys) DO NOTHING; returns how many rows were new."""
    if frame.empty:
        return 0
    if conn.dialect.name == "postgresql":
        return _pg_insert_arrays(conn, table, frame, keys=keys)
    added = 0
    for start in range(0, len(frame), WRITE_CHUNK):
        records = frame_records(frame.iloc[start : start + WRITE_CHUNK], table)
        added += insert_ignoring_conflicts(conn, table, records, keys=keys)
    return added


def insert_rows(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Plain INSERT of every row, in chunks."""
    if frame.empty:
        return 0
    if conn.dialect.name == "postgresql":
        return _pg_insert_arrays(conn, table, frame, keys=None)
    for start in range(0, len(frame), WRITE_CHUNK):
        conn.execute(insert(table), frame_records(frame.iloc[start : start + WRITE_CHUNK], table))
    return len(frame)


def update_rows(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """UPDATE rows by `id` with the frame's other columns, executemany in chunks."""
    if frame.empty:
        return 0
    columns = [c for c in frame.columns if c != "id"]
    names = {c: f"v_{c}" for c in frame.columns}
    statement = (
        update(table)
        .where(table.c.id == bindparam("v_id"))
        .values({c: bindparam(names[c]) for c in columns})
    )
    for start in range(0, len(frame), WRITE_CHUNK):
        part = frame.iloc[start : start + WRITE_CHUNK]
        conn.execute(statement, frame_records(part, table, names=names))
    return len(frame)


def quarantine_records(quarantine: pd.DataFrame, *, source: str) -> list[QuarantineRecord]:
    """Quarantine frame rows → records fit for the table (lengths, no NUL or bad bytes)."""
    frame = quarantine.drop_duplicates(["row_number", "field", "reason"])
    shown = printable(source)[:SOURCE_LIMIT]
    return [
        QuarantineRecord(
            source=shown,
            row_number=int(row),
            field=printable(str(fld))[:FIELD_LIMIT],
            value=None if value is None or pd.isna(value) else printable(str(value)),
            reason=printable(str(reason)),
        )
        for row, fld, value, reason in zip(
            frame["row_number"], frame["field"], frame["value"], frame["reason"], strict=True
        )
    ]


def write_quarantine(
    conn: Connection, quarantine: pd.DataFrame, *, source: str, run_id: str, now: datetime
) -> list[QuarantineRecord]:
    """Store a chunk's quarantine records; returns them (sorted by row) for the report."""
    records = quarantine_records(quarantine, source=source)
    records.sort(key=lambda r: (r.row_number, r.field or ""))
    store_quarantine(conn, records, run_id=run_id, now=now)
    return records
