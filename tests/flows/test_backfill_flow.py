"""The backfill flow replays many hours in one run and leaves the ledger ready for cron."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from flows.backfill import backfill, backfill_hours
from flows.hourly_scoring import hourly_scoring
from leadflow.db import ensure_database
from leadflow.settings import Settings
from models.tables import Contact, Run
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

START = datetime(2026, 11, 20, 0, tzinfo=UTC)


@pytest.fixture
def settings(
    sqlite_database_url: str, tmp_path: Path, use_settings: Callable[[Settings], Settings]
) -> Settings:
    """What the flows read: the test database, .eml files, Slack printed to the console."""
    return use_settings(
        settings_for(sqlite_database_url, outbox_dir=tmp_path / "emails", slack_console=True)
    )


@pytest.fixture
def database(settings: Settings) -> str:
    """A manager at a mid-size manufacturer with one interesting event per hour."""
    seed = Seeder(ensure_database(settings.database_url), created_at=START)
    hot = seed.contact(
        email="hot@example.com", job_title="部長", employee_count=300,
        industry="manufacturing", consent=True, lifecycle_stage="lead",
    )
    for i, (type_, detail) in enumerate(
        [("page_view", "pricing"), ("form_submit", "document_download"),
         ("webinar_attended", "wb-1")]
    ):
        seed.event(
            contact_id=hot, type=type_, detail=detail,
            occurred_at=START + timedelta(hours=i, minutes=10), ingested_at=START,
        )
    return settings.database_url


def test_backfill_hours_are_inclusive_and_floored_to_the_hour() -> None:
    hours = backfill_hours(START + timedelta(minutes=30), START + timedelta(hours=3), 1)
    assert hours == [START + timedelta(hours=h) for h in range(4)]
    with pytest.raises(ValueError, match="before start"):
        backfill_hours(START, START - timedelta(hours=1), 1)


def test_backfill_replays_each_hour_and_the_next_scheduled_run_is_incremental(
    database: str,
) -> None:
    rows = backfill(start=START, end=START + timedelta(hours=3), simulate_clock=True)
    assert [r["as_of"] for r in rows] == [
        (START + timedelta(hours=h)).isoformat() for h in range(4)
    ]
    assert [r["snapshots"] for r in rows] == [1, 1, 1, 1]
    engine = ensure_database(database)
    with engine.connect() as conn:
        score = conn.execute(select(Contact.score)).scalar_one()
        runs = conn.execute(
            select(func.count()).select_from(Run).where(Run.flow == "hourly-scoring")
        ).scalar_one()
    assert score == 10 + 15 + 10 + 20
    assert runs == 4
    summary = hourly_scoring(as_of=START + timedelta(hours=4))
    assert summary["full"] is False
    assert summary["candidates"] == 0


def test_a_backfill_runs_only_the_steps_it_is_asked_for_through_the_cycle_wiring(
    database: str,
) -> None:
    rows = backfill(
        start=START, end=START + timedelta(hours=1), promote=False, nurture=False,
        recycle=False, sla=False,
    )
    assert [set(r) for r in rows] == [{"as_of", "scored", "snapshots", "quarantined"}] * 2
    with ensure_database(database).connect() as conn:
        flows = set(conn.execute(select(Run.flow).distinct()).scalars())
    assert flows == {"hourly-scoring"}
