"""`leadflow backfill` and `leadflow simulate`: many hours in one process, resumable, and a
simulation never reaches real people."""

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.db import ensure_database
from leadflow.settings import Settings, get_settings
from models.tables import EmailSend, Outbox, StageHistory
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

# Friday 12:00 in Tokyo: the hot lead's third event makes it an MQL at this hour.
AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
# Twelve hours, 08:00 to 19:00 in Tokyo: the hand-off, nurture's first email, SLA clocks.
FIRST, LAST = AS_OF - timedelta(hours=4), AS_OF + timedelta(hours=7)
RANGE = ["--from", FIRST.isoformat(), "--to", LAST.isoformat()]

_register_commands()


def run_cli(*args: str) -> Result:
    """Run the `leadflow` command in this process."""
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def configured(
    slack_api: FakeSlackApi, smtp_server: LoopbackSmtpServer
) -> Callable[[str, Path], Settings]:
    """Settings on a database with real SMTP and Slack configured (loopback servers)."""

    def make(database_url: str, outbox_dir: Path) -> Settings:
        return settings_for(
            database_url, outbox_dir=outbox_dir, slack_token=slack_api.TOKEN,
            slack_api_url=slack_api.url, **smtp_server.smtp_settings(),
        )

    return make


def seeded_copy(template_url: str, path: Path) -> str:
    """A second migrated SQLite database (a copy of the empty one), seeded like the first."""
    shutil.copyfile(template_url.removeprefix("sqlite:///"), path)
    return seed_leads(f"sqlite:///{path}")


def seed_leads(url: str) -> str:
    """An inside-sales owner, a manager who becomes an MQL at AS_OF, and a new lead for nurture."""
    seed = Seeder(ensure_database(url), created_at=AS_OF - timedelta(days=1))
    seed.owner(email="is@example.com", name="IS", team="is", slack_user_id="UIS")
    hot = seed.contact(
        email="hot@example.co.jp", job_title="部長", employee_count=300,
        industry="manufacturing", lifecycle_stage="lead", lead_source="webinar", consent=True,
    )
    seed.contact(email="new@example.co.jp", lifecycle_stage="lead", consent=True)
    for hours_before, (type_, detail) in zip(
        (3, 2, 1),
        [("page_view", "pricing"), ("form_submit", "document_download"),
         ("webinar_attended", "wb-1")],
        strict=True,
    ):
        seed.event(
            contact_id=hot, type=type_, detail=detail,
            occurred_at=AS_OF - timedelta(hours=hours_before, minutes=-10),
        )
    return url


def end_state(url: str) -> dict[str, list[tuple[object, ...]]]:
    """What a replay leaves behind: stage history, decided emails, the outbox and its dates.

    Nurture's emails are dated by the simulated clock: their `sent_at`, and `not_before`
    (the dispatcher's lease from that instant) to the minute. The hand-off and SLA steps
    stamp their messages with the real time, so only their keys and states can match.
    """
    with ensure_database(url).connect() as conn:
        stage_history = sorted(conn.execute(select(
            StageHistory.contact_id, StageHistory.from_stage, StageHistory.to_stage,
            StageHistory.at, StageHistory.rule, StageHistory.kind,
        )).tuples())
        email_sends = sorted(conn.execute(select(
            EmailSend.email_id, EmailSend.step, EmailSend.queued_at,
        )).tuples())
        outbox = conn.execute(select(
            Outbox.idempotency_key, Outbox.channel, Outbox.status, Outbox.not_before,
            Outbox.sent_at,
        )).all()
    simulated = {email_id for email_id, *_ in email_sends}
    return {
        "stage_history": stage_history,
        "email_sends": email_sends,
        "outbox": sorted(
            (key, channel, status, _minute(not_before), sent_at)
            if key in simulated else (key, channel, status, None, None)
            for key, channel, status, not_before, sent_at in outbox
        ),
    }


def _minute(instant: datetime | None) -> datetime | None:
    return instant.replace(second=0, microsecond=0) if instant else None


def test_a_simulation_stopped_after_five_hours_then_rerun_ends_as_an_uninterrupted_one(
    sqlite_database_url: str,
    tmp_path: Path,
    configured: Callable[[str, Path], Settings],
    use_settings: Callable[[Settings], Settings],
) -> None:
    interrupted_url = seeded_copy(sqlite_database_url, tmp_path / "interrupted.db")
    whole_url = seed_leads(sqlite_database_url)
    use_settings(configured(whole_url, tmp_path / "whole"))
    whole = run_cli("simulate", *RANGE)
    assert whole.exit_code == 0, whole.output
    assert "12 hours to replay" in whole.output

    use_settings(configured(interrupted_url, tmp_path / "interrupted"))
    first_five = run_cli("simulate", "--from", FIRST.isoformat(), "--to", AS_OF.isoformat())
    assert first_five.exit_code == 0, first_five.output
    resumed = run_cli("simulate", *RANGE)

    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 5 of 12 hours already done" in resumed.output
    assert "replayed 7 hours" in resumed.output
    state = end_state(whole_url)
    assert end_state(interrupted_url) == state
    assert {row[2] for row in state["stage_history"]} >= {"mql"}
    assert state["email_sends"], "the new lead got nurture's first email"
    assert {status for _, _, status, *_ in state["outbox"]} == {"sent"}
    # Simulated clock: each nurture email is dated at the hour it went out.
    assert [sent_at for *_, sent_at in state["outbox"] if sent_at] == [
        queued_at for *_, queued_at in state["email_sends"]
    ]

    emails = sorted(p.name for p in (tmp_path / "interrupted").glob("*.eml"))
    again = run_cli("simulate", *RANGE)

    assert again.exit_code == 0, again.output
    assert "all 12 hours already done" in again.output
    assert end_state(interrupted_url) == state
    assert sorted(p.name for p in (tmp_path / "interrupted").glob("*.eml")) == emails


def test_a_simulation_never_reaches_smtp_or_slack_even_when_both_are_configured(
    sqlite_database_url: str,
    tmp_path: Path,
    configured: Callable[[str, Path], Settings],
    use_settings: Callable[[Settings], Settings],
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    use_settings(configured(seed_leads(sqlite_database_url), tmp_path / "emails"))

    result = run_cli("simulate", *RANGE, "--every-hours", "1")

    assert result.exit_code == 0, result.output
    assert smtp_server.received == []
    assert slack_api.posted() == []
    assert list((tmp_path / "emails").glob("*.eml")), "email went to .eml files instead"
    # The override lasted for the simulation only.
    assert get_settings().smtp_host == smtp_server.smtp_settings()["smtp_host"]
    assert get_settings().slack_console is False


def test_a_backfill_sends_through_the_real_transports_once_and_a_rerun_sends_nothing(
    database_url: str,
    tmp_path: Path,
    configured: Callable[[str, Path], Settings],
    use_settings: Callable[[Settings], Settings],
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    url = seed_leads(database_url)
    use_settings(configured(url, tmp_path / "emails"))

    result = run_cli("backfill", *RANGE)

    assert result.exit_code == 0, result.output
    assert "replayed 12 hours" in result.output
    assert "promoted: 1" in result.output
    received, posted, state = len(smtp_server.received), len(slack_api.posted()), end_state(url)
    assert received >= 1 and posted >= 1
    assert not list((tmp_path / "emails").glob("*.eml"))

    rerun = run_cli("backfill", *RANGE)

    assert rerun.exit_code == 0, rerun.output
    assert "all 12 hours already done" in rerun.output
    assert (len(smtp_server.received), len(slack_api.posted())) == (received, posted)
    assert end_state(url) == state


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--from", "yesterday", "--to", "2026-11-20T03:00Z"],
         "--from 'yesterday' is not an ISO 8601 timestamp"),
        (["backfill", "--from", "2026-11-20T03:00Z", "--to", "20261120-9"],
         "--to '20261120-9' is not an ISO 8601 timestamp"),
        (["backfill", "--from", "1900-01-01T00:00Z", "--to", "2026-11-20T03:00Z"],
         "--from '1900-01-01T00:00Z' is out of range"),
        (["simulate", "--from", "2026-11-20T03:00Z", "--to", "2026-11-19T03:00Z"],
         "--to '2026-11-19T03:00Z' is before --from '2026-11-20T03:00Z'"),
        (["simulate", "--from", "2026-11-20T03:00Z", "--to", "2026-11-21T03:00Z",
          "--every-hours", "0"],
         "--every-hours 0 must be 1 or more"),
    ],
)
def test_a_bad_range_is_refused_with_one_clear_line(
    sqlite_database_url: str,
    use_settings: Callable[[Settings], Settings],
    args: list[str],
    message: str,
) -> None:
    use_settings(settings_for(sqlite_database_url))

    result = run_cli(*args)

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_dry_run_simulation_writes_sends_and_records_nothing(
    sqlite_database_url: str,
    tmp_path: Path,
    configured: Callable[[str, Path], Settings],
    use_settings: Callable[[Settings], Settings],
) -> None:
    url = seed_leads(sqlite_database_url)
    use_settings(configured(url, tmp_path / "emails"))

    result = run_cli("simulate", *RANGE, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "replayed 12 hours (dry run: nothing written or sent)" in result.output
    assert end_state(url) == {"stage_history": [], "email_sends": [], "outbox": []}
    assert "12 hours to replay" in run_cli("simulate", *RANGE, "--dry-run").output
