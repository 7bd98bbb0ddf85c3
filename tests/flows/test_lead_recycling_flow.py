"""The lead-recycling flow under the Prefect test harness, talking to a loopback Slack."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from prefect.client.orchestration import get_client

from flows.lead_recycling import ARTIFACT_KEY, lead_recycling
from leadflow.db import ensure_database
from leadflow.settings import Settings
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi

pytestmark = pytest.mark.usefixtures("prefect_harness")

# Wednesday 2026-05-13 11:00 in Tokyo.
AS_OF = datetime(2026, 5, 13, 2, tzinfo=UTC)
HANDOFF = AS_OF - timedelta(days=2)


@pytest.fixture
def settings(
    sqlite_database_url: str, slack_api: FakeSlackApi,
    use_settings: Callable[[Settings], Settings],
) -> Settings:
    """What the flows read: the test database and the loopback Slack API."""
    return use_settings(
        settings_for(sqlite_database_url, slack_token=slack_api.TOKEN,
                     slack_api_url=slack_api.url)
    )


@pytest.fixture
def database(settings: Settings) -> str:
    """An unreachable MQL (three unanswered calls) and a lead whose retry date is today."""
    seed = Seeder(ensure_database(settings.database_url), created_at=HANDOFF)
    owner = seed.owner(email="is@example.com", name="佐藤", team="is", slack_user_id="UIS")
    seed.owner(email="mkt@example.com", name="Marketing", team="marketing")
    unreachable = seed.contact(email="gone@example.com", lifecycle_stage="mql",
                               lead_status="attempting", owner_id=owner, consent=True)
    seed.stage_change(contact_id=unreachable, from_stage="lead", to_stage="mql", at=HANDOFF,
                      rule="mql_score")
    for hours in (2, 5, 8):
        seed.activity(contact_id=unreachable, type="call", outcome="no_answer",
                      occurred_at=HANDOFF + timedelta(hours=hours))
    later = seed.contact(email="later@example.com", last_name="山田", lifecycle_stage="mql",
                         owner_id=owner)
    seed.stage_change(contact_id=later, from_stage="lead", to_stage="mql", at=HANDOFF,
                      rule="mql_score")
    seed.lead_status_change(contact_id=later, from_status="connected", to_status="retry",
                            at=HANDOFF + timedelta(hours=3), reason="来週また",
                            retry_at=AS_OF - timedelta(hours=1))
    return settings.database_url


def test_the_flow_recycles_reminds_on_slack_leaves_an_artifact_and_a_rerun_does_nothing(
    database: str, slack_api: FakeSlackApi
) -> None:
    state = lead_recycling(as_of=AS_OF, return_state=True)
    again = lead_recycling(as_of=AS_OF)

    first = state.result()
    assert first["recycled"] == {"unreachable": 1}
    assert (first["reminders_enqueued"], first["slack_sent"], first["email_sent"]) == (2, 1, 1)
    assert [p["channel"] for p in slack_api.posted()] == ["DUIS"]
    assert again["superseded_by"] == AS_OF.isoformat()
    assert again["reminders_enqueued"] == 0
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        # Sent by hand: this Prefect's read_artifacts posts nulls the server rejects.
        response = client.request(
            "POST",
            "/artifacts/filter",
            json={
                "artifacts": {
                    "key": {"any_": [ARTIFACT_KEY]},
                    "flow_run_id": {"any_": [str(run_id)]},
                },
                "limit": 1,
                "offset": 0,
            },
        )
    assert run.name == "lead-recycling 2026-05-13T02:00Z"
    [artifact] = response.json()
    text = str(artifact["data"])
    assert "| unreachable | 1 | 1 |" in text
    assert "## Retry reminders" in text
