"""Rerunning hours already run changes nothing: no new rows, no new sends (issue: hardening).

A week of synthetic leads is replayed hour by hour through the backfill flow (the path
the demo and the `backfill/manual` deployment use), then every hour is run again —
in order, and single hours out of order through each flow.
"""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from app.synthetic import generate_dataset, insert_dataset
from flows.backfill import backfill
from flows.mql_promotion import mql_promotion
from flows.nurture_scheduler import nurture_scheduler
from leadflow.db import ensure_database
from leadflow.settings import get_settings
from models.tables import Base, Outbox, Run

# A Tuesday 18:00 JST: the week before holds five business days of send windows.
END = datetime(2026, 11, 17, 9, tzinfo=UTC)
START = END - timedelta(days=7)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def replayed_week(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    postgres_schema_url: str | None,
    prefect_harness: None,
) -> Iterator[tuple[Engine, Path]]:
    """A database that lived through one simulated week, hour by hour (one per store).

    Replaying a week costs about a minute, so both tests share it: neither may change it.
    """
    folder = tmp_path_factory.mktemp("week")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'week.db'}"
        shutil.copyfile(sqlite_template, folder / "week.db")
    elif postgres_schema_url is None:
        pytest.skip("PostgreSQL not configured")
    else:
        url = postgres_schema_url
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with ensure_database(url).begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    emails = folder / "emails"
    patch = pytest.MonkeyPatch()
    patch.setenv("LEADFLOW_DATABASE_URL", url)
    patch.setenv("LEADFLOW_OUTBOX_DIR", str(emails))
    patch.setenv("LEADFLOW_SLACK_CONSOLE", "true")
    patch.setenv("LEADFLOW_DEVELOPMENT", "true")
    get_settings.cache_clear()
    engine = ensure_database(url)
    dataset = generate_dataset(contacts=160, events=4000, days=8, end=END, seed=11)
    insert_dataset(engine, dataset)
    backfill(start=START, end=END, every_hours=1, simulate_clock=True)
    yield engine, emails
    patch.undo()
    get_settings.cache_clear()


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, except the run ledger (every rerun is recorded there, by design)."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name != Run.__tablename__
        }


def sent_messages(engine: Engine) -> list[tuple[str, str, object]]:
    """Every outbox row's key, status and send time."""
    with engine.connect() as conn:
        return [
            (row.idempotency_key, row.status, row.sent_at)
            for row in conn.execute(
                select(Outbox.idempotency_key, Outbox.status, Outbox.sent_at).order_by(
                    Outbox.idempotency_key
                )
            )
        ]


def test_rerunning_every_hour_of_a_simulated_week_writes_and_sends_nothing_new(
    replayed_week: tuple[Engine, Path],
) -> None:
    engine, emails = replayed_week
    rows_before, sends_before = row_counts(engine), sent_messages(engine)
    files_before = sorted(p.name for p in emails.glob("*.eml"))
    assert rows_before["stage_history"] > 0 and rows_before["nurture_enrollments"] > 0
    assert len(files_before) > 0, "the week must have sent email for the rerun to mean much"

    rerun = backfill(start=START, end=END, every_hours=1, simulate_clock=True)

    assert row_counts(engine) == rows_before
    assert sent_messages(engine) == sends_before
    assert sorted(p.name for p in emails.glob("*.eml")) == files_before
    assert sum(int(str(r["enrolled"])) for r in rerun) == 0
    assert sum(int(str(r["emails_sent"])) for r in rerun) == 0
    assert sum(int(str(r["snapshots"])) for r in rerun) == 0


def test_a_past_hour_rerun_alone_through_each_flow_decides_nothing(
    replayed_week: tuple[Engine, Path],
) -> None:
    engine, emails = replayed_week
    rows_before, files_before = row_counts(engine), sorted(emails.glob("*.eml"))
    for hour in (START + timedelta(hours=20), START + timedelta(days=3, hours=2), END):
        promoted = mql_promotion(as_of=hour)
        nurtured = nurture_scheduler(as_of=hour)
        assert promoted["superseded_by"] == END.isoformat()
        assert nurtured["superseded_by"] == END.isoformat()
        assert nurtured["decided"]["enrolled"] == 0 and nurtured["decided"]["emails"] == 0
    assert row_counts(engine) == rows_before
    assert sorted(emails.glob("*.eml")) == files_before
