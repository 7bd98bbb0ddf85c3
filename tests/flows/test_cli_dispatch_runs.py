"""`leadflow run promotion|nurture` when dispatch cannot work: a Failed run that says why."""

import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from app.cli import _register_commands, app
from flows.mql_promotion import ARTIFACT_KEY, mql_promotion
from leadflow.settings import Settings
from models.tables import Outbox
from tests.support.replay_world import rules_open_all_week
from tests.support.seeding import Seeder

pytestmark = pytest.mark.usefixtures("prefect_harness")

PROMOTION_HOUR = datetime(2026, 11, 20, 3, tzinfo=UTC)
# A past Tuesday (the CLI refuses an hour after now); sends happen at the real time, so
# nurture runs use rules whose send window is open all week.
NURTURE_HOUR = datetime(2025, 12, 2, 2, tzinfo=UTC)


def artifact_markdown(flow_run_id: UUID, key: str) -> str:
    """The markdown of the run's keyed artifact."""
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/artifacts/filter",
            json={
                "artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [str(flow_run_id)]}},
                "limit": 1,
                "offset": 0,
            },
        )
    [artifact] = response.json()
    return str(artifact["data"])


@pytest.fixture
def lead_ready_for_mql(seed: Seeder) -> int:
    """A lead scored 55 an hour before the promotion hour (pricing page), with an owner."""
    seed.owner(email="is@example.com", slack_user_id="UIS")
    contact = seed.contact(
        email="tanaka@example.co.jp",
        last_name="田中",
        first_name="一郎",
        lifecycle_stage="lead",
        lead_source="webinar",
    )
    seed.score(
        contact_id=contact,
        score=55,
        at=PROMOTION_HOUR - timedelta(hours=1),
        signals=[{"signal": "pricing_page", "group": "behaviour", "points": 55, "units": 3}],
    )
    return contact


@pytest.mark.usefixtures("lead_ready_for_mql")
def test_a_promotion_run_without_a_slack_token_fails_and_says_why(
    settings: Settings, use_settings: Callable[[Settings], Settings]
) -> None:
    use_settings(settings.model_copy(update={"slack_token": None, "slack_console": False}))
    _register_commands()

    result = CliRunner().invoke(app, ["run", "promotion", "--as-of", PROMOTION_HOUR.isoformat()])
    state = mql_promotion(as_of=PROMOTION_HOUR + timedelta(hours=1), return_state=True)

    assert result.exit_code == 1
    assert "promoted: {'mql': 1}" in result.output
    assert "Failed: Slack dispatch could not run: no Slack token" in result.output
    assert state.is_failed()
    assert (state.message or "").startswith("Slack dispatch could not run: no Slack token")
    headline = artifact_markdown(state.state_details.flow_run_id, ARTIFACT_KEY).splitlines()[2]
    assert headline.startswith("**Dispatch stopped:** Slack dispatch could not run")


def test_the_slack_hand_off_lists_its_top_reasons_by_signal_description(
    lead_ready_for_mql: int,
    engine: Engine,
    settings: Settings,
    use_settings: Callable[[Settings], Settings],
) -> None:
    use_settings(settings.model_copy(update={"slack_console": True}))
    _register_commands()

    result = CliRunner().invoke(app, ["run", "promotion", "--as-of", PROMOTION_HOUR.isoformat()])

    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        payload: Any = conn.execute(
            select(Outbox.payload).where(Outbox.kind == "handoff")
        ).scalar_one()
    text = json.dumps(payload, ensure_ascii=False)
    assert "• viewed the pricing page within 30 days +55" in text
    assert "None" not in text


def latest_run_of(flow_name: str) -> FlowRun:
    """The flow run of `flow_name` that started last."""
    with get_client(sync_client=True) as client:
        [run] = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    return run


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_nurture_run_whose_smtp_server_is_unreachable_fails_and_lists_contacts_by_id(
    seed: Seeder,
    settings: Settings,
    use_settings: Callable[[Settings], Settings],
    tmp_path: Path,
) -> None:
    created = NURTURE_HOUR - timedelta(minutes=40)
    ids = [
        seed.contact(
            email=f"lead{i}@example.co.jp",
            consent=True,
            lifecycle_stage="lead",
            created_at=created,
        )
        for i in range(1, 3)
    ]
    use_settings(
        settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": closed_port(), "smtp_security": "none"}
        )
    )
    _register_commands()

    rules = rules_open_all_week(tmp_path / "rules")
    result = CliRunner().invoke(
        app, ["run", "nurture", "--as-of", NURTURE_HOUR.isoformat(), "--rules", str(rules)]
    )
    run = latest_run_of("nurture-scheduler")

    assert result.exit_code == 1
    assert "Failed: Email dispatch sent nothing via SMTP 127.0.0.1" in result.output
    assert "2 due emails failed and stay pending" in result.output
    assert run.state is not None and run.state.is_failed()
    assert (run.state.message or "").startswith("Email dispatch sent nothing")
    markdown = artifact_markdown(run.id, "nurture-scheduler-summary")
    assert markdown.splitlines()[2].startswith("**Dispatch stopped:** Email dispatch sent nothing")
    assert "@example.co.jp" not in markdown
    for contact in ids:
        assert f"| {contact} (`leadflow explain --id {contact}`) |" in markdown
