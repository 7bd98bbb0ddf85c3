"""Bulk insert-ignore for the append-only ledgers (events, activities), millions of rows.

SQLite: one executemany of plain tuples (`INSERT … ON CONFLICT (key) DO NOTHING`) per
chunk, with timestamps already in the text form `UTCDateTime` stores, so no per-row
SQLAlchemy type processing. PostgreSQL: the chunk is COPYed (text format, built column
by column) into a temporary staging table, then `INSERT … SELECT … ON CONFLICT (key) DO
NOTHING` moves it in one statement: the database finds the ids it already has by index.
Both run inside the import's transaction and return how many rows were new.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table

# SQLite page cache of the import's connection while a ledger imports (KiB; the default
# is 2 MiB): rows land in six B-trees at random places, and a miss costs a page read.
SQLITE_CACHE_KIB = 256 * 1024
COPY_BLOCK = 50_000  # rows per copy.write call: bounds the payload held at once
_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_NEEDS_ESCAPE = r"[\\\t\n\r]"


def _utc_text(values: pd.Series, *, sqlite: bool) -> np.ndarray:
    """Aware datetimes → UTC text: SQLite's `YYYY-MM-DD HH:MM:SS.ffffff` (what
    `UTCDateTime` writes, compared as text in SQL) or PostgreSQL's ISO form with +00."""
    utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    text = np.datetime_as_string(utc, unit="us").astype(object)
    text = np.array([t.replace("T", " ") for t in text], dtype=object) if sqlite else text + "+00"
    text[np.isnat(utc)] = None
    return text


def _python_column(values: pd.Series, *, sqlite: bool) -> list[Any]:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return list(_utc_text(values, sqlite=sqlite))
    if values.dtype.kind in "iu" and not values.hasnans:
        return values.tolist()
    return values.astype(object).where(values.notna(), None).tolist()


def _sqlite_insert(conn: Connection, table: Table, frame: pd.DataFrame, key: str) -> int:
    names = list(frame.columns)
    statement = (
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
        f"ON CONFLICT ({key}) DO NOTHING"
    )
    columns = [_python_column(frame[c], sqlite=True) for c in names]
    raw = conn.connection.driver_connection
    assert raw is not None
    before = raw.total_changes
    conn.exec_driver_sql(statement, list(zip(*columns, strict=True)))
    # total_changes counts rows really written: conflicting rows are not among them.
    return int(raw.total_changes - before)


def _copy_text(values: pd.Series) -> pd.Series:
    """One column in COPY's text format: escaped, `\\N` for missing."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        text = pd.Series(_utc_text(values, sqlite=False), index=values.index, dtype=object)
    elif values.dtype.kind in "iu" and not values.hasnans:
        return values.astype(str).astype(object)
    else:
        text = values.astype(object)
    present = text.notna()
    strings = text[present].astype(str)
    # One search over the joined column: most columns need no escape at all.
    joined = "".join(strings.tolist())
    if any(char in joined for char in _COPY_ESCAPES):
        dirty = strings.str.contains(_NEEDS_ESCAPE, regex=True)
        strings[dirty] = strings[dirty].str.replace(
            _NEEDS_ESCAPE, lambda m: _COPY_ESCAPES[m.group(0)], regex=True
        )
    out = pd.Series("\\N", index=values.index, dtype=object)
    out[present] = strings
    return out


def _postgres_insert(conn: Connection, table: Table, frame: pd.DataFrame, key: str) -> int:
    names = list(frame.columns)
    stage = f"import_stage_{table.name}"
    columns = ", ".join(f"{n} {table.c[n].type.compile(conn.dialect)}" for n in names)
    listed = ", ".join(names)
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({columns}) ON COMMIT DROP")
    conn.exec_driver_sql(f"TRUNCATE {stage}")
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        for start in range(0, len(frame), COPY_BLOCK):
            part = frame.iloc[start : start + COPY_BLOCK]
            cells = [_copy_text(part[n]).tolist() for n in names]
            payload = "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n"
            with cursor.copy(f"COPY {stage} ({listed}) FROM STDIN") as copy:
                copy.write(payload.encode("utf-8"))
    result = conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM {stage} "
        f"ON CONFLICT ({key}) DO NOTHING"
    )
    return int(result.rowcount)


def insert_ledger(conn: Connection, table: Table, frame: pd.DataFrame, *, key: str) -> int:
    """Insert the frame's rows into `table`, skipping keys it already holds; returns how
    many were new. Columns are named as the table's; datetimes must be aware."""
    if frame.empty:
        return 0
    if conn.dialect.name == "postgresql":
        return _postgres_insert(conn, table, frame, key)
    return _sqlite_insert(conn, table, frame, key)


@contextmanager
def ledger_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a larger page cache for this connection while a ledger imports; the
    connection's own size is back afterwards (it returns to the pool)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection: a PRAGMA through SQLAlchemy would begin its transaction.
    raw = conn.connection.driver_connection
    assert raw is not None
    (before,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(before)}")
