"""The backfill flow replays many hours in one run and leaves the ledger ready for cron."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from flows.backfill import backfill, backfill_hours
from flows.hourly_scoring import hourly_scoring
from leadflow.db import ensure_database
from leadflow.settings import get_settings
from models.tables import Contact, Event, Run

START = datetime(2026, 11, 20, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'backfill.db'}"
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", url)
    monkeypatch.setenv("LEADFLOW_OUTBOX_DIR", str(tmp_path / "emails"))
    monkeypatch.setenv("LEADFLOW_SLACK_CONSOLE", "true")
    get_settings.cache_clear()
    engine = ensure_database(url)
    with engine.begin() as conn:
        conn.execute(
            Contact.__table__.insert(),
            [{"email": "hot@example.com", "job_title": "部長", "employee_count": 300,
              "industry": "manufacturing", "consent": True, "created_at": START,
              "updated_at": START, "lifecycle_stage": "lead"}],
        )
        conn.execute(
            Event.__table__.insert(),
            [
                {"source_event_id": f"e{i}", "contact_id": 1, "type": type_, "detail": detail,
                 "occurred_at": START + timedelta(hours=i, minutes=10), "ingested_at": START}
                for i, (type_, detail) in enumerate(
                    [("page_view", "pricing"), ("form_submit", "document_download"),
                     ("webinar_attended", "wb-1")]
                )
            ],
        )
    yield url
    get_settings.cache_clear()


def test_backfill_hours_are_inclusive_and_floored() -> None:
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
