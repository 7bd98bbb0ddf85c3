"""The hourly-scoring flow under the Prefect test harness."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import func, select

from flows.hourly_scoring import hourly_scoring
from leadflow.db import ensure_database
from leadflow.settings import get_settings
from models.tables import Contact, Event, ScoreSnapshot

AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'flow.db'}"
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = ensure_database(url)
    with engine.begin() as conn:
        conn.execute(
            Contact.__table__.insert(),
            [
                {"email": f"c{i}@example.com", "job_title": "部長", "created_at": AS_OF,
                 "updated_at": AS_OF, "lifecycle_stage": "lead"}
                for i in range(1, 4)
            ],
        )
        conn.execute(
            Event.__table__.insert(),
            [{"source_event_id": "e1", "contact_id": 1, "type": "form_submit",
              "detail": "demo_request", "occurred_at": AS_OF, "ingested_at": AS_OF}],
        )
    yield url
    get_settings.cache_clear()


def snapshots(url: str) -> int:
    with ensure_database(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ScoreSnapshot)).scalar_one())


def test_flow_scores_contacts_and_a_rerun_of_the_same_hour_adds_nothing(database: str) -> None:
    first = hourly_scoring(as_of=AS_OF)
    assert first["scored"] == 3
    assert first["snapshots_written"] == 3
    again = hourly_scoring(as_of=AS_OF)
    assert again["snapshots_written"] == 0
    assert snapshots(database) == 3


def test_flow_dry_run_reports_without_writing(database: str) -> None:
    summary = hourly_scoring(as_of=AS_OF, dry_run=True)
    assert summary["dry_run"] is True
    assert summary["scored"] == 3
    assert snapshots(database) == 0


def test_flow_leaves_a_keyed_markdown_artifact_with_the_counts(database: str) -> None:
    hourly_scoring(as_of=AS_OF)
    artifact = Artifact.get(key="hourly-scoring-summary")
    assert artifact is not None
    assert "Score distribution" in str(artifact.data)
    assert "3 candidate contacts" in str(artifact.data)
