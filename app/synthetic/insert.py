"""`insert_dataset`: bulk-load the frames straight into the tables."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, Engine, Table, func, inspect, select, text

from app.synthetic.dataset import InsertSummary, SyntheticDataset
from app.synthetic.events import _epoch_seconds
from models.tables import Company, Contact, Event, Owner

_INSERT_CHUNK = 200_000


def _db_times(seconds: npt.NDArray[np.int64], dialect: str) -> npt.NDArray[np.str_]:
    """UTC instants as the text each store takes without per-row Python conversion.

    On SQLite this must be byte-identical to what `UTCDateTime` writes, because SQL
    compares those values as strings.
    """
    text_ = np.datetime_as_string(seconds.astype("datetime64[s]").astype("datetime64[us]"))
    if dialect == "sqlite":
        return np.strings.replace(text_, "T", " ")
    return np.strings.add(text_, "+00")


def _nullable(values: pd.Series | npt.NDArray[Any]) -> list[Any]:
    """Python values with every missing marker (NaN, NA, NaT) turned into None."""
    series = pd.Series(values, copy=False).astype(object)
    return series.where(series.notna(), None).tolist()


class _Loader:
    """Writes column-wise rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def times(self, values: pd.Series) -> list[str]:
        """A datetime column in the store's text form."""
        return _db_times(_epoch_seconds(values), self.dialect).tolist()

    def write(self, table: Table, columns: dict[str, Sequence[Any]]) -> None:
        """Insert the rows formed by zipping `columns` (equal-length lists)."""
        names = list(columns)
        rows = zip(*columns.values(), strict=True)
        if self.dialect == "postgresql":
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join("?" for _ in names)
        self.conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})", list(rows)
        )


def _max_id(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def _drop_foreign_keys(conn: Connection, table: Table) -> list[str]:
    """Drop PostgreSQL foreign keys of `table`; returns the statements that restore them.

    Checking a key row by row costs more than the COPY itself; re-adding the constraint
    validates every row in one join. SQLite's checks are cheap, so it keeps its keys.
    """
    if conn.dialect.name != "postgresql":
        return []
    restore: list[str] = []
    for key in inspect(conn).get_foreign_keys(table.name):
        name = key["name"]
        columns = ", ".join(key["constrained_columns"])
        referred = ", ".join(key["referred_columns"])
        conn.execute(text(f'ALTER TABLE {table.name} DROP CONSTRAINT "{name}"'))
        restore.append(
            f'ALTER TABLE {table.name} ADD CONSTRAINT "{name}" FOREIGN KEY ({columns}) '
            f"REFERENCES {key['referred_table']} ({referred})"
        )
    return restore


def _fix_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """Explicit ids bypass PostgreSQL's sequences; move them past the loaded rows."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
            )
        )


def insert_dataset(
    engine: Engine, dataset: SyntheticDataset, *, ingested_at: datetime | None = None
) -> InsertSummary:
    """Bulk-insert a dataset into the tables, in one transaction.

    Ids continue after the rows already present (see the offsets in the summary).
    Events are ingested when they occurred, as if the pipeline had been running all
    along, unless `ingested_at` gives one import instant for all of them. Contacts'
    `updated_at` is their creation time: no scoring attribute changed since.
    """
    owners_t = Owner.__table__
    companies_t = Company.__table__
    contacts_t = Contact.__table__
    events_t = Event.__table__
    assert isinstance(owners_t, Table) and isinstance(companies_t, Table)
    assert isinstance(contacts_t, Table) and isinstance(events_t, Table)
    with engine.begin() as conn:
        load = _Loader(conn)
        if load.dialect == "sqlite":
            # The unique source-id index is kept up to date row by row: 64 MB of page
            # cache halves that cost without a large resident set.
            conn.exec_driver_sql("PRAGMA cache_size=-65536")
        owner_off = _max_id(conn, owners_t)
        company_off = _max_id(conn, companies_t)
        contact_off = _max_id(conn, contacts_t)

        owners = dataset.owners
        created = load.times(owners["created_at"])
        load.write(
            owners_t,
            {
                "id": (owners["id"] + owner_off).tolist(),
                "email": owners["email"].tolist(),
                "name": owners["name"].tolist(),
                "team": owners["team"].tolist(),
                "manager_email": _nullable(owners["manager_email"]),
                "slack_user_id": owners["slack_user_id"].tolist(),
                "active": owners["active"].tolist(),
                "weight": owners["weight"].tolist(),
                "created_at": created,
                "updated_at": created,
            },
        )
        companies = dataset.companies
        created = load.times(companies["created_at"])
        load.write(
            companies_t,
            {
                "id": (companies["id"] + company_off).tolist(),
                "domain": companies["domain"].tolist(),
                "name": companies["name"].tolist(),
                "industry": _nullable(companies["industry"]),
                "employee_count": _nullable(companies["employee_count"]),
                "region": _nullable(companies["region"]),
                "created_at": created,
                "updated_at": created,
            },
        )
        contacts = dataset.contacts
        created = load.times(contacts["created_at"])
        load.write(
            contacts_t,
            {
                "id": (contacts["id"] + contact_off).tolist(),
                "email": contacts["email"].tolist(),
                "first_name": _nullable(contacts["first_name"]),
                "last_name": _nullable(contacts["last_name"]),
                "company_id": (contacts["company_id"] + company_off).tolist(),
                "job_title": _nullable(contacts["job_title"]),
                "industry": _nullable(contacts["industry"]),
                "employee_count": _nullable(contacts["employee_count"]),
                "region": _nullable(contacts["region"]),
                "lead_source": _nullable(contacts["lead_source"]),
                "consent": contacts["consent"].tolist(),
                "timezone": _nullable(contacts["timezone"]),
                "lifecycle_stage": contacts["lifecycle_stage"].tolist(),
                "lead_status": _nullable(contacts["lead_status"]),
                "owner_id": _nullable(contacts["owner_id"] + owner_off),
                "created_at": created,
                "updated_at": created,
            },
        )
        del created

        events = dataset.events
        types = np.asarray(events["type"].cat.categories, dtype=object)
        details = np.asarray(events["detail"].cat.categories, dtype=object)
        fixed_ingest = (
            None if ingested_at is None else load.times(pd.Series([pd.Timestamp(ingested_at)]))[0]
        )
        existing = int(conn.execute(select(func.count()).select_from(events_t)).scalar_one())
        # Building an index once after the load is several times faster than keeping it
        # up to date row by row, unless the table already holds more than we add.
        rebuild = [ix for ix in events_t.indexes if len(events) > max(existing, 50_000)]
        for index in rebuild:
            index.drop(conn)
        foreign_keys = _drop_foreign_keys(conn, events_t) if rebuild else []
        for start in range(0, len(events), _INSERT_CHUNK):
            chunk = events.iloc[start : start + _INSERT_CHUNK]
            occurred = load.times(chunk["occurred_at"])
            load.write(
                events_t,
                {
                    "source_event_id": dataset.event_ids(start, start + len(chunk)),
                    "contact_id": (chunk["contact_id"].to_numpy(np.int64) + contact_off).tolist(),
                    "type": types[chunk["type"].cat.codes.to_numpy()].tolist(),
                    "detail": details[chunk["detail"].cat.codes.to_numpy()].tolist(),
                    "occurred_at": occurred,
                    "ingested_at": [fixed_ingest] * len(chunk) if fixed_ingest else occurred,
                },
            )
        for index in rebuild:
            index.create(conn)
        for statement in foreign_keys:
            conn.execute(text(statement))
        _fix_sequences(conn, [owners_t, companies_t, contacts_t])
        if load.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default
    return InsertSummary(
        owners=len(dataset.owners),
        companies=len(dataset.companies),
        contacts=len(dataset.contacts),
        events=len(dataset.events),
        owner_id_offset=owner_off,
        company_id_offset=company_off,
        contact_id_offset=contact_off,
    )
