"""The lead-cycle flow and `leadflow run cycle`: one ordered hour, one summary, no repeats."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import _register_commands, app
from flows.common import DispatchStopped
from flows.lead_cycle import ARTIFACT_KEY, lead_cycle
from leadflow.db import ensure_database
from leadflow.settings import Settings
from models.tables import Base, Contact, Run, SlaClock
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

# Friday 12:00 in Tokyo.
AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
STEP_ARTIFACTS = [
    "hourly-scoring-summary",
    "mql-promotion-summary",
    "lead-recycling-summary",
    "nurture-scheduler-summary",
    "sla-escalation-summary",
]


@pytest.fixture
def settings(
    sqlite_database_url: str,
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
    use_settings: Callable[[Settings], Settings],
) -> Settings:
    """What the flow and the CLI read: the test database, loopback Slack and SMTP."""
    return use_settings(
        settings_for(
            sqlite_database_url,
            slack_token=slack_api.TOKEN,
            slack_api_url=slack_api.url,
            **smtp_server.smtp_settings(),
        )
    )


@pytest.fixture
def database(settings: Settings) -> str:
    """An inside-sales owner and a manager whose last three hours of activity score 55."""
    seed = Seeder(ensure_database(settings.database_url), created_at=AS_OF - timedelta(days=1))
    seed.owner(email="is@example.com", name="IS", team="is", slack_user_id="UIS")
    lead = seed.contact(
        email="hot@example.co.jp",
        job_title="部長",
        employee_count=300,
        industry="manufacturing",
        lifecycle_stage="lead",
        lead_source="webinar",
    )
    for hours_before, (type_, detail) in zip(
        (3, 2, 1),
        [
            ("page_view", "pricing"),
            ("form_submit", "document_download"),
            ("webinar_attended", "wb-1"),
        ],
        strict=True,
    ):
        seed.event(
            contact_id=lead,
            type=type_,
            detail=detail,
            occurred_at=AS_OF - timedelta(hours=hours_before, minutes=-10),
        )
    return settings.database_url


def row_counts(url: str) -> dict[str, int]:
    """Rows per table, but the run ledger (every run, even a no-op, records itself)."""
    with ensure_database(url).connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables
            if table.name != Run.__tablename__
        }


def artifact_keys(flow_run_id: UUID) -> dict[str, str]:
    """The run's artifacts: key → markdown."""
    with get_client(sync_client=True) as client:
        # Sent by hand: this Prefect's read_artifacts posts nulls the server rejects.
        response = client.request(
            "POST",
            "/artifacts/filter",
            json={
                "artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}},
                "limit": 20,
                "offset": 0,
            },
        )
    return {str(a["key"]): str(a["data"]) for a in response.json()}


def test_one_cycle_hour_scores_promotes_and_hands_off_and_a_rerun_changes_and_sends_nothing(
    database: str, slack_api: FakeSlackApi, smtp_server: LoopbackSmtpServer
) -> None:
    state = lead_cycle(as_of=AS_OF, return_state=True)
    first = state.result()
    counts = row_counts(database)
    posted, emailed = len(slack_api.posted()), len(smtp_server.received)

    assert first["scoring"]["snapshots"] == 1
    assert first["promotion"]["promoted"] == 1
    assert first["promotion"]["slack_sent"] >= 1
    assert first["promotion"]["handoff_emails_sent"] == 1
    assert first["dispatch_problems"] == []
    assert first["superseded_by"] is None
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages()] == ["is@example.com"]
    with ensure_database(database).connect() as conn:
        assert conn.execute(select(Contact.lifecycle_stage)).scalar_one() == "mql"
        # The SLA step ran after promotion: this hour's hand-off has its clocks.
        assert conn.execute(select(func.count()).select_from(SlaClock)).scalar_one() > 0
    artifacts = artifact_keys(state.state_details.flow_run_id)
    assert set(artifacts) == {ARTIFACT_KEY, *STEP_ARTIFACTS}
    assert artifacts[ARTIFACT_KEY].startswith("# lead-cycle 2026-11-20 03:00 UTC")
    assert "| promotion | promoted 1," in artifacts[ARTIFACT_KEY]
    assert "| mql | 1 | 1 |" in artifacts["mql-promotion-summary"]

    rerun = lead_cycle(as_of=AS_OF)

    assert rerun["superseded_by"] == AS_OF.isoformat()
    assert rerun["scoring"]["snapshots"] == 0
    assert rerun["promotion"]["promoted"] == 0
    assert row_counts(database) == counts
    assert (len(slack_api.posted()), len(smtp_server.received)) == (posted, emailed)


@pytest.mark.usefixtures("database")
def test_a_step_that_cannot_dispatch_fails_the_run_after_every_step_ran(
    settings: Settings, use_settings: Callable[[Settings], Settings]
) -> None:
    use_settings(settings.model_copy(update={"slack_token": None, "slack_console": False}))

    with pytest.raises(DispatchStopped, match="Dispatch stopped in promotion: Slack") as stopped:
        lead_cycle(as_of=AS_OF)

    summary = stopped.value.summary
    assert summary["promotion"]["promoted"] == 1
    assert summary["promotion"]["slack_pending"] >= 1
    assert "sla" in summary and "nurture" in summary
    assert summary["dispatch_problems"][0].startswith("promotion: Slack dispatch could not run")


def test_a_cycle_dry_run_writes_and_sends_nothing(
    database: str, slack_api: FakeSlackApi, smtp_server: LoopbackSmtpServer
) -> None:
    before = row_counts(database)

    summary = lead_cycle(as_of=AS_OF, dry_run=True)

    assert summary["dry_run"] is True
    assert summary["scoring"]["scored"] == 1
    assert row_counts(database) == before
    assert (slack_api.calls, smtp_server.received) == ([], [])


@pytest.mark.usefixtures("database")
def test_leadflow_run_cycle_prints_each_step_and_says_when_the_hour_was_decided() -> None:
    _register_commands()
    runner = CliRunner()

    first = runner.invoke(app, ["run", "cycle", "--as-of", "2026-11-20T12:00"])
    again = runner.invoke(app, ["run", "cycle", "--as-of", "2026-11-20T12:00"])
    bad = runner.invoke(app, ["run", "cycle", "--as-of", "yesterday"])

    assert first.exit_code == 0, first.output
    assert "promotion: {'promoted': 1," in first.output
    assert "sla: {" in first.output
    assert again.exit_code == 0, again.output
    assert f"already decided: the latest applied hour is {AS_OF.isoformat()}" in again.output
    assert bad.exit_code == 1
    assert "--as-of 'yesterday' is not an ISO 8601 timestamp" in bad.output


def test_a_simulated_hour_dates_every_send_at_that_hour(
    database: str, settings: Settings, smtp_server: LoopbackSmtpServer
) -> None:
    from email import message_from_bytes
    from email.utils import parsedate_to_datetime

    from leadflow.paths import DEFAULT_RULES_PATH
    from models.rules import load_rules
    from models.tables import Outbox
    from tasks.clock import Clock
    from tasks.cycle import run_cycle_hour

    run_cycle_hour(
        settings=settings, rules=load_rules(DEFAULT_RULES_PATH), as_of=AS_OF, clock=Clock.SIMULATED
    )

    with ensure_database(database).connect() as conn:
        sent = conn.execute(
            select(Outbox.channel, Outbox.sent_at).where(Outbox.status == "sent")
        ).all()
    assert {channel for channel, _ in sent} >= {"slack", "internal_email"}
    assert {at for _, at in sent} == {AS_OF}
    handoff = next(
        message_from_bytes(raw) for raw in smtp_server.received if b"Auto-Submitted" in raw
    )
    assert parsedate_to_datetime(handoff["Date"]) == AS_OF


def test_each_step_is_told_in_operator_words_as_soon_as_it_finished(
    database: str, settings: Settings
) -> None:
    from flows.common import resolve_rules
    from tasks.cycle import run_cycle_hour
    from tasks.narration import SENTENCES

    lines: list[str] = []
    run_cycle_hour(
        settings=settings,
        rules=resolve_rules(None),
        as_of=AS_OF,
        after_step=lambda step, done: lines.append(
            SENTENCES[step.value](done.summary(), settings.tz)
        ),
    )

    assert [line.split(" at ")[0] for line in lines] == [
        "Scoring",
        "Promotion",
        "Recycling",
        "Nurture",
        "SLA",
    ]
    assert lines[1].startswith("Promotion at 2026-11-20 12:00 JST: 1 lead promoted (mql 1)")
    assert "1 hand-off email sent" in lines[1]
    assert not any("{" in line for line in lines)


def test_a_future_hour_is_refused_with_one_line_and_nothing_is_recorded(database: str) -> None:
    _register_commands()
    runner = CliRunner()
    before = row_counts(database)

    run = runner.invoke(app, ["run", "cycle", "--as-of", "2099-01-01T10:00"])
    backfill = runner.invoke(
        app, ["backfill", "--from", "2026-11-20T12:00", "--to", "2099-01-01T10:00"]
    )
    preview = runner.invoke(app, ["run", "promotion", "--as-of", "2099-01-01T10:00", "--dry-run"])

    assert run.exit_code == 1
    assert run.output.startswith("--as-of 2099-01-01T10:00:00+09:00 is in the future")
    assert "Traceback" not in run.output
    assert backfill.exit_code == 1
    assert backfill.output.startswith("--to 2099-01-01T10:00:00+09:00 is in the future")
    assert preview.exit_code == 0, preview.output  # a dry run only looks
    assert row_counts(database) == before
    with ensure_database(database).connect() as conn:  # only the dry run's own record
        assert conn.execute(select(Run.dry_run)).scalars().all() == [True]


def second_lead_ready(database: str) -> None:
    """Another lead whose events (loaded late, after the hour was applied) score 55."""
    seed = Seeder(ensure_database(database), created_at=AS_OF - timedelta(days=1))
    late = seed.contact(
        email="late@example.co.jp",
        job_title="部長",
        employee_count=300,
        industry="manufacturing",
        lifecycle_stage="lead",
        lead_source="webinar",
    )
    for hours_before, (type_, detail) in zip(
        (3, 2, 1),
        [
            ("page_view", "pricing"),
            ("form_submit", "document_download"),
            ("webinar_attended", "wb-1"),
        ],
        strict=True,
    ):
        seed.event(
            contact_id=late,
            type=type_,
            detail=detail,
            occurred_at=AS_OF - timedelta(hours=hours_before, minutes=-10),
            ingested_at=AS_OF + timedelta(minutes=30),
        )


def test_a_dry_run_of_a_decided_hour_lists_no_action_a_real_run_would_not_take(
    database: str,
) -> None:
    _register_commands()
    runner = CliRunner()
    assert runner.invoke(app, ["run", "cycle", "--as-of", AS_OF.isoformat()]).exit_code == 0
    second_lead_ready(database)
    before = row_counts(database)

    promotion = runner.invoke(app, ["run", "promotion", "--as-of", AS_OF.isoformat(), "--dry-run"])
    cycle = runner.invoke(app, ["run", "cycle", "--as-of", AS_OF.isoformat(), "--dry-run"])

    assert promotion.exit_code == 0, promotion.output
    assert promotion.output.strip() == (
        f"already decided: the latest applied hour is {AS_OF.isoformat()}, so a real run of "
        "this hour would decide, write and send nothing (scoring aside) and this dry run "
        "lists no decisions for it"
    )
    assert cycle.exit_code == 0, cycle.output
    assert f"promotion: {{'already_decided': '{AS_OF.isoformat()}'}}" in cycle.output
    assert "lead → mql" not in cycle.output  # a real rerun promotes nobody
    assert "already decided: the latest applied hour is" in cycle.output
    assert row_counts(database) == before


def test_a_rerun_that_saved_late_scores_does_not_say_it_wrote_nothing(database: str) -> None:
    _register_commands()
    runner = CliRunner()
    assert runner.invoke(app, ["run", "cycle", "--as-of", AS_OF.isoformat()]).exit_code == 0
    second_lead_ready(database)

    again = runner.invoke(app, ["run", "cycle", "--as-of", AS_OF.isoformat()])

    assert again.exit_code == 0, again.output
    assert "this rerun decided, wrote and sent nothing" not in again.output
    assert (
        f"already decided: the latest applied hour is {AS_OF.isoformat()}: promotion, "
        "recycling, nurture and SLA decided, wrote and sent nothing; scoring saved 1 score "
        "change from late events"
    ) in again.output
