"""A dispatcher that dies mid-send leaves one message in doubt, and a rerun sends no duplicate.

The first test kills (`kill -9`) a dispatcher process posting to a Slack Web API on
loopback right after Slack stored a message and before the dispatcher heard back; the
rerun finds that message in the channel's history by its idempotency key. The others
interrupt dispatch in-process (SystemExit) and let a second dispatcher take over after
the lease: nothing but the one message in flight may go out twice.
"""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from leadflow.adapters.slack import SlackSender, make_web_client
from models.messages import OutboxMessage, OutboxRow
from models.tables import Outbox
from tasks.outbox import DEFAULT_LEASE, count_by_status, dispatch, enqueue

NOW = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
AFTER_LEASE = NOW + DEFAULT_LEASE + timedelta(minutes=1)
ROOT = Path(__file__).parents[2]

DISPATCHER = textwrap.dedent(
    """
    import sys
    from datetime import datetime

    from leadflow.adapters.slack import SlackSender, make_web_client
    from leadflow.db import make_engine
    from tasks.outbox import dispatch

    url, api_url, now = sys.argv[1:4]
    client = make_web_client(token="xoxb-test-token", base_url=api_url, timeout=120)
    dispatch(
        make_engine(url),
        channel="slack",
        sender=SlackSender(client),
        now=datetime.fromisoformat(now),
    )
    print("dispatch finished", flush=True)
    """
)


def _enqueue(engine: Engine, channel: str, payloads: list[dict[str, object]]) -> list[str]:
    keys = [f"{channel}-{i}" for i in range(1, len(payloads) + 1)]
    with engine.begin() as conn:
        enqueue(
            conn,
            [
                OutboxMessage(k, channel, "handoff", None, p)
                for k, p in zip(keys, payloads, strict=True)
            ],
            run_id="r1",
            now=NOW,
        )
    return keys


def _statuses(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox.idempotency_key, Outbox.status)).all()
    return {key: status for key, status in rows}


def test_kill_9_mid_dispatch_leaves_one_message_in_doubt_and_the_rerun_posts_none_twice(
    engine: Engine, database_url: str, slack_api: Any, tmp_path: Path
) -> None:
    payloads: list[dict[str, object]] = [
        {"channel": "#sales-handoff", "text": "one"},
        {"user": "U42", "text": "two"},
        {"channel": "#sales-handoff", "text": "three"},
        {"channel": "#fs-hot-leads", "text": "four"},
        {"user": "U42", "text": "five"},
        {"channel": "#sales-handoff", "text": "six"},
    ]
    keys = _enqueue(engine, "slack", payloads)
    slack_api.hold_after_post(3)  # Slack stores the 3rd post; its answer never arrives
    script = tmp_path / "dispatcher.py"
    script.write_text(DISPATCHER)
    process = subprocess.Popen(
        [sys.executable, str(script), database_url, slack_api.url, NOW.isoformat()],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert slack_api.held.wait(timeout=60), process.communicate(timeout=5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL

    # Two marked sent, exactly one in doubt (Slack has it), the rest untouched.
    assert _statuses(engine) == {
        keys[0]: "sent", keys[1]: "sent", keys[2]: "sending",
        keys[3]: "pending", keys[4]: "pending", keys[5]: "pending",
    }  # fmt: skip
    assert dispatch(engine, channel="slack", sender=_sender(slack_api), now=NOW).claimed == 0

    report = dispatch(engine, channel="slack", sender=_sender(slack_api), now=AFTER_LEASE)
    assert (report.claimed, report.in_doubt, report.sent, report.failed) == (4, 1, 4, 0)
    posted_keys = [
        message["metadata"]["event_payload"]["idempotency_key"]
        for message in slack_api.messages
    ]
    assert sorted(posted_keys) == sorted(keys)  # every hand-off exactly once
    with engine.connect() as conn:
        assert count_by_status(conn) == {"sent": 6}
    history = [params for method, params in slack_api.calls if method == "conversations.history"]
    assert [h["channel"] for h in history] == [slack_api.channel_id("#sales-handoff")]


def _sender(api: Any) -> SlackSender:
    return SlackSender(make_web_client(token=api.TOKEN, base_url=api.url, backoff_factor=0.01))


def test_an_interrupted_dispatch_resends_only_the_message_that_was_in_flight(
    engine: Engine,
) -> None:
    keys = _enqueue(engine, "email", [{"to": f"c{i}@example.com"} for i in range(5)])
    delivered: list[str] = []

    def dies_on_the_third(row: OutboxRow) -> None:
        delivered.append(row.idempotency_key)
        if row.idempotency_key == keys[2]:
            raise SystemExit("killed after the SMTP server accepted the message")

    with pytest.raises(SystemExit):
        dispatch(engine, channel="email", sender=dies_on_the_third, now=NOW)
    assert _statuses(engine) == {
        keys[0]: "sent", keys[1]: "sent", keys[2]: "sending",
        keys[3]: "pending", keys[4]: "pending",
    }  # fmt: skip

    def healthy(row: OutboxRow) -> None:
        delivered.append(row.idempotency_key)

    report = dispatch(engine, channel="email", sender=healthy, now=AFTER_LEASE)
    assert (report.in_doubt, report.sent) == (1, 3)
    # Email cannot be asked whether it arrived: the one message in flight goes out again.
    assert delivered == keys[:3] + keys[2:]


def test_a_dispatcher_past_its_lease_sends_nothing_a_second_dispatcher_took_over(
    engine: Engine,
) -> None:
    keys = _enqueue(engine, "email", [{"to": f"c{i}@example.com"} for i in range(5)])
    delivered: list[tuple[str, str]] = []

    def second(row: OutboxRow) -> None:
        delivered.append(("B", row.idempotency_key))

    def first(row: OutboxRow) -> None:
        delivered.append(("A", row.idempotency_key))
        if row.idempotency_key == keys[0]:
            # A hangs on its first message beyond the lease; B drains the outbox meanwhile.
            report = dispatch(engine, channel="email", sender=second, now=AFTER_LEASE)
            assert report.claimed == 5

    report = dispatch(engine, channel="email", sender=first, now=NOW)
    assert (report.sent, report.lost) == (1, 4)
    sends = [key for _, key in delivered]
    # Only the message A had in flight when its lease ran out went out twice.
    assert sorted(sends) == sorted([*keys, keys[0]])
    assert _statuses(engine) == dict.fromkeys(keys, "sent")


def test_a_message_that_kills_its_dispatcher_every_time_fails_after_max_attempts(
    engine: Engine,
) -> None:
    [key] = _enqueue(engine, "email", [{"to": "poison@example.com"}])
    calls: list[str] = []

    def crashes(row: OutboxRow) -> None:
        calls.append(row.idempotency_key)
        raise SystemExit("the process dies on this message")

    for hour in range(2):
        with pytest.raises(SystemExit):
            dispatch(
                engine, channel="email", sender=crashes, now=NOW + hour * timedelta(hours=1),
                max_attempts=2,
            )
    report = dispatch(
        engine, channel="email", sender=crashes, now=NOW + timedelta(hours=2), max_attempts=2
    )
    assert calls == [key, key]
    assert report.failed == 1
    assert report.failures[0].idempotency_key == key
    with engine.connect() as conn:
        row = conn.execute(select(Outbox)).one()
    assert (row.status, row.attempts) == ("failed", 2)
    assert "dispatcher stopped during attempt 2 of 2" in str(row.last_error)
