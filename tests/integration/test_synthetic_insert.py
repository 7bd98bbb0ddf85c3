"""Bulk-loading a synthetic dataset into real SQLite and PostgreSQL databases."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from app.synthetic import (
    SyntheticDataset,
    add_hourly_activity,
    generate_dataset,
    insert_dataset,
    write_csv,
)
from models.tables import Company, Contact, Event, Owner

END = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def small() -> SyntheticDataset:
    return generate_dataset(contacts=300, events=6000, days=60, end=END, seed=5)


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_insert_dataset_loads_every_row(engine: Engine, small: SyntheticDataset) -> None:
    summary = insert_dataset(engine, small)
    assert summary.contacts == 300 and summary.events == 6000
    assert _count(engine, Owner) == len(small.owners)
    assert _count(engine, Company) == len(small.companies)
    assert _count(engine, Contact) == 300
    assert _count(engine, Event) == 6000


def test_loaded_rows_read_back_as_the_generated_values(
    engine: Engine, small: SyntheticDataset
) -> None:
    insert_dataset(engine, small)
    expected = small.contacts.iloc[17]
    with Session(engine) as session:
        contact = session.get(Contact, int(expected["id"]))
        assert contact is not None
        assert contact.email == expected["email"]
        assert contact.created_at == expected["created_at"].to_pydatetime()
        assert contact.updated_at == contact.created_at
        first = session.scalars(select(Event).order_by(Event.id).limit(1)).one()
    row = small.events.iloc[0]
    assert first.source_event_id == small.event_ids(0, 1)[0]
    assert first.contact_id == row["contact_id"]
    assert first.occurred_at == row["occurred_at"].to_pydatetime()
    assert first.ingested_at == first.occurred_at


def test_time_filters_in_sql_agree_with_the_generated_frame(
    engine: Engine, small: SyntheticDataset
) -> None:
    insert_dataset(engine, small)
    cutoff = END - timedelta(days=7, minutes=13)
    with engine.connect() as conn:
        in_sql = conn.execute(
            select(func.count()).select_from(Event).where(Event.occurred_at <= cutoff)
        ).scalar_one()
    assert in_sql == int((small.events["occurred_at"] <= pd.Timestamp(cutoff)).sum())


def test_one_import_instant_can_be_given_for_every_event(
    engine: Engine, small: SyntheticDataset
) -> None:
    insert_dataset(engine, small, ingested_at=END)
    with engine.connect() as conn:
        ingested = conn.execute(select(Event.ingested_at).distinct()).scalars().all()
    assert ingested == [END]


def test_rows_added_after_a_bulk_load_get_fresh_ids(
    engine: Engine, small: SyntheticDataset
) -> None:
    insert_dataset(engine, small)
    with Session(engine) as session:
        contact = Contact(email="new.lead@example.jp", created_at=END, updated_at=END)
        session.add(contact)
        session.flush()
        assert contact.id == 301
        session.rollback()


def test_a_large_load_keeps_every_index_and_foreign_key(engine: Engine) -> None:
    before = inspect(engine)
    indexes = {ix["name"] for ix in before.get_indexes("events")}
    keys = [fk["referred_table"] for fk in before.get_foreign_keys("events")]
    bigger = generate_dataset(contacts=1500, events=60_000, days=30, end=END, seed=9)
    insert_dataset(engine, bigger)
    after = inspect(engine)
    assert {ix["name"] for ix in after.get_indexes("events")} == indexes
    assert [fk["referred_table"] for fk in after.get_foreign_keys("events")] == keys
    assert _count(engine, Event) == 60_000


def test_an_hour_of_activity_touches_the_share_of_contacts_inside_that_hour(
    engine: Engine, small: SyntheticDataset
) -> None:
    insert_dataset(engine, small)
    at = END + timedelta(hours=1)
    added = add_hourly_activity(engine, share=0.1, at=at, seed=1)
    assert added.contacts == 30
    assert added.events >= 30
    with engine.connect() as conn:
        rows = conn.execute(
            select(Event.contact_id, Event.occurred_at, Event.ingested_at).where(
                Event.ingested_at == at
            )
        ).all()
    assert len(rows) == added.events
    assert len({row.contact_id for row in rows}) == 30
    assert all(at - timedelta(hours=1) < row.occurred_at <= at for row in rows)


def test_repeating_the_same_hour_adds_nothing(engine: Engine, small: SyntheticDataset) -> None:
    insert_dataset(engine, small)
    at = END + timedelta(hours=1)
    first = add_hourly_activity(engine, share=0.05, at=at, seed=1)
    again = add_hourly_activity(engine, share=0.05, at=at, seed=1)
    assert first.events > 0
    assert again.events == 0
    assert _count(engine, Event) == 6000 + first.events


def test_the_csv_files_import_through_the_importer_without_quarantine(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    from tasks.imports import import_file as import_csv

    dataset = generate_dataset(contacts=400, events=5000, days=30, end=END, seed=3)
    files = write_csv(tmp_path, dataset)
    for kind in ("owners", "companies", "contacts", "events"):
        summary = import_csv(
            sqlite_engine, kind=kind, path=files[kind], naive_tz=ZoneInfo("Asia/Tokyo"), now=END
        )
        assert summary.quarantined_rows == 0, kind
    assert _count(sqlite_engine, Contact) == 400
    assert _count(sqlite_engine, Event) == 5000
