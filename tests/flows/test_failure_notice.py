"""A failed flow run tells the ops Slack channel once: flow, hour, one-line error, UI link."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_UI_URL, temporary_settings

from flows.hourly_scoring import hourly_scoring
from flows.mql_promotion import mql_promotion
from flows.notify import notify_failure
from leadflow.settings import Settings
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi

pytestmark = pytest.mark.usefixtures("prefect_harness")

HOUR = datetime(2026, 11, 20, 3, tzinfo=UTC)
OPS = "#ops-alerts"
UI = "http://prefect.example:4200"
REFUSED = '{"ok": false, "error": "invalid_auth"}'


@pytest.fixture(autouse=True)
def ui_url() -> Iterator[None]:
    """A known Prefect UI address, so the notice's link can be checked exactly."""
    with temporary_settings({PREFECT_UI_URL: UI}):
        yield


def posted_to_ops(slack_api: FakeSlackApi) -> list[dict[str, Any]]:
    """Every message the fake Slack accepted for the ops channel."""
    return [dict(post) for post in slack_api.posted() if post["channel"] == OPS]


def broken_rules(tmp_path: Path) -> str:
    """A rules file that is not valid YAML (its error spans several lines)."""
    path = tmp_path / "rules.yaml"
    path.write_text("promotion: [mql_threshold: 50\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def slack_settings(
    sqlite_database_url: str, slack_api: FakeSlackApi, use_settings: Callable[[Settings], Settings]
) -> Settings:
    """Flows read settings with Slack on the fake server and the ops channel set."""
    return use_settings(
        settings_for(
            sqlite_database_url,
            slack_token=FakeSlackApi.TOKEN,
            slack_api_url=slack_api.url,
            ops_slack_channel=OPS,
        )
    )


def test_a_promotion_run_whose_hand_off_slack_refuses_posts_one_notice_to_the_ops_channel(
    seed: Seeder,
    settings: Settings,
    slack_api: FakeSlackApi,
    use_settings: Callable[[Settings], Settings],
) -> None:
    seed.owner(email="is@example.com", slack_user_id="UIS")
    lead = seed.contact(
        email="tanaka@example.co.jp", last_name="田中", first_name="一郎", lifecycle_stage="lead"
    )
    seed.score(contact_id=lead, score=55, at=HOUR - timedelta(hours=1))
    use_settings(
        settings.model_copy(
            update={
                "slack_token": FakeSlackApi.TOKEN,
                "slack_api_url": slack_api.url,
                "ops_slack_channel": OPS,
            }
        )
    )
    slack_api.fail_next("chat.postMessage", status=200, body=REFUSED)

    state = mql_promotion(as_of=HOUR, return_state=True)

    assert state.is_failed()
    run_id = state.state_details.flow_run_id
    assert str(state.message).startswith("Slack dispatch sent nothing")
    [notice] = posted_to_ops(slack_api)
    title, error, link = str(notice["text"]).splitlines()
    assert title == (
        ":rotating_light: *mql-promotion* failed, as of 2026-11-20T03:00Z (12:00 Asia/Tokyo)"
    )
    assert error.startswith("*Error:* Slack dispatch sent nothing: 1 messages failed")
    assert link == f"<{UI}/runs/flow-run/{run_id}|Open the run in the Prefect UI>"
    assert notice["metadata"] == {
        "event_type": "leadflow_outbox",
        "event_payload": {"idempotency_key": f"ops-failure:{run_id}"},
    }


def test_a_run_failing_inside_on_a_broken_rules_file_posts_its_error_in_one_line(
    slack_settings: Settings, slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    state = hourly_scoring(as_of=HOUR, rules_path=broken_rules(tmp_path), return_state=True)

    assert state.is_failed()
    assert "\n" in str(state.message)
    [notice] = posted_to_ops(slack_api)
    title, error, link = str(notice["text"]).splitlines()
    assert title.startswith(":rotating_light: *hourly-scoring* failed, as of 2026-11-20T03:00Z")
    assert error.startswith("*Error:* RulesError: ")
    assert "not valid YAML" in error
    assert "Traceback" not in error
    assert link == (
        f"<{UI}/runs/flow-run/{state.state_details.flow_run_id}|Open the run in the Prefect UI>"
    )


def test_calling_the_hook_again_for_the_same_run_posts_nothing_more(
    slack_settings: Settings, slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    state = hourly_scoring(as_of=HOUR, rules_path=broken_rules(tmp_path), return_state=True)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.state is not None

    notify_failure(hourly_scoring, run, run.state)
    notify_failure(hourly_scoring, run, run.state)

    assert len(posted_to_ops(slack_api)) == 1
    assert [method for method, _ in slack_api.calls].count("conversations.history") >= 2


def test_without_an_ops_channel_a_failed_run_posts_nothing(
    slack_settings: Settings,
    slack_api: FakeSlackApi,
    use_settings: Callable[[Settings], Settings],
    tmp_path: Path,
) -> None:
    use_settings(slack_settings.model_copy(update={"ops_slack_channel": ""}))

    state = hourly_scoring(as_of=HOUR, rules_path=broken_rules(tmp_path), return_state=True)

    assert state.is_failed()
    assert slack_api.calls == []


def test_a_run_that_completes_posts_nothing(
    slack_settings: Settings, slack_api: FakeSlackApi
) -> None:
    state = hourly_scoring(as_of=HOUR, return_state=True)

    assert state.is_completed()
    assert slack_api.calls == []
