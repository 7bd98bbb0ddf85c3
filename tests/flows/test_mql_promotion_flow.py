"""The mql-promotion flow under the Prefect test harness, talking to a loopback Slack."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from sqlalchemy import func, select

from flows.common import DispatchStopped
from flows.mql_promotion import ARTIFACT_KEY, mql_promotion
from leadflow.adapters.slack import slack_sender
from leadflow.db import ensure_database
from leadflow.settings import Settings
from models.messages import OutboxRow
from models.tables import Outbox, StageHistory
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi

pytestmark = pytest.mark.usefixtures("prefect_harness")

AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)


@pytest.fixture
def settings(sqlite_database_url: str, use_settings: Callable[[Settings], Settings]) -> Settings:
    """What the flows read: the test database, no Slack token."""
    return use_settings(settings_for(sqlite_database_url))


@pytest.fixture
def database(settings: Settings) -> str:
    """An inside-sales owner and three webinar leads scored 55, 75 and 20 an hour ago."""
    seed = Seeder(ensure_database(settings.database_url), created_at=AS_OF)
    seed.owner(email="is@example.com", name="IS", team="is", slack_user_id="UIS")
    for i, score in ((1, 55), (2, 75), (3, 20)):
        contact_id = seed.contact(
            email=f"c{i}@example.com", last_name=f"Lead{i}", lifecycle_stage="lead",
            lead_source="webinar",
        )
        seed.snapshot(
            contact_id=contact_id, score=score, as_of=AS_OF - timedelta(hours=1),
            breakdown={"signals": [{"name": "pricing_page", "points": score}]},
        )
    return settings.database_url


@pytest.fixture
def use_slack(
    settings: Settings, slack_api: FakeSlackApi, use_settings: Callable[[Settings], Settings]
) -> Callable[[], Settings]:
    """Configure the Slack token and point the flows at the loopback Slack API."""
    return lambda: use_settings(
        settings.model_copy(update={"slack_token": slack_api.TOKEN, "slack_api_url": slack_api.url})
    )


def outbox_statuses(url: str) -> list[str]:
    """The statuses of the Slack messages in the outbox (owners' emails go on their own)."""
    with ensure_database(url).connect() as conn:
        return list(
            conn.execute(
                select(Outbox.status).where(Outbox.channel == "slack").order_by(Outbox.id)
            ).scalars()
        )


def test_the_flow_promotes_hands_off_on_slack_and_a_rerun_of_the_hour_sends_nothing_new(
    database: str, slack_api: FakeSlackApi, use_slack: Callable[[], Settings]
) -> None:
    use_slack()

    first = mql_promotion(as_of=AS_OF)
    again = mql_promotion(as_of=AS_OF + timedelta(minutes=30))

    assert first["promoted"] == {"mql": 2}
    assert first["hot"] == 1
    assert (first["messages_sent"], first["messages_pending"]) == (4, 0)
    channels = sorted(str(p["channel"]) for p in slack_api.posted())
    assert channels == ["#fs-hot-leads", "#sales-handoff", "#sales-handoff", "DUIS"]
    # The hour was decided already: the rerun does nothing at all, so sends nothing.
    assert again["superseded_by"] == AS_OF.isoformat()
    assert (again["promoted"], again["messages_enqueued"]) == ({}, 0)
    assert "messages_sent" not in again
    assert len(slack_api.posted()) == 4
    with ensure_database(database).connect() as conn:
        assert conn.execute(select(func.count()).select_from(StageHistory)).scalar_one() == 2


def test_the_flow_without_a_token_keeps_messages_pending_and_sends_them_once_configured(
    database: str, slack_api: FakeSlackApi, use_slack: Callable[[], Settings]
) -> None:
    # The run promotes and enqueues, but ends Failed saying why nothing went out.
    with pytest.raises(DispatchStopped, match="LEADFLOW_SLACK_TOKEN") as stopped:
        mql_promotion(as_of=AS_OF)
    first = stopped.value.summary
    assert first["promoted"] == {"mql": 2}
    assert first["dispatch_error"] is not None
    assert "LEADFLOW_SLACK_TOKEN" in first["dispatch_error"]
    assert outbox_statuses(database) == ["pending"] * 4

    slack_api.fail_next("chat.postMessage", status=500, times=3)
    use_slack()
    second = mql_promotion(as_of=AS_OF + timedelta(hours=1))
    assert second["promoted"] == {}
    # The client retried the first message twice; it stays pending, the rest go out.
    assert (second["messages_sent"], second["messages_pending"]) == (3, 1)

    with ensure_database(database).begin() as conn:
        # The next hourly run comes after the backoff has passed.
        conn.execute(Outbox.__table__.update().values(not_before=None))
    third = mql_promotion(as_of=AS_OF + timedelta(hours=2))
    assert (third["messages_sent"], third["messages_pending"]) == (1, 0)
    assert len(slack_api.posted()) == 4


def test_a_flow_dry_run_decides_without_writing_or_sending(
    database: str, slack_api: FakeSlackApi, use_slack: Callable[[], Settings]
) -> None:
    use_slack()
    summary = mql_promotion(as_of=AS_OF, dry_run=True)
    assert summary["dry_run"] is True
    assert summary["decided"]["mql"] == 2
    assert summary["messages_decided"] == 4
    assert outbox_statuses(database) == []
    assert slack_api.calls == []


def test_the_flow_run_is_named_after_its_hour_and_leaves_a_summary_artifact(
    database: str,
) -> None:
    state = mql_promotion(as_of=AS_OF, return_state=True)
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
    artifacts = response.json()
    assert run.name == "mql-promotion 2026-11-20T03:00Z"
    [artifact] = artifacts
    text = str(artifact["data"])
    assert "Promotions by stage" in text
    assert "| mql | 2 | 2 |" in text
    assert "Dispatch stopped" in text


def test_the_slack_token_can_come_from_a_prefect_secret_block(
    sqlite_database_url: str, slack_api: FakeSlackApi
) -> None:
    Secret(value=slack_api.TOKEN).save("leadflow-slack-token", overwrite=True)
    settings = settings_for(
        sqlite_database_url,
        slack_token=None,
        slack_token_secret="leadflow-slack-token",
        slack_api_url=slack_api.url,
    )
    sender = slack_sender(settings)
    sender(
        OutboxRow(
            id=1,
            idempotency_key="k",
            channel="slack",
            kind="handoff",
            contact_id=None,
            payload={"channel": "#sales-handoff", "text": "hi"},
            status="pending",
            attempts=0,
            last_error=None,
            not_before=None,
            created_at=AS_OF,
            sent_at=None,
            run_id=None,
        )
    )
    assert [p["channel"] for p in slack_api.posted()] == ["#sales-handoff"]
