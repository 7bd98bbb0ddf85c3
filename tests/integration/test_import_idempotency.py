"""Importing the same files twice adds nothing, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, func, select

from models.tables import Activity, Company, Contact, Deal, Event, Owner, Quarantine, StageHistory
from tasks.imports import ImportKind, ImportSummary, import_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
TOKYO = ZoneInfo("Asia/Tokyo")
FIRST = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)

ALL_FILES: list[tuple[ImportKind, str]] = [
    ("owners", "owners.csv"),
    ("companies", "companies.csv"),
    ("contacts", "contacts.csv"),
    ("contacts", "hubspot_contacts.csv"),
    ("events", "events.csv"),
    ("events", "events_malformed.csv"),
    ("activities", "activities.csv"),
    ("deals", "deals.csv"),
]
TABLES = [Owner, Company, Contact, Event, Activity, Deal, Quarantine, StageHistory]


def run(engine: Engine, kind: ImportKind, name: str, *, now: datetime) -> ImportSummary:
    return import_file(
        engine,
        kind=kind,
        path=FIXTURES / name,
        source=name,
        naive_tz=TOKYO,
        now=now,
        max_bad_row_share=0.2,
    )


def snapshot(engine: Engine) -> dict[str, list[Any]]:
    tables: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        for model in TABLES:
            table = model.__table__
            assert isinstance(table, Table)
            rows = conn.execute(select(table).order_by(table.c.id)).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables


def test_importing_each_file_twice_adds_and_changes_nothing_the_second_time(
    engine: Engine,
) -> None:
    later = FIRST + timedelta(hours=5)
    for kind, name in ALL_FILES:
        first = run(engine, kind, name, now=FIRST)
        before = snapshot(engine)
        again = run(engine, kind, name, now=later)

        assert first.inserted > 0, name
        assert (again.inserted, again.updated, again.companies_created, again.stage_moves) == (
            0,
            0,
            0,
            0,
        ), name
        assert again.unchanged == first.inserted + first.updated + first.unchanged, name
        assert again.quarantined_rows == first.quarantined_rows, name
        # Same rows, same timestamps: no updated_at bumped, no ingested_at moved, no
        # quarantine row repeated.
        assert snapshot(engine) == before, name


def test_reimporting_a_bad_file_keeps_one_quarantine_row_per_problem(engine: Engine) -> None:
    run(engine, "owners", "owners.csv", now=FIRST)
    run(engine, "companies", "companies.csv", now=FIRST)
    run(engine, "contacts", "contacts.csv", now=FIRST)
    first = run(engine, "events", "events_malformed.csv", now=FIRST)
    second = run(engine, "events", "events_malformed.csv", now=FIRST + timedelta(hours=1))
    assert first.quarantined_rows == second.quarantined_rows == 7
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Quarantine)).scalar_one()
    assert stored == 7
