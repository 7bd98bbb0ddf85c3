"""The outbox on real SQLite and PostgreSQL: unique keys, claims, retries, failures."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from models.tables import Outbox
from tasks.outbox import (
    OutboxMessage,
    OutboxRow,
    PermanentSendError,
    TransientSendError,
    claim_due,
    count_by_status,
    dispatch,
    enqueue,
)

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
