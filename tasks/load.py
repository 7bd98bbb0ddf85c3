"""Apply beat of `leadflow import`: read what the database holds, write the decisions.

`import_csv` wires one import together: read the file (in chunks for the ledgers),
validate and decide with the pure functions of `tasks.importing`, then write inserts,
updates and quarantine rows in bulk, in one transaction. Ledger rows (events,
activities) and quarantine rows use the dialect's `INSERT … ON CONFLICT DO NOTHING`, so
importing the same file twice adds nothing. SQLite gets Core executemany in chunks;
PostgreSQL gets one `INSERT … SELECT unnest(arrays)` per chunk, which keeps a
3M-event file to a few parameters per statement.
"""

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
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
from sqlalchemy.dialects import postgresql, sqlite

from models.enums import Stage
from models.tables import Activity, Company, Contact, Deal, Event, Owner, Quarantine, StageHistory
from tasks.importing import (
    COMPANY_COLUMNS,
    CONTACT_COLUMNS,
    DEAL_COLUMNS,
    OWNER_COLUMNS,
    ImportKind,
    ImportSummary,
    Prepared,
    contact_company_domains,
    decide_activities,
    decide_companies,
    decide_contacts,
    decide_deals,
    decide_events,
    decide_missing_companies,
    decide_owners,
    iter_csv_chunks,
    layout_for,
    prepare_rows,
    quarantine_frame,
    read_header,
    reason_lines,
    unknown_stages,
)

WRITE_CHUNK = 10_000
ARRAY_CHUNK = 50_000
KEY_CHUNK = 2_000
# Ledgers can be millions of rows: they stream through in chunks of this many records.
LEDGER_CHUNK = 200_000


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


OWNERS, COMPANIES, CONTACTS = _table(Owner), _table(Company), _table(Contact)
EVENTS, ACTIVITIES, DEALS = _table(Event), _table(Activity), _table(Deal)
QUARANTINE, STAGE_HISTORY = _table(Quarantine), _table(StageHistory)


# ---------------------------------------------------------------------------------------
# Frames ↔ rows
# ---------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read_by_keys(
    conn: Connection, table: Table, *, key: str, keys: Iterable[Any], columns: Sequence[str]
) -> pd.DataFrame:
    """Stored rows whose `key` is in `keys`, as a frame of `columns`."""
    wanted = sorted({k for k in keys if isinstance(k, str) and k})
    rows: list[Any] = []
    statement = select(*(table.c[c] for c in columns))
    for part in _chunks(wanted, KEY_CHUNK):
        rows.extend(conn.execute(statement.where(table.c[key].in_(part))).all())
    return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))


def read_owners(conn: Connection) -> pd.DataFrame:
    """Every owner's id, email and name (few enough to hold in memory)."""
    rows = conn.execute(select(OWNERS.c.id, OWNERS.c.email, OWNERS.c.name)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["id", "email", "name"])


def read_contact_ids(conn: Connection, emails: Iterable[str]) -> dict[str, int]:
    """email → contact id for the given emails."""
    frame = read_by_keys(conn, CONTACTS, key="email", keys=emails, columns=["email", "id"])
    return dict(zip(frame["email"], (int(i) for i in frame["id"]), strict=True))


# ---------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------


def _dialect_insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"insert-ignore is not implemented for {conn.dialect.name}")


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
    """INSERT … ON CONFLICT (keys) DO NOTHING in chunks; returns how many rows were new."""
    if frame.empty:
        return 0
    if conn.dialect.name == "postgresql":
        return _pg_insert_arrays(conn, table, frame, keys=keys)
    # sqlite3's executemany sums rowcount over the rows it inserted.
    statement = _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=list(keys))
    added = 0
    for start in range(0, len(frame), WRITE_CHUNK):
        records = frame_records(frame.iloc[start : start + WRITE_CHUNK], table)
        added += conn.execute(statement, records).rowcount
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


def store_quarantine(
    conn: Connection, quarantine: pd.DataFrame, *, source: str, run_id: str, now: datetime
) -> int:
    """Write quarantine records; the same (source, row, field, reason) is stored once."""
    if quarantine.empty:
        return 0
    frame = pd.DataFrame(
        {
            "source": source[:500],
            "row_number": quarantine["row_number"].astype("int64").to_numpy(),
            "field": quarantine["field"].astype(str).str.slice(0, 120).to_numpy(),
            "value": [None if pd.isna(v) else str(v) for v in quarantine["value"]],
            "reason": quarantine["reason"].astype(str).to_numpy(),
        }
    ).drop_duplicates(["row_number", "field", "reason"])
    frame["run_id"] = run_id
    frame["created_at"] = now
    return insert_ignore(conn, QUARANTINE, frame, keys=["source", "row_number", "field", "reason"])


# ---------------------------------------------------------------------------------------
# Per-kind apply
# ---------------------------------------------------------------------------------------


class _Context:
    """What every apply step needs: the connection, the clock reading and the tally."""

    def __init__(
        self, conn: Connection, *, now: datetime, summary: ImportSummary, run_id: str
    ) -> None:
        self.conn = conn
        self.now = now
        self.summary = summary
        self.run_id = run_id

    def count(self, *, inserted: int = 0, updated: int = 0, unchanged: int = 0) -> None:
        self.summary.inserted += inserted
        self.summary.updated += updated
        self.summary.unchanged += unchanged


def _apply_owners(ctx: _Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    stored = read_by_keys(
        ctx.conn, OWNERS, key="email", keys=rows["email"], columns=["id", "email", *OWNER_COLUMNS]
    )
    plan = decide_owners(rows, stored, now=ctx.now)
    ctx.count(
        inserted=insert_rows(ctx.conn, OWNERS, plan.inserts),
        updated=update_rows(ctx.conn, OWNERS, plan.updates.drop(columns=["email"])),
        unchanged=plan.unchanged,
    )
    return plan.quarantine


def _touch_contacts_of(ctx: _Context, company_ids: list[int]) -> int:
    touched = 0
    for part in _chunks(company_ids, KEY_CHUNK):
        result = ctx.conn.execute(
            update(CONTACTS).where(CONTACTS.c.company_id.in_(part)).values(updated_at=ctx.now)
        )
        touched += max(result.rowcount, 0)
    return touched


def _apply_companies(ctx: _Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    stored = read_by_keys(
        ctx.conn,
        COMPANIES,
        key="domain",
        keys=rows["domain"],
        columns=["id", "domain", *COMPANY_COLUMNS],
    )
    plan, rescore = decide_companies(rows, stored, now=ctx.now)
    ctx.count(
        inserted=insert_rows(ctx.conn, COMPANIES, plan.inserts),
        updated=update_rows(ctx.conn, COMPANIES, plan.updates.drop(columns=["domain"])),
        unchanged=plan.unchanged,
    )
    ctx.summary.rescored_contacts += _touch_contacts_of(ctx, rescore)
    return plan.quarantine


def _ensure_companies(ctx: _Context, wanted: pd.DataFrame) -> pd.DataFrame:
    """Create companies for domains nobody has yet; return id and domain of all wanted."""
    domains = wanted["domain"].dropna().unique().tolist()
    stored = read_by_keys(ctx.conn, COMPANIES, key="domain", keys=domains, columns=["id", "domain"])
    new = decide_missing_companies(wanted, stored["domain"], now=ctx.now)
    if new.empty:
        return stored
    ctx.summary.companies_created += insert_ignore(ctx.conn, COMPANIES, new, keys=["domain"])
    return read_by_keys(ctx.conn, COMPANIES, key="domain", keys=domains, columns=["id", "domain"])


def _apply_contacts(ctx: _Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    wanted = pd.DataFrame({"domain": contact_company_domains(rows), "name": rows["company_name"]})
    companies = _ensure_companies(ctx, wanted)
    stored = read_by_keys(
        ctx.conn,
        CONTACTS,
        key="email",
        keys=rows["email"],
        columns=["id", "email", *CONTACT_COLUMNS, "lifecycle_stage", "updated_at"],
    )
    plan = decide_contacts(
        rows, stored, companies=companies, owners=read_owners(ctx.conn), now=ctx.now
    )
    ctx.count(
        inserted=insert_rows(ctx.conn, CONTACTS, plan.inserts),
        updated=update_rows(ctx.conn, CONTACTS, plan.updates.drop(columns=["email"])),
        unchanged=plan.unchanged,
    )
    if not plan.stage_moves.empty:
        history = plan.stage_moves.assign(
            at=ctx.now,
            rule="import",
            kind="import",
            reason=f"imported from {ctx.summary.source}",
            run_id=ctx.run_id,
        )
        ctx.summary.stage_moves += insert_ignore(
            ctx.conn, STAGE_HISTORY, history, keys=["contact_id", "to_stage", "at"]
        )
    ctx.summary.notes.update(plan.notes)
    return plan.quarantine


def _apply_events(ctx: _Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    contact_ids = read_contact_ids(ctx.conn, rows["email"].unique().tolist())
    plan = decide_events(rows, contact_ids, now=ctx.now)
    added = insert_ignore(ctx.conn, EVENTS, plan.inserts, keys=["source_event_id"])
    ctx.count(inserted=added, unchanged=len(plan.inserts) - added)
    return plan.quarantine


def _apply_activities(ctx: _Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    contact_ids = read_contact_ids(ctx.conn, rows["email"].unique().tolist())
    plan = decide_activities(rows, contact_ids, owners=read_owners(ctx.conn), now=ctx.now)
    added = insert_ignore(ctx.conn, ACTIVITIES, plan.inserts, keys=["source_activity_id"])
    ctx.count(inserted=added, unchanged=len(plan.inserts) - added)
    ctx.summary.notes.update(plan.notes)
    return plan.quarantine


def _apply_deals(ctx: _Context, prepared: Prepared, *, contact_label: str) -> pd.DataFrame:
    rows = prepared.rows
    contacts = read_by_keys(
        ctx.conn,
        CONTACTS,
        key="email",
        keys=rows["contact_email"],
        columns=["email", "id", "company_id"],
    )
    wanted = pd.DataFrame({"domain": rows["company_domain"], "name": None})
    companies = _ensure_companies(ctx, wanted)
    stored = read_by_keys(
        ctx.conn,
        DEALS,
        key="source_deal_id",
        keys=rows["deal_id"],
        columns=["id", "source_deal_id", *DEAL_COLUMNS],
    ).rename(columns={"source_deal_id": "deal_id"})
    plan = decide_deals(
        rows,
        stored,
        companies=companies,
        contacts=contacts,
        now=ctx.now,
        contact_label=contact_label,
    )
    ctx.count(
        inserted=insert_rows(ctx.conn, DEALS, plan.inserts),
        updated=update_rows(ctx.conn, DEALS, plan.updates.drop(columns=["source_deal_id"])),
        unchanged=plan.unchanged,
    )
    return plan.quarantine


# ---------------------------------------------------------------------------------------
# One import
# ---------------------------------------------------------------------------------------


def import_csv(
    engine: Engine,
    *,
    kind: ImportKind,
    path: str | Path,
    naive_tz: tzinfo,
    now: datetime,
    stage_map: Mapping[str, Stage] | None = None,
    max_bad_row_share: float = 1.0,
    dry_run: bool = False,
    source: str | None = None,
    reason_limit: int = 10,
    chunk_rows: int | None = None,
) -> ImportSummary:
    """Import one CSV file of `kind`; returns what landed and what was quarantined.

    `now` is the import's wall-clock instant (ingested_at, updated_at, quarantine time);
    naive timestamps in the file are read in `naive_tz`. Everything is written in one
    transaction, rolled back when `dry_run`. Raises ImportFileError for a missing file
    or a missing required column; bad rows never raise, they are quarantined.
    """
    shown = source or str(path)
    layout = layout_for(read_header(path, source=shown), kind=kind, source=shown)
    summary = ImportSummary(
        kind=kind,
        source=shown,
        max_bad_row_share=max_bad_row_share,
        dry_run=dry_run,
        hubspot=layout.hubspot,
    )
    ledger = kind in ("events", "activities")
    apply: Callable[[_Context, Prepared], pd.DataFrame] = {
        "owners": _apply_owners,
        "companies": _apply_companies,
        "contacts": _apply_contacts,
        "events": _apply_events,
        "activities": _apply_activities,
        "deals": lambda c, p: _apply_deals(c, p, contact_label=layout.label("contact_email")),
    }[kind]
    bad_rows: set[int] = set()
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            ctx = _Context(conn, now=now, summary=summary, run_id=str(uuid.uuid4()))
            chunks = iter_csv_chunks(
                path, layout=layout, chunk_rows=(chunk_rows or LEDGER_CHUNK) if ledger else None
            )
            for chunk in chunks:
                prepared = prepare_rows(
                    chunk, layout=layout, naive_tz=naive_tz, stage_map=stage_map or {}
                )
                found = apply(ctx, prepared)
                parts = [q for q in (prepared.quarantine, found) if not q.empty]
                quarantine = pd.concat(parts, ignore_index=True) if parts else quarantine_frame()
                store_quarantine(conn, quarantine, source=shown, run_id=ctx.run_id, now=now)
                summary.rows += prepared.total
                summary.notes.update(prepared.notes)
                summary.unknown_stages.update(unknown_stages(quarantine))
                bad_rows.update(int(r) for r in quarantine["row_number"])
                summary.quarantine_records += len(quarantine)
                room = reason_limit - len(summary.reasons)
                if room > 0 and not quarantine.empty:
                    summary.reasons.extend(reason_lines(quarantine, source=shown, limit=room))
            summary.quarantined_rows = len(bad_rows)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return summary
