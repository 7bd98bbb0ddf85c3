"""Bulk insert-ignore for the append-only ledgers (events, activities), millions of rows.

SQLite: one executemany of plain tuples (`INSERT … ON CONFLICT (key) DO NOTHING`) per
chunk, with timestamps already in the text form `UTCDateTime` stores, so no per-row
SQLAlchemy type processing. PostgreSQL: the chunk is COPYed (text format, built column
by column) into a temporary staging table, then `INSERT … SELECT … ON CONFLICT (key) DO
NOTHING` moves it in one statement: the database finds the ids it already has by index.
Both run inside the import's transaction and return how many rows were new.

A bulk load (`secondary_indexes_rebuilt`) drops the table's non-unique indexes inside the
import's transaction and creates them again, from their own stored definitions, right
before it commits: one sort per index instead of a random B-tree insert per row and
index. The unique key the insert-ignore needs stays. On PostgreSQL the table's foreign
keys go the same way: adding one back checks every row in one join, where keeping it
checks each new row by its own lookup (about 40 % of a bulk insert's time).
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, func, select, text

# SQLite page cache of the import's connection while a ledger imports (KiB; the default
# is 2 MiB): rows land in six B-trees at random places, and a miss costs a page read.
SQLITE_CACHE_KIB = 256 * 1024
# A ledger import of at least this many rows, and at least as many as the table already
# holds, rebuilds the table's secondary indexes once instead of updating them row by row.
BULK_LOAD_MIN_ROWS = 100_000
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
        # An interrupted import (Ctrl-C) leaves SQLAlchemy to close this connection: then
        # there is nothing to restore, and an error here would hide the interruption.
        with suppress(sqlite3.ProgrammingError):
            raw.execute(f"PRAGMA cache_size = {int(before)}")


def is_bulk_load(incoming: int, existing: int, *, min_rows: int = BULK_LOAD_MIN_ROWS) -> bool:
    """Is an import of `incoming` rows into a table of about `existing` rows a bulk load?

    Rebuilding an index sorts every row, old and new; updating it costs a random B-tree
    insert per new row, a few times a sorted row's cost. How many rows are new is known
    only afterwards (a file imported again adds none), so rebuild only when the import
    is big on its own and at least twice the table: a first load, a long history file.
    """
    return incoming >= min_rows and incoming >= 2 * existing


def secondary_indexes(conn: Connection, table: Table) -> list[tuple[str, str]]:
    """The table's non-unique indexes as (name, the statement that creates it), read from
    the database itself (so a rebuild restores exactly what the migrations made)."""
    if conn.dialect.name == "postgresql":
        query = text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = :table AND indexdef NOT LIKE 'CREATE UNIQUE %' ORDER BY indexname"
        )
    else:
        # Indexes behind UNIQUE and PRIMARY KEY constraints have no statement (sql NULL).
        query = text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE %' ORDER BY name"
        )
    return [(str(name), str(ddl)) for name, ddl in conn.execute(query, {"table": table.name})]


def foreign_keys(conn: Connection, table: Table) -> list[tuple[str, str]]:
    """PostgreSQL: the table's foreign keys as (name, definition), read from the database
    itself. SQLite cannot drop a constraint, and checks one by the parent's key anyway."""
    if conn.dialect.name != "postgresql":
        return []
    query = text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:table AS regclass) AND contype = 'f' ORDER BY conname"
    )
    return [(str(name), str(ddl)) for name, ddl in conn.execute(query, {"table": table.name})]


def approximate_rows(conn: Connection, table: Table) -> int:
    """About how many rows `table` holds: its largest id (read from the primary key's
    index, so free even at 30M rows; deleted rows only make it larger)."""
    return int(conn.execute(select(func.max(table.c.id))).scalar() or 0)


def _begin_now(conn: Connection) -> None:
    # pysqlite opens its transaction only before INSERT, UPDATE or DELETE: a DROP INDEX
    # ahead of those would commit on its own and outlive a rollback.
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    if not raw.in_transaction:
        raw.execute("BEGIN")


@contextmanager
def secondary_indexes_rebuilt(
    conn: Connection, table: Table, *, bulk: bool
) -> Iterator[list[str]]:
    """Within the caller's transaction: when `bulk`, drop `table`'s non-unique indexes (and
    on PostgreSQL its foreign keys) now and create them again when the block ends normally;
    yields the index names rebuilt (empty when not `bulk`). Adding a foreign key back checks
    every row, so a row the block landed without its parent fails the import as a whole.
    After an error nothing is created: rolling the transaction back brings the indexes and
    keys back, as it takes the rows away.

    On PostgreSQL this locks the table, and the tables its keys point at against writes,
    until commit: readers of the table (the hourly cycle's scoring) and writers of contacts
    wait for the import to finish.
    """
    if not bulk:
        yield []
        return
    _begin_now(conn)
    found = secondary_indexes(conn, table)
    keys = foreign_keys(conn, table)
    quote = conn.dialect.identifier_preparer.quote
    # Unqualified names: found in the current schema, the first on the search path.
    for name, _ in keys:
        conn.exec_driver_sql(f"ALTER TABLE {quote(table.name)} DROP CONSTRAINT {quote(name)}")
    for name, _ in found:
        conn.exec_driver_sql(f"DROP INDEX {quote(name)}")
    yield [name for name, _ in found]
    for _, ddl in found:
        conn.exec_driver_sql(ddl)
    for name, ddl in keys:
        conn.exec_driver_sql(f"ALTER TABLE {quote(table.name)} ADD CONSTRAINT {quote(name)} {ddl}")
