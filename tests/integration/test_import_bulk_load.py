"""A bulk events import rebuilds the table's secondary indexes once, inside its transaction.

An events file at least twice the table (and big on its own) drops the non-unique
indexes of `events` and creates them again right before commit. Whatever happens, the
table ends with exactly the indexes it had: after a commit, a dry run, or an import
stopped halfway (the rollback brings them back with the rows it takes away). On
PostgreSQL the foreign keys are dropped and added back the same way, and adding one back
still refuses a row without its contact.
"""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from tasks.imports import ImportSummary, import_file
from tasks.imports.ledger_store import foreign_keys, secondary_indexes, secondary_indexes_rebuilt
from tests.support.event_files import EMAILS, EVENTS, event_count, write_events
from tests.support.seeding import Seeder

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
# Small enough for a test, and the files below are at least this big.
BULK_MIN_ROWS = 200
EVENTS_INDEXES = [
    "ix_events_contact_occurred",
    "ix_events_contact_type_detail_occurred",
    "ix_events_ingested",
    "ix_events_occurred",
]


def run(engine: Engine, path: Path, **options: object) -> ImportSummary:
    return import_file(
        engine,
        kind="events",
        path=path,
        naive_tz=TOKYO,
        now=NOW,
        chunk_rows=100,
        **{"bulk_min_rows": BULK_MIN_ROWS, **options},  # type: ignore[arg-type]
    )


def indexes(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return secondary_indexes(conn, EVENTS)


def keys(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return foreign_keys(conn, EVENTS)


def test_a_first_big_events_import_rebuilds_the_indexes_it_had_and_lands_every_row(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    before, keys_before = indexes(engine), keys(engine)
    assert [name for name, _ in before] == EVENTS_INDEXES

    summary = run(engine, write_events(tmp_path, 0, 300))

    assert summary.rebuilt_indexes == EVENTS_INDEXES
    assert (summary.rows, summary.inserted) == (300, 300)
    assert event_count(engine) == 300
    assert indexes(engine) == before
    assert keys(engine) == keys_before
    assert any("bulk load: 4 indexes of the events table" in line for line in summary.lines())


def test_an_import_below_twice_the_table_or_the_threshold_updates_the_indexes_as_it_goes(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    assert run(engine, write_events(tmp_path, 0, 300)).rebuilt_indexes == EVENTS_INDEXES

    below_twice_the_table = run(engine, write_events(tmp_path, 1000, 550))
    below_threshold = run(engine, write_events(tmp_path, 2000, 150), bulk_min_rows=10_000)

    assert below_twice_the_table.rebuilt_indexes == []
    assert below_threshold.rebuilt_indexes == []
    assert event_count(engine) == 1000
    assert not any("bulk load" in line for line in below_twice_the_table.lines())


def test_a_bulk_dry_run_writes_nothing_and_keeps_every_index(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    before, keys_before = indexes(engine), keys(engine)

    summary = run(engine, write_events(tmp_path, 0, 300), dry_run=True)

    assert summary.rebuilt_indexes == EVENTS_INDEXES
    assert event_count(engine) == 0
    assert indexes(engine) == before
    assert keys(engine) == keys_before
    assert any("indexes of the events table would be rebuilt" in line for line in summary.lines())


class Interrupted(Exception):
    """Stands for the operator's Ctrl-C arriving between two chunks."""


def test_a_bulk_import_stopped_halfway_leaves_no_rows_and_every_index(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    before, keys_before = indexes(engine), keys(engine)

    def stop_after_the_first_chunk(rows: int, total: int | None) -> None:
        raise Interrupted(f"stopped after {rows} of {total} rows")

    with pytest.raises(Interrupted):
        run(engine, write_events(tmp_path, 0, 300), on_progress=stop_after_the_first_chunk)

    assert event_count(engine) == 0
    assert indexes(engine) == before
    assert keys(engine) == keys_before
    # The table works as before: the same file lands in full afterwards.
    assert run(engine, write_events(tmp_path, 0, 300)).inserted == 300
    assert indexes(engine) == before


def test_the_events_table_keeps_its_foreign_key_to_contacts_on_postgresql(
    engine: Engine,
) -> None:
    names = [name for name, _ in keys(engine)]

    assert names == (["events_contact_id_fkey"] if engine.dialect.name == "postgresql" else [])


def test_a_row_without_its_contact_fails_a_bulk_load_and_lands_nothing(
    engine: Engine, seed: Seeder
) -> None:
    (contact_id,) = seed.contacts(emails=EMAILS[:1])
    before, keys_before = indexes(engine), keys(engine)
    row = {"contact_id": contact_id, "type": "page_view", "detail": "pricing",
           "occurred_at": NOW, "ingested_at": NOW}

    with (
        pytest.raises(IntegrityError),
        engine.begin() as conn,
        secondary_indexes_rebuilt(conn, EVENTS, bulk=True),
    ):
        conn.execute(insert(EVENTS), [
            {**row, "source_event_id": "ev-kept"},
            {**row, "source_event_id": "ev-orphan", "contact_id": contact_id + 10_000},
        ])

    assert event_count(engine) == 0
    assert indexes(engine) == before
    assert keys(engine) == keys_before
