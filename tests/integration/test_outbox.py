"""The outbox on real SQLite and PostgreSQL: unique keys, claims, retries, failures."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

import app.cli
from leadflow.adapters.email import SmtpTransport
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import get_settings
from models.messages import (
    OutboxMessage,
    OutboxRow,
    PermanentSendError,
    SendLater,
    TransientSendError,
)
from models.rules import load_rules
from models.tables import Outbox
from tasks.nurture.decide import PlannedEmail
from tasks.nurture.send import dispatch_emails
from tasks.outbox import claim_due, count_by_status, count_pending, dispatch, enqueue
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def _message(key: str, **extra: object) -> OutboxMessage:
    return OutboxMessage(
        idempotency_key=key,
        channel="slack",
        kind="handoff",
        contact_id=None,
        payload={"text": key, **extra},
    )


def test_enqueue_adds_only_messages_with_new_keys(engine: Engine) -> None:
    with engine.begin() as conn:
        first = enqueue(conn, [_message("a"), _message("b")], run_id="r1", now=NOW)
    with engine.begin() as conn:
        second = enqueue(conn, [_message("b"), _message("c")], run_id="r2", now=NOW)
        empty = enqueue(conn, [], run_id="r2", now=NOW)
    assert (first, second, empty) == (2, 1, 0)
    with engine.connect() as conn:
        assert count_by_status(conn) == {"pending": 3}


def test_claimed_rows_are_invisible_to_a_second_claim_until_the_lease_ends(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        enqueue(conn, [_message("a"), _message("b")], run_id="r1", now=NOW)
    with engine.begin() as conn:
        claimed = claim_due(conn, channel="slack", now=NOW, limit=10)
    with engine.begin() as conn:
        again = claim_due(conn, channel="slack", now=NOW, limit=10)
        after_lease = claim_due(conn, channel="slack", now=NOW + timedelta(hours=1), limit=10)
    assert [r.idempotency_key for r in claimed] == ["a", "b"]
    assert claimed[0].payload == {"text": "a"}
    assert claimed[0].created_at == NOW
    assert again == []
    assert len(after_lease) == 2


def test_a_message_that_may_go_only_later_waits_uncounted_and_is_no_failure(
    engine: Engine,
) -> None:
    # An email due for a past hour, dispatched at night: it waits for the send window.
    opens = NOW + timedelta(hours=9)
    with engine.begin() as conn:
        enqueue(conn, [_message("night")], run_id="r1", now=NOW)

    def sender(row: OutboxRow) -> None:
        raise SendLater("outside the send window", resume_at=opens)

    report = dispatch(engine, channel="slack", sender=sender, now=NOW)

    assert (report.sent, report.retried, report.failed, report.postponed) == (0, 0, 0, 1)
    with engine.connect() as conn:
        row = conn.execute(select(Outbox.status, Outbox.attempts, Outbox.not_before)).one()
    assert (row.status, row.attempts, row.not_before) == ("pending", 0, opens)
    assert dispatch(engine, channel="slack", sender=sender, now=opens - timedelta(minutes=1)
                    ).claimed == 0


def test_dispatch_sends_each_message_once_and_keeps_transient_failures_pending(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        enqueue(conn, [_message(k) for k in ("ok", "flaky", "bad")], run_id="r1", now=NOW)
    delivered: list[str] = []

    def sender(row: OutboxRow) -> None:
        if row.idempotency_key == "flaky":
            raise TransientSendError("HTTP 500")
        if row.idempotency_key == "bad":
            raise PermanentSendError("channel_not_found")
        delivered.append(row.idempotency_key)

    report = dispatch(engine, channel="slack", sender=sender, now=NOW)
    assert (report.sent, report.retried, report.failed) == (1, 1, 1)
    second = dispatch(engine, channel="slack", sender=sender, now=NOW)
    assert second.claimed == 0
    with engine.connect() as conn:
        flaky = conn.execute(select(Outbox).where(Outbox.idempotency_key == "flaky")).one()
    assert flaky.status == "pending"
    assert flaky.last_error == "HTTP 500"
    assert flaky.attempts == 1
    assert flaky.not_before == NOW + timedelta(seconds=30)

    def healthy(row: OutboxRow) -> None:
        delivered.append(row.idempotency_key)

    later = dispatch(engine, channel="slack", sender=healthy, now=NOW + timedelta(minutes=1))
    assert later.sent == 1
    assert delivered == ["ok", "flaky"]
    with engine.connect() as conn:
        assert count_by_status(conn) == {"sent": 2, "failed": 1}


def test_a_rate_limit_defers_the_rest_of_the_batch_until_retry_after(engine: Engine) -> None:
    with engine.begin() as conn:
        enqueue(conn, [_message(k) for k in ("a", "b", "c")], run_id="r1", now=NOW)

    def limited(row: OutboxRow) -> None:
        raise TransientSendError("ratelimited", retry_after=120)

    report = dispatch(engine, channel="slack", sender=limited, now=NOW)
    assert (report.retried, report.deferred) == (1, 2)
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox).order_by(Outbox.id)).all()
    assert [r.attempts for r in rows] == [1, 0, 0]
    assert {r.not_before for r in rows} == {NOW + timedelta(seconds=120)}
    too_early = NOW + timedelta(seconds=60)
    assert dispatch(engine, channel="slack", sender=limited, now=too_early).claimed == 0


def test_dispatch_only_drains_its_own_channel(engine: Engine) -> None:
    email = OutboxMessage("e1", "email", "nurture", None, {"to": "x@example.com"})
    with engine.begin() as conn:
        enqueue(conn, [_message("s1"), email], run_id="r1", now=NOW)
    seen: list[str] = []
    dispatch(engine, channel="slack", sender=lambda row: seen.append(row.channel), now=NOW)
    assert seen == ["slack"]
    with engine.connect() as conn:
        assert count_by_status(conn, channel="email") == {"pending": 1}
        pending = [count_pending(conn, channel=channel) for channel in ("email", "slack")]
    assert pending == [1, 0]


def test_a_sender_error_of_no_known_kind_fails_the_row_after_max_attempts(engine: Engine) -> None:
    with engine.begin() as conn:
        enqueue(conn, [_message("broken"), _message("fine")], run_id="r1", now=NOW)
    tries: list[str] = []

    def sender(row: OutboxRow) -> None:
        tries.append(row.idempotency_key)
        if row.idempotency_key == "broken":
            raise KeyError("blocks")

    reports = [
        dispatch(engine, channel="slack", sender=sender, now=NOW + hour * timedelta(hours=1),
                 max_attempts=3)
        for hour in range(5)
    ]
    assert tries == ["broken", "fine", "broken", "broken"]
    assert [(r.retried, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    assert reports[2].failures[0].reason == "KeyError: 'blocks' (gave up after 3 attempts)"
    with engine.connect() as conn:
        assert count_by_status(conn) == {"sent": 1, "failed": 1}


TUESDAY_11_JST = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
INJECTED = "victim@example.com\r\nBcc: everyone@example.com"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `leadflow` CLI on the test database."""
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    app.cli._register_commands()
    yield CliRunner()
    get_settings.cache_clear()


def test_an_email_to_an_address_with_cr_lf_fails_at_once_and_is_listed_without_the_address(
    engine: Engine, database_url: str, smtp_server: Any, cli: CliRunner
) -> None:
    contact_id = Seeder(engine).contact(email="taro@customer.example.jp", consent=True)
    email = PlannedEmail(
        email_id=f"nurture:new_lead:{contact_id}:20261201T020000Z:email_1",
        enrollment_key=f"new_lead:{contact_id}:20261201T020000Z",
        contact_id=contact_id,
        program="new_lead",
        step="email_1",
        template="new_lead/email_1",
        locale="ja",
        to=INJECTED,
        first_name="太郎",
        last_name="山田",
        company="株式会社サンプル",
        timezone="Asia/Tokyo",
    )
    message = OutboxMessage(email.email_id, "email", "nurture_email", contact_id, email.payload())
    with engine.begin() as conn:
        enqueue(conn, [message], run_id="r1", now=TUESDAY_11_JST)
    settings = settings_for(
        database_url,
        public_base_url="https://track.example.test",
        signing_secret="outbox-test-secret",
        email_from="marketing@leadflow.example.jp",
        business_timezone="Asia/Tokyo",
    )
    transport = SmtpTransport(host=smtp_server.host, port=smtp_server.port, security="none")
    rules = load_rules(DEFAULT_RULES_PATH)
    reports = [
        dispatch_emails(
            engine,
            rules=rules,
            settings=settings,
            transport=transport,
            # 16 minutes apart: past the longest backoff, inside the send window
            now=TUESDAY_11_JST + attempt * timedelta(minutes=16),
        )
        for attempt in range(2)
    ]
    # The address can never be valid: no retries, failed on the first attempt.
    assert [r.retried for r in reports] == [0, 0]
    assert [r.failed for r in reports] == [1, 0]
    assert reports[0].failures[0].idempotency_key == email.email_id
    assert smtp_server.received == []
    with engine.connect() as conn:
        row = conn.execute(select(Outbox)).one()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "CR or LF" in str(row.last_error)

    result = cli.invoke(app.cli.app, ["outbox", "list", "--status", "failed"])
    assert result.exit_code == 0, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"{email.email_id}  email  failed  attempts=1  contact={contact_id}")
    assert "invalid recipient address: invalid arguments; address parts cannot contain CR" in line
    assert "victim@example.com" not in line  # the reason names no address
    pending = cli.invoke(app.cli.app, ["outbox", "list", "--status", "pending"])
    assert pending.output.strip() == "no outbox messages in status pending"

    retried = cli.invoke(app.cli.app, ["outbox", "retry", email.email_id])
    assert retried.exit_code == 0, retried.output
    listed = cli.invoke(app.cli.app, ["outbox", "list", "--channel", "email"]).output
    assert "  email  pending  attempts=0  " in listed
    assert cli.invoke(app.cli.app, ["outbox", "retry", "nope"]).exit_code == 1
