"""The Slack adapter and the outbox dispatcher against a Slack Web API on loopback."""

import time
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
from leadflow.settings import Settings
from models.tables import Outbox
from tasks.outbox import OutboxMessage, OutboxRow, PermanentSendError, dispatch, enqueue

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*山田 太郎* (Example)"}}]


def _client(api: Any, *, max_rate_limit_wait: float = 5.0) -> SlackSender:
    return SlackSender(
        make_web_client(
            token="xoxb-test-token",
            base_url=api.url,
            max_rate_limit_wait=max_rate_limit_wait,
            backoff_factor=0.01,
        )
    )


def _row(payload: dict[str, object], key: str = "k1") -> OutboxRow:
    return OutboxRow(
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


def test_a_channel_message_is_posted_with_its_blocks(slack_api: Any) -> None:
    _client(slack_api)(_row({"channel": "#sales-handoff", "text": "hi", "blocks": BLOCKS}))
    [posted] = slack_api.posted()
    assert posted["channel"] == "#sales-handoff"
    assert posted["blocks"] == BLOCKS


def test_a_direct_message_opens_the_conversation_first(slack_api: Any) -> None:
    _client(slack_api)(_row({"user": "U123", "text": "hot", "blocks": BLOCKS}))
    methods = [method for method, _ in slack_api.calls]
    assert methods == ["conversations.open", "chat.postMessage", "chat.postMessage:ok"]
    assert slack_api.calls[0][1]["users"] == "U123"
    assert slack_api.posted()[0]["channel"] == "DU123"


def test_a_short_rate_limit_is_waited_out_by_the_client_and_the_message_goes_out(
    slack_api: Any,
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
    engine: Engine, slack_api: Any
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


def test_a_server_error_is_retried_by_the_client_with_backoff(slack_api: Any) -> None:
    slack_api.fail_next("chat.postMessage", status=500, body="<html>oops</html>")
    _client(slack_api)(_row({"channel": "#sales-handoff", "text": "hi"}))
    assert len(slack_api.posted()) == 1


def test_persistent_server_errors_leave_the_message_pending_with_its_error(
    engine: Engine, slack_api: Any
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


def test_an_unknown_channel_fails_the_message_for_good(slack_api: Any) -> None:
    with pytest.raises(PermanentSendError, match="channel_not_found"):
        _client(slack_api)(_row({"channel": "#missing", "text": "x"}))


def test_a_bad_token_halts_dispatch_and_keeps_every_message_pending(
    engine: Engine, slack_api: Any
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
        slack_sender(Settings(slack_token=None, slack_token_secret=None))
