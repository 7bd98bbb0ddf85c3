"""The hourly-scoring flow under the Prefect test harness."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import func, select

from flows.hourly_scoring import hourly_scoring
from leadflow.db import ensure_database
from leadflow.settings import Settings
from models.tables import ScoreSnapshot
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)


@pytest.fixture
def database(sqlite_database_url: str, use_settings: Callable[[Settings], Settings]) -> str:
    """Three managers, one of whom asked for a demo; the flows read this database."""
    settings = use_settings(settings_for(sqlite_database_url))
    seed = Seeder(ensure_database(settings.database_url), created_at=AS_OF)
    ids = [
        seed.contact(email=f"c{i}@example.com", job_title="部長", lifecycle_stage="lead")
        for i in range(1, 4)
    ]
    seed.event(contact_id=ids[0], type="form_submit", detail="demo_request", occurred_at=AS_OF)
    return settings.database_url


def snapshots(url: str) -> int:
    with ensure_database(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ScoreSnapshot)).scalar_one())


def test_the_flow_scores_contacts_and_a_rerun_of_the_same_hour_adds_nothing(database: str) -> None:
    first = hourly_scoring(as_of=AS_OF)
    assert first["scored"] == 3
    assert first["snapshots_written"] == 3
    again = hourly_scoring(as_of=AS_OF)
    assert again["snapshots_written"] == 0
    assert snapshots(database) == 3


def test_a_flow_dry_run_reports_without_writing(database: str) -> None:
    summary = hourly_scoring(as_of=AS_OF, dry_run=True)
    assert summary["dry_run"] is True
    assert summary["scored"] == 3
    assert snapshots(database) == 0


def test_the_flow_leaves_a_keyed_markdown_artifact_with_the_counts(database: str) -> None:
    hourly_scoring(as_of=AS_OF)
    artifact = Artifact.get(key="hourly-scoring-summary")
    assert artifact is not None
    assert "Score distribution" in str(artifact.data)
    assert "3 candidate contacts" in str(artifact.data)
