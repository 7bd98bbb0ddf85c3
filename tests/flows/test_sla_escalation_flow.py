"""The sla-escalation flow under the Prefect test harness, talking to a loopback Slack."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from flows.sla_escalation import ARTIFACT_KEY, sla_escalation
from leadflow.db import ensure_database
from leadflow.settings import Settings
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi

pytestmark = pytest.mark.usefixtures("prefect_harness")

# Tuesday 2026-11-17 10:00 in Tokyo.
HANDOFF = datetime(2026, 11, 17, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def settings(
    sqlite_database_url: str, slack_api: FakeSlackApi,
    use_settings: Callable[[Settings], Settings],
) -> Settings:
    """What the flows read: the test database, the loopback Slack, email into files."""
    return use_settings(settings_for(sqlite_database_url, slack_token=slack_api.TOKEN,
                                     slack_api_url=slack_api.url))


@pytest.fixture
def lead(settings: Settings) -> int:
    """An MQL handed to an IS owner on Slack, untouched since."""
    seed = Seeder(ensure_database(settings.database_url), created_at=HANDOFF - 30 * DAY)
    owner = seed.owner(email="is@example.com", name="IS", team="is", slack_user_id="UIS0001")
    contact_id = seed.contact(email="lead@example.com", lifecycle_stage="mql")
    seed.stage_change(contact_id=contact_id, from_stage="lead", to_stage="mql", at=HANDOFF,
                      rule="mql_score")
    seed.assignment(contact_id=contact_id, owner_id=owner, at=HANDOFF)
    return contact_id


def artifact_text(run_id: Any) -> str:
    with get_client(sync_client=True) as client:
        # Sent by hand: this Prefect's read_artifacts posts nulls the server rejects.
        response = client.request(
            "POST", "/artifacts/filter",
            json={"artifacts": {"key": {"any_": [ARTIFACT_KEY]},
                                "flow_run_id": {"any_": [str(run_id)]}},
                  "limit": 1, "offset": 0},
        )
    [artifact] = response.json()
    return str(artifact["data"])


def test_the_flow_escalates_once_and_leaves_an_artifact_named_after_its_hour(
    lead: int, slack_api: FakeSlackApi
) -> None:
    state = sla_escalation(as_of=HANDOFF + DAY, return_state=True)
    rerun = sla_escalation(as_of=HANDOFF + DAY)

    summary = state.result()
    assert summary["escalations"]["first_touch:1"] == 1
    assert summary["slack_sent"] == len(slack_api.posted()) >= 1
    assert {p["channel"] for p in slack_api.posted()} == {"DUIS0001"}
    assert rerun["superseded_by"] == (HANDOFF + DAY).isoformat()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.name == "sla-escalation 2026-11-18T01:00Z"
    text = artifact_text(state.state_details.flow_run_id)
    assert "## Clocks by policy" in text and "| first_touch | 1 | 1 | 1 |" in text
