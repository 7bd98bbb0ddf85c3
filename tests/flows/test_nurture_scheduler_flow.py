"""The nurture-scheduler flow and `leadflow run nurture` under the Prefect test harness."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import _register_commands, app
from flows.nurture_scheduler import nurture_scheduler
from leadflow.db import ensure_database
from leadflow.settings import Settings
from models.tables import EmailSend, NurtureEnrollment, Run
from tests.support.replay_world import rules_open_all_week
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

# A Tuesday, 11:00 in Tokyo, far enough ahead that "now" never overtakes it in a test.
AS_OF = datetime(2030, 12, 3, 2, tzinfo=UTC)


@pytest.fixture
def settings(
    sqlite_database_url: str, tmp_path: Path, use_settings: Callable[[Settings], Settings]
) -> Settings:
    """What the flows and the CLI read: the test database, .eml files in tmp_path."""
    return use_settings(
        settings_for(
            sqlite_database_url,
            outbox_dir=tmp_path / "outbox",
            public_base_url="https://track.example.test",
        )
    )


@pytest.fixture
def database(settings: Settings) -> str:
    """Three consenting leads created 40 minutes before the hour."""
    seed = Seeder(ensure_database(settings.database_url), created_at=AS_OF - timedelta(minutes=40))
    for i in range(1, 4):
        seed.contact(
            email=f"lead{i}@example.co.jp",
            last_name="山田",
            first_name=f"{i}郎",
            consent=True,
            lifecycle_stage="lead",
        )
    return settings.database_url


def count(url: str, table: Any) -> int:
    with ensure_database(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_flow_dry_run_decides_three_emails_and_writes_nothing(database: str) -> None:
    summary = nurture_scheduler(as_of=AS_OF, dry_run=True)
    assert summary["dry_run"] is True
    assert summary["decided"]["enrolled"] == 3  # type: ignore[index]
    assert summary["decided"]["emails"] == 3  # type: ignore[index]
    assert count(database, NurtureEnrollment) == 0
    assert count(database, EmailSend) == 0


def test_the_flow_sends_over_smtp_once_and_a_rerun_of_the_hour_sends_nothing(
    database: str,
    settings: Settings,
    smtp_server: LoopbackSmtpServer,
    use_settings: Callable[[Settings], Settings],
) -> None:
    use_settings(settings.model_copy(update=smtp_server.smtp_settings()))
    first = nurture_scheduler(as_of=AS_OF)
    assert first["dispatch"]["sent"] == 3  # type: ignore[index]
    assert "SMTP 127.0.0.1" in str(first["transport"])
    again = nurture_scheduler(as_of=AS_OF)
    # The hour was decided already: the rerun does nothing at all, so sends nothing.
    assert again["superseded_by"] == AS_OF.isoformat()
    assert again["decided"]["emails"] == 0  # type: ignore[index]
    assert "dispatch" not in again
    assert len(smtp_server.received) == 3
    with ensure_database(database).connect() as conn:
        runs = conn.execute(select(Run.flow, Run.status)).all()
    assert runs == [("nurture-scheduler", "completed")] * 2


def test_the_flow_leaves_a_keyed_markdown_artifact(database: str) -> None:
    nurture_scheduler(as_of=AS_OF)
    artifact = Artifact.get(key="nurture-scheduler-summary")
    assert artifact is not None
    text = str(getattr(artifact, "data", ""))
    assert "nurture-scheduler at 2030-12-03 02:00 UTC" in text
    assert "new_lead/email_1" in text
    assert "Sent **3**" in text


def test_the_cli_run_nurture_writes_eml_files_and_says_where(
    settings: Settings, tmp_path: Path
) -> None:
    # The CLI refuses an hour after now, so this run is of a past hour and sends at the real
    # time: the rules' send window is open all week so the result does not hang on the clock.
    hour = datetime(2025, 12, 2, 2, tzinfo=UTC)
    seed = Seeder(ensure_database(settings.database_url), created_at=hour - timedelta(minutes=40))
    for i in range(1, 4):
        seed.contact(email=f"lead{i}@example.co.jp", consent=True, lifecycle_stage="lead")
    rules = rules_open_all_week(tmp_path / "rules")
    _register_commands()
    result = CliRunner().invoke(
        app, ["run", "nurture", "--as-of", hour.isoformat(), "--rules", str(rules)]
    )
    assert result.exit_code == 0, result.output
    outbox = (tmp_path / "outbox").resolve()
    assert f"emails were written as .eml files to {outbox}" in result.output
    assert len(list(outbox.glob("*.eml"))) == 3


def test_a_cli_run_nurture_dry_run_sends_nothing(database: str, tmp_path: Path) -> None:
    _register_commands()
    result = CliRunner().invoke(
        app, ["run", "nurture", "--as-of", "2030-12-03T11:00+09:00", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "dry_run: True" in result.output
    assert not (tmp_path / "outbox").exists()


def test_the_cli_suppress_command_stops_nurture_email_for_that_contact(database: str) -> None:
    _register_commands()
    runner = CliRunner()
    result = runner.invoke(app, ["suppress", "LEAD2@example.co.jp", "--reason", "bounced"])
    assert result.exit_code == 0, result.output
    assert "bounced" in result.output
    again = runner.invoke(app, ["suppress", "lead2@example.co.jp", "--reason", "bounced"])
    assert "already recorded" in again.output
    summary = nurture_scheduler(as_of=AS_OF, dry_run=True)
    assert summary["decided"]["emails"] == 2  # type: ignore[index]
    unknown = runner.invoke(app, ["suppress", "nobody@example.co.jp"])
    assert unknown.exit_code == 1
