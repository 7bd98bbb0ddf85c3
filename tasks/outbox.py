"""The outbox: side effects (Slack, email) decided by a flow and drained by a dispatcher.

A flow writes `OutboxMessage`s inside its apply transaction (`enqueue`); a dispatcher
later drains due rows through a channel's `sender` (`dispatch`). The idempotency key is
unique, so a rerun that decides the same message again adds nothing; a row is marked
sent only after its sender returned, and a claim lease keeps two dispatchers from
sending the same row at once. Nothing is lost, nothing is sent twice.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from leadflow.db import insert_ignoring_conflicts
from models.tables import Outbox

PENDING = "pending"
SENT = "sent"
FAILED = "failed"

# A claimed row is invisible to other dispatchers for this long; if the process dies
# mid-send the row becomes due again afterwards instead of being lost.
DEFAULT_LEASE = timedelta(minutes=5)
# Transient failures back off exponentially but never beyond this, so the next hourly
# run always picks them up again.
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class OutboxMessage:
    """One side effect to perform once: the key makes it unique across reruns."""

    idempotency_key: str
    channel: str
    kind: str
    contact_id: int | None
    payload: dict[str, Any]
    not_before: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    """A stored outbox row as the dispatcher and its sender see it."""

    id: int
    idempotency_key: str
    channel: str
    kind: str
    contact_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    not_before: datetime | None
    created_at: datetime
    sent_at: datetime | None
    run_id: str | None


class TransientSendError(Exception):
    """The send may work later (rate limit, 5xx, network); `retry_after` in seconds if known.

    `halt=True` says the whole channel is unusable for now (e.g. a revoked token): the
    dispatcher stops and leaves the rest of the batch untouched.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, halt: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.halt = halt


class PermanentSendError(Exception):
    """The send can never work as is (bad channel, invalid payload): the row is failed."""


Sender = Callable[[OutboxRow], None]


@dataclass
class DispatchReport:
    """What one dispatch pass did; `errors` holds one line per unsent message."""

    channel: str
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def enqueue(
    conn: Connection,
    messages: Iterable[OutboxMessage],
    *,
    run_id: str | None,
    now: datetime,
) -> int:
    """Insert messages whose idempotency key is new; return how many were new."""
    rows = [
        {
            "idempotency_key": m.idempotency_key,
            "channel": m.channel,
            "kind": m.kind,
            "contact_id": m.contact_id,
            "payload": m.payload,
            "status": PENDING,
            "attempts": 0,
            "not_before": m.not_before,
            "created_at": now,
            "run_id": run_id,
        }
        for m in messages
    ]
    return insert_ignoring_conflicts(
        conn, Outbox.__table__, rows, keys=["idempotency_key"]  # type: ignore[arg-type]
    )


def _due(channel: str, now: datetime) -> Any:
    return and_(
        Outbox.status == PENDING,
        Outbox.channel == channel,
        or_(Outbox.not_before.is_(None), Outbox.not_before <= now),
    )


def claim_due(
    conn: Connection,
    *,
    channel: str,
    now: datetime,
    limit: int,
    lease: timedelta = DEFAULT_LEASE,
) -> list[OutboxRow]:
    """Claim up to `limit` due pending rows of a channel, oldest first, for `lease`.

    A claimed row keeps status pending with `not_before` pushed to the end of the lease,
    so a concurrent dispatcher skips it and a crashed one's rows come back later.
    """
    query = select(Outbox).where(_due(channel, now)).order_by(Outbox.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    records = [
        OutboxRow(**mapping)
        for mapping in conn.execute(query.with_only_columns(*Outbox.__table__.c)).mappings()
    ]
    if records:
        conn.execute(
            update(Outbox)
            .where(Outbox.id.in_([r.id for r in records]), _due(channel, now))
            .values(not_before=now + lease)
        )
    return records


def mark_sent(conn: Connection, id: int, *, now: datetime) -> None:
    """Record a successful send."""
    conn.execute(
        update(Outbox)
        .where(Outbox.id == id)
        .values(status=SENT, sent_at=now, last_error=None, attempts=Outbox.attempts + 1)
    )


def mark_retry(conn: Connection, id: int, *, error: str, not_before: datetime) -> None:
    """Record a transient failure: the row stays pending until `not_before`."""
    conn.execute(
        update(Outbox)
        .where(Outbox.id == id)
        .values(
            status=PENDING,
            last_error=error,
            not_before=not_before,
            attempts=Outbox.attempts + 1,
        )
    )


def mark_failed(conn: Connection, id: int, *, error: str) -> None:
    """Record a permanent failure: the row is never sent again."""
    conn.execute(
        update(Outbox)
        .where(Outbox.id == id)
        .values(status=FAILED, last_error=error, attempts=Outbox.attempts + 1)
    )


def release(conn: Connection, id: int, *, not_before: datetime | None) -> None:
    """Give a claimed, unattempted row back (no attempt counted), due again at `not_before`."""
    conn.execute(update(Outbox).where(Outbox.id == id).values(not_before=not_before))


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after `attempts` failed tries (exponential, capped)."""
    exponent = max(attempts - 1, 0)
    return float(min(BACKOFF_BASE_SECONDS * (2**exponent), BACKOFF_MAX_SECONDS))


def dispatch(
    engine: Engine,
    *,
    channel: str,
    sender: Sender,
    now: datetime,
    limit: int = 200,
) -> DispatchReport:
    """Drain due rows of one channel through `sender`; one transaction per status update.

    `sender` returns on success, raises `TransientSendError` to retry later (with the
    server's `retry_after` when it gave one, else exponential backoff) or
    `PermanentSendError` to fail the row. After a rate limit the rest of the batch is
    released untouched until the limit has passed, rather than hammering the API.
    """
    report = DispatchReport(channel=channel)
    with engine.begin() as conn:
        rows = claim_due(conn, channel=channel, now=now, limit=limit)
    report.claimed = len(rows)
    for index, row in enumerate(rows):
        try:
            sender(row)
        except TransientSendError as error:
            delay = error.retry_after
            wait = delay if delay is not None else backoff_seconds(row.attempts + 1)
            resume_at = now + timedelta(seconds=wait)
            with engine.begin() as conn:
                mark_retry(conn, row.id, error=str(error), not_before=resume_at)
            report.retried += 1
            report.errors.append(f"{row.idempotency_key}: {error} (retry after {wait:.0f}s)")
            if delay is not None or error.halt:
                _release_rest(engine, rows[index + 1 :], not_before=resume_at)
                report.deferred = len(rows) - index - 1
                break
        except PermanentSendError as error:
            with engine.begin() as conn:
                mark_failed(conn, row.id, error=str(error))
            report.failed += 1
            report.errors.append(f"{row.idempotency_key}: {error} (failed)")
        except Exception as error:
            # An unexpected sender error must not strand the row or the rest of the
            # batch: it stays pending with its error and backs off like a 5xx.
            wait = backoff_seconds(row.attempts + 1)
            with engine.begin() as conn:
                mark_retry(
                    conn,
                    row.id,
                    error=f"{type(error).__name__}: {error}",
                    not_before=now + timedelta(seconds=wait),
                )
            report.retried += 1
            report.errors.append(f"{row.idempotency_key}: {type(error).__name__}: {error}")
        else:
            with engine.begin() as conn:
                mark_sent(conn, row.id, now=now)
            report.sent += 1
    return report


def _release_rest(engine: Engine, rows: Sequence[OutboxRow], *, not_before: datetime) -> None:
    if not rows:
        return
    with engine.begin() as conn:
        for row in rows:
            release(conn, row.id, not_before=not_before)


def count_by_status(conn: Connection, *, channel: str | None = None) -> dict[str, int]:
    """How many outbox rows are in each status (optionally for one channel)."""
    query = select(Outbox.status, func.count()).group_by(Outbox.status)
    if channel is not None:
        query = query.where(Outbox.channel == channel)
    return {status: int(n) for status, n in conn.execute(query).all()}
