"""Engine creation and schema migration (Alembic) for the configured database."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import make_url

from leadflow.paths import MIGRATIONS_DIR
from leadflow.pg_copy import copy_insert_ignoring


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the tracking endpoint read while a flow writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _json_dumps(value: Any) -> str:
    # orjson: score breakdowns are serialised 100k at a time on a full run.
    return orjson.dumps(value).decode()


def create_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file URL (e.g. the default `.leadflow/`); else nothing.

    SQLite creates a missing file but not a missing folder ("unable to open database file").
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if parsed.database.startswith("file:"):
        return  # a URI filename (`?uri=true`): its path is the caller's business
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets its parent folder created and sensible pragmas."""
    parsed = make_url(url)
    create_sqlite_folder(url)
    engine = create_engine(url, future=True, json_serializer=_json_dumps)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """A cached engine per URL, so one process reuses its connection pool."""
    return make_engine(url)


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the project's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (default: the newest); creates a SQLite file's folder."""
    create_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


_migrated: set[str] = set()


def ensure_database(url: str) -> Engine:
    """Migrate the database at `url` to the newest schema (once per process); return its engine."""
    if url not in _migrated:
        upgrade(url)
        _migrated.add(url)
    return engine_for(url)


# From this many rows on, PostgreSQL inserts go through COPY (`leadflow.pg_copy`): below
# it, one multi-row INSERT costs less than creating a staging table.
COPY_MIN_ROWS = 200


def insert_ignoring_conflicts(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
    keys: Sequence[str] | None,
    chunk_size: int = 5000, count: bool = True, constants: Mapping[str, Any] | None = None,
) -> int:
    """Insert rows, skipping those whose natural key `keys` already exists.

    `keys=None` skips rows that conflict with any unique index (needed when the natural
    key is an expression index, e.g. on coalesce(step, '')). Returns how many rows were
    added; with `count=False` it skips the RETURNING clause (much faster for large
    batches) and returns -1: count some other way. `constants` are values shared by
    every row, bound once instead of once per row.
    """
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        added = copy_insert_ignoring(conn, table, rows, keys=keys, constants=constants)
        return added if count else -1
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(table).on_conflict_do_nothing(
            index_elements=list(keys) if keys is not None else None
        )
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).on_conflict_do_nothing(
            index_elements=list(keys) if keys is not None else None
        )
    else:
        raise NotImplementedError(f"insert-ignore is not implemented for {dialect}")
    if constants:
        statement = statement.values(
            {name: bindparam(f"const_{name}", value, type_=table.c[name].type)
             for name, value in constants.items()}
        )
    if not count:
        for start in range(0, len(rows), chunk_size):
            conn.execute(statement, list(rows[start : start + chunk_size]))
        return -1
    # RETURNING counts what really landed: executemany rowcounts are unreliable across drivers.
    statement = statement.returning(*table.primary_key.columns)
    added = 0
    for start in range(0, len(rows), chunk_size):
        result = conn.execute(statement, list(rows[start : start + chunk_size]))
        added += len(result.all())
    return added


def _id_list_type(dialect: str) -> Any:
    return ARRAY(Integer) if dialect == "postgresql" else Text()


def _in_id_list(column: Any, parameter: Any, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return cast(ColumnElement[bool], column == any_(parameter))
    listed = func.json_each(parameter).table_valued("value")
    return cast(ColumnElement[bool], column.in_(select(listed.c.value)))


def id_list_match(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """`column` is one of the ids bound to the parameter `name` as ONE value
    (`id_list_value`): a PostgreSQL integer array, a JSON array on SQLite.

    An `IN (…)` of thousands of ids costs psycopg ~30 µs of Python per parameter to
    rewrite, and SQLite caps the number of parameters; one array parameter costs neither.
    """
    return _in_id_list(column, bindparam(name, type_=_id_list_type(dialect)), dialect)


def id_list_value(ids: Iterable[int], dialect: str) -> list[int] | str:
    """The bound value of an `id_list_match` parameter for `ids` on `dialect`."""
    values = [int(i) for i in ids]
    return values if dialect == "postgresql" else orjson.dumps(values).decode()


def among(column: Any, ids: Sequence[int] | Select[Any], dialect: str) -> ColumnElement[bool]:
    """`column IN ids`: a subquery as it is, a list of ids as one bound value
    (`id_list_match`), however long."""
    if isinstance(ids, Select):
        return cast(ColumnElement[bool], column.in_(ids))
    value = bindparam(None, id_list_value(ids, dialect), type_=_id_list_type(dialect))
    return _in_id_list(column, value, dialect)


def in_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in slices of at most `size`: an `IN (…)` list must stay under the
    database's limit on bound parameters (SQLite: 32,766 by default)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
