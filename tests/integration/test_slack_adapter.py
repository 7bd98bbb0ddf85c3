"""The Slack adapter and the outbox dispatcher against a Slack Web API on loopback."""

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from leadflow.adapters.slack import (
    SlackNotConfigured,
    SlackSender,
    make_web_client,
    slack_sender,
)
from models.messages import OutboxMessage, OutboxRow, PermanentSendError
from models.tables import Outbox
from tasks.outbox import dispatch, enqueue
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*山田 太郎* (Example)"}}]


def _client(api: FakeSlackApi, *, max_rate_limit_wait: float = 5.0) -> SlackSender:
    return SlackSender(
        make_web_client(
            token=api.TOKEN,
            base_url=api.url,
            max_rate_limit_wait=max_rate_limit_wait,
            backoff_factor=0.01,
        )
    )


def _row(payload: dict[str, object], key: str = "k1", **earlier: Any) -> OutboxRow:
    row = OutboxRow(
        id=1,
        idempotency_key=key,
        channel="slack",
        kind="handoff",
        contact_id=None,
        payload=payload,
        status="pending",
        attempts=0,
        last_error=None,
        not_before=None,
        created_at=NOW,
        sent_at=None,
        run_id=None,
    )
    return replace(row, **earlier)


def _enqueue(engine: Engine, *payloads: dict[str, object]) -> None:
    with engine.begin() as conn:
        enqueue(
            conn,
            [
                OutboxMessage(f"k{i}", "slack", "handoff", None, payload)
                for i, payload in enumerate(payloads, start=1)
            ],
            run_id="r1",
            now=NOW,
        )


def test_a_channel_message_is_posted_with_its_blocks(slack_api: FakeSlackApi) -> None:
    _client(slack_api)(_row({"channel": "#sales-handoff", "text": "hi", "blocks": BLOCKS}))
    [posted] = slack_api.posted()
    assert posted["channel"] == "#sales-handoff"
    assert posted["blocks"] == BLOCKS


def test_a_direct_message_opens_the_conversation_first(slack_api: FakeSlackApi) -> None:
    _client(slack_api)(_row({"user": "U123", "text": "hot", "blocks": BLOCKS}))
    methods = [method for method, _ in slack_api.calls]
    assert methods == ["conversations.open", "chat.postMessage", "chat.postMessage:ok"]
    assert slack_api.calls[0][1]["users"] == "U123"
    assert slack_api.posted()[0]["channel"] == "DU123"


def test_a_short_rate_limit_is_waited_out_by_the_client_and_the_message_goes_out(
    slack_api: FakeSlackApi,
) -> None:
    slack_api.fail_next(
        "chat.postMessage",
        status=429,
        headers={"Retry-After": "1"},
        body='{"ok": false, "error": "ratelimited"}',
    )
    started = time.monotonic()
    _client(slack_api)(_row({"channel": "#sales-handoff", "text": "hi", "blocks": BLOCKS}))
    assert time.monotonic() - started >= 1.0
    assert len(slack_api.posted()) == 1


def test_a_long_rate_limit_keeps_the_rows_pending_until_retry_after(
    engine: Engine, slack_api: FakeSlackApi
) -> None:
    _enqueue(engine, {"channel": "#a", "text": "1"}, {"channel": "#b", "text": "2"})
    slack_api.fail_next(
        "chat.postMessage",
        status=429,
        headers={"Retry-After": "30"},
        body='{"ok": false, "error": "ratelimited"}',
    )
    report = dispatch(engine, channel="slack", sender=_client(slack_api), now=NOW)
    assert (report.sent, report.retried, report.deferred) == (0, 1, 1)
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox).order_by(Outbox.id)).all()
    assert [r.status for r in rows] == ["pending", "pending"]
    assert rows[0].last_error == "HTTP 429 rate limited"
    assert {r.not_before for r in rows} == {NOW + timedelta(seconds=30)}

    later = dispatch(
        engine, channel="slack", sender=_client(slack_api), now=NOW + timedelta(seconds=31)
    )
    assert later.sent == 2
    assert [p["channel"] for p in slack_api.posted()] == ["#a", "#b"]


def test_a_server_error_is_retried_by_the_client_with_backoff(slack_api: FakeSlackApi) -> None:
    slack_api.fail_next("chat.postMessage", status=500, body="<html>oops</html>")
    _client(slack_api)(_row({"channel": "#sales-handoff", "text": "hi"}))
    assert len(slack_api.posted()) == 1


def test_persistent_server_errors_leave_the_message_pending_with_its_error(
    engine: Engine, slack_api: FakeSlackApi
) -> None:
    _enqueue(engine, {"channel": "#a", "text": "1"})
    slack_api.fail_next("chat.postMessage", status=500, times=3)
    report = dispatch(engine, channel="slack", sender=_client(slack_api), now=NOW)
    assert (report.sent, report.retried) == (0, 1)
    with engine.connect() as conn:
        row = conn.execute(select(Outbox)).one()
    assert row.status == "pending"
    assert row.last_error is not None and "500" in row.last_error
    assert row.attempts == 1

    again = dispatch(
        engine, channel="slack", sender=_client(slack_api), now=NOW + timedelta(minutes=5)
    )
    assert again.sent == 1
    assert len(slack_api.posted()) == 1


def test_an_unknown_channel_fails_the_message_for_good(slack_api: FakeSlackApi) -> None:
    with pytest.raises(PermanentSendError, match="channel_not_found"):
        _client(slack_api)(_row({"channel": "#missing", "text": "x"}))


def test_a_bad_token_halts_dispatch_and_keeps_every_message_pending(
    engine: Engine, slack_api: FakeSlackApi
) -> None:
    _enqueue(engine, {"channel": "#a", "text": "1"}, {"channel": "#b", "text": "2"})
    sender = SlackSender(make_web_client(token="xoxb-wrong", base_url=slack_api.url))
    report = dispatch(engine, channel="slack", sender=sender, now=NOW)
    assert (report.sent, report.failed, report.retried, report.deferred) == (0, 0, 1, 1)
    with engine.connect() as conn:
        statuses = conn.execute(select(Outbox.status)).scalars().all()
    assert statuses == ["pending", "pending"]


def test_a_missing_token_is_one_clear_error() -> None:
    with pytest.raises(SlackNotConfigured, match="LEADFLOW_SLACK_TOKEN"):
        slack_sender(settings_for("sqlite://", slack_token=None, slack_token_secret=None))


def test_every_post_carries_its_idempotency_key_in_the_message_metadata(
    slack_api: FakeSlackApi,
) -> None:
    _client(slack_api)(_row({"channel": "#sales-handoff", "text": "hi"}, key="handoff:7"))
    [posted] = slack_api.posted()
    assert posted["metadata"] == {
        "event_type": "leadflow_outbox",
        "event_payload": {"idempotency_key": "handoff:7"},
    }
    assert [method for method, _ in slack_api.calls] == ["chat.postMessage", "chat.postMessage:ok"]


def test_a_post_whose_answer_was_lost_is_found_in_the_history_and_not_posted_again(
    engine: Engine, slack_api: FakeSlackApi
) -> None:
    _enqueue(engine, {"channel": "#sales-handoff", "text": "1"}, {"user": "U7", "text": "2"})
    slack_api.hold_after_post(1)  # Slack keeps the first post but the answer never comes
    sender = SlackSender(
        make_web_client(token=slack_api.TOKEN, base_url=slack_api.url, timeout=1)
    )
    report = dispatch(engine, channel="slack", sender=sender, now=NOW)
    assert (report.sent, report.retried) == (1, 1)
    with engine.connect() as conn:
        first = conn.execute(select(Outbox).where(Outbox.idempotency_key == "k1")).one()
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.first_attempt_at is not None

    later = dispatch(
        engine, channel="slack", sender=_client(slack_api), now=NOW + timedelta(hours=1)
    )
    assert later.sent == 1
    assert len(slack_api.messages) == 2  # k1 was found in #sales-handoff's history
    history = [p for method, p in slack_api.calls if method == "conversations.history"]
    assert [p["channel"] for p in history] == [slack_api.channel_id("#sales-handoff")]
    assert history[0]["include_all_metadata"] in ("1", "true", "True")


def test_a_message_in_doubt_that_slack_never_got_is_posted_once(slack_api: FakeSlackApi) -> None:
    started = datetime.now(UTC)
    _client(slack_api)(_row({"channel": "#other", "text": "earlier"}, key="other"))
    sender = _client(slack_api)
    sender(_row({"user": "U9", "text": "dm"}, key="dm", attempts=1, first_attempt_at=started))
    sender(_row({"channel": "#sales-handoff", "text": "x"}, attempts=2, first_attempt_at=started))
    assert [p["channel"] for p in slack_api.posted()] == ["#other", "DU9", "#sales-handoff"]
    methods = [method for method, _ in slack_api.calls if not method.endswith(":ok")]
    assert methods == [
        "chat.postMessage",
        "conversations.open",
        "conversations.history",  # the DM's id needs no lookup
        "chat.postMessage",
        "conversations.list",  # #sales-handoff is unknown to Slack: nothing to look up
        "chat.postMessage",
    ]
