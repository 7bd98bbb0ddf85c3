"""The outbox: side effects (Slack, email) decided by a flow and drained by a dispatcher.

A flow writes `OutboxMessage`s inside its apply transaction (`enqueue`); a dispatcher
later drains due rows through a channel's `sender` (`dispatch`). The idempotency key is
unique, so a rerun that decides the same message again adds nothing.

Crash safety: a dispatcher claims rows atomically under its own token and a lease, then
per row commits `status=sending` (counting the attempt) *before* calling the sender, in
the same transaction that records the previous row `sent` (one commit per message). A
dispatcher killed mid-batch therefore leaves at most one row in doubt — the one in
`sending` — and its untouched claims simply come back when the lease ends. The next
attempt at an in-doubt row passes it to the sender with `in_doubt` set:
the Slack sender then looks for the message (by its idempotency key in the message
metadata) before posting again. Email cannot be asked, so a crash mid-send may deliver
that one email twice (same Message-ID, so most clients show it once).

Attempt limit: a row whose sender raised something other than the send errors (it can
never be built, e.g. an address with CR/LF) or whose dispatcher died `max_attempts`
times becomes `failed` with the reason. `TransientSendError` (rate limit, 5xx, network,
SMTP 4xx, outside the send window) blames the channel, not the message: it backs off
without a limit, so an outage loses no hand-off. `PermanentSendError` fails at once.
"""

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, and_, bindparam, func, or_, select, update

from leadflow.db import insert_ignoring_conflicts
from leadflow.timeutil import utc_now
from models.messages import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    OutboxMessage,
    OutboxRow,
    PermanentSendError,
    SendLater,
    TransientSendError,
)
from models.tables import Outbox

# A claimed row is invisible to other dispatchers for this long; if the process dies
# mid-send the row becomes due again afterwards instead of being lost.
DEFAULT_LEASE = timedelta(minutes=5)
# Tries before a message that keeps failing for no known reason (or keeps killing its
# dispatcher) is given up as failed.
DEFAULT_MAX_ATTEMPTS = 8
# Transient failures back off exponentially but never beyond this, so the next hourly
# run always picks them up again.
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 15 * 60.0


Sender = Callable[[OutboxRow], None]


@dataclass(frozen=True)
class FailedMessage:
    """A message given up for good; no personal data, only the key, contact id and reason."""

    idempotency_key: str
    channel: str
    contact_id: int | None
    reason: str


@dataclass
class DispatchReport:
    """What one dispatch pass did; `errors` holds one line per unsent message.

    `in_doubt` counts claimed rows a crashed dispatcher had left in `sending`; `lost`
    counts claimed rows another dispatcher took over after this one's lease ended;
    `postponed` counts rows the sender said may go only later (`SendLater`).
    """

    channel: str
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    postponed: int = 0
    in_doubt: int = 0
    lost: int = 0
    errors: list[str] = field(default_factory=list)
    failures: list[FailedMessage] = field(default_factory=list)


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
    # A `sending` row is due once its lease has ended: its dispatcher died mid-send.
    return and_(
        Outbox.status.in_([PENDING, SENDING]),
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
    token: str | None = None,
) -> list[OutboxRow]:
    """Claim up to `limit` due rows of a channel for `lease`; return them oldest first.

    One UPDATE … RETURNING sets `claimed_by` and pushes `not_before` to the end of the
    lease, so only rows this call really claimed come back, even when two dispatchers
    race (SQLite serialises the writes; PostgreSQL skips rows locked by the other).
    """
    ids = select(Outbox.id).where(_due(channel, now)).order_by(Outbox.id).limit(limit)
    if conn.dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    claimed = conn.execute(
        update(Outbox)
        .where(Outbox.id.in_(ids.scalar_subquery()), _due(channel, now))
        .values(not_before=now + lease, claimed_by=token or uuid.uuid4().hex)
        .returning(*Outbox.__table__.c)
    ).mappings()
    return sorted((OutboxRow(**mapping) for mapping in claimed), key=lambda r: r.id)


# The dispatcher runs these two for every message: built (and cache-keyed) once, because
# building a statement costs more than running it.
_BEGIN_ATTEMPT = (
    update(Outbox)
    .where(
        Outbox.id == bindparam("row_id"),
        Outbox.claimed_by == bindparam("token"),
        Outbox.status.in_([PENDING, SENDING]),
    )
    .values(
        status=SENDING,
        attempts=Outbox.attempts + 1,
        attempt_started_at=bindparam("at"),
        # Typed as SQLAlchemy types an aware datetime given to coalesce() directly.
        first_attempt_at=func.coalesce(
            Outbox.first_attempt_at, bindparam("first_at", type_=DateTime(timezone=True))
        ),
        not_before=bindparam("lease_until"),
    )
)
_MARK_SENT = (
    update(Outbox)
    .where(Outbox.id == bindparam("row_id"))
    .values(status=SENT, sent_at=bindparam("sent"), last_error=None, claimed_by=None)
)


def begin_attempt(
    conn: Connection, row: OutboxRow, *, token: str, at: datetime, lease_until: datetime
) -> bool:
    """Mark a claimed row `sending` and count the attempt; False if the claim was lost."""
    result = conn.execute(
        _BEGIN_ATTEMPT,
        {"row_id": row.id, "token": token, "at": at, "first_at": at, "lease_until": lease_until},
    )
    return result.rowcount == 1


def mark_sent(conn: Connection, id: int, *, now: datetime) -> None:
    """Record a successful send (whoever holds the claim: the message is out)."""
    conn.execute(_MARK_SENT, {"row_id": id, "sent": now})


def mark_retry(
    conn: Connection, id: int, *, error: str, not_before: datetime, token: str | None = None
) -> None:
    """Record a failed attempt: the row is pending again from `not_before`."""
    conn.execute(
        update(Outbox)
        .where(*_held(id, token))
        .values(status=PENDING, last_error=error, not_before=not_before, claimed_by=None)
    )


def mark_postponed(
    conn: Connection, id: int, *, reason: str, not_before: datetime, token: str | None = None
) -> None:
    """Put a row back, due at `not_before`; the attempt just begun does not count."""
    conn.execute(
        update(Outbox)
        .where(*_held(id, token))
        .values(status=PENDING, last_error=reason, not_before=not_before, claimed_by=None,
                attempts=Outbox.attempts - 1)
    )


def mark_failed(conn: Connection, id: int, *, error: str, token: str | None = None) -> None:
    """Record a permanent failure: the row is never sent again (unless `retry_failed`)."""
    conn.execute(
        update(Outbox).where(*_held(id, token)).values(
            status=FAILED, last_error=error, claimed_by=None
        )
    )


def release(
    conn: Connection, id: int, *, not_before: datetime | None, token: str | None = None
) -> None:
    """Give a claimed, unattempted row back (status kept), due again at `not_before`."""
    conn.execute(
        update(Outbox).where(*_held(id, token)).values(not_before=not_before, claimed_by=None)
    )


def _held(id: int, token: str | None) -> list[Any]:
    return [Outbox.id == id] if token is None else [Outbox.id == id, Outbox.claimed_by == token]


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
    lease: timedelta = DEFAULT_LEASE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    clock: Callable[[], datetime] = utc_now,
) -> DispatchReport:
    """Drain due rows of one channel through `sender`; one transaction per message.

    `sender` gets the row as claimed (`attempts` = earlier attempts, so `in_doubt` says an
    earlier one may have delivered it) and returns on success, raises
    `TransientSendError` to retry later (with the server's `retry_after` when it gave
    one, else exponential backoff) or `PermanentSendError` to fail the row. After a rate
    limit the rest of the batch is released untouched until the limit has passed.
    `clock` stamps attempts with wall-clock time (Slack history is in real time even
    when `now` is a backfill's hour); each attempt also extends the row's lease.
    """
    report = DispatchReport(channel=channel)
    token = uuid.uuid4().hex
    started = time.monotonic()
    with engine.begin() as conn:
        rows = claim_due(conn, channel=channel, now=now, limit=limit, lease=lease, token=token)
    report.claimed = len(rows)
    # A sent row is recorded in the transaction that begins the next attempt (or at the
    # end): one commit per message. A crash before that commit leaves that one row in
    # `sending`, as a crash before a commit of its own would.
    sent: list[int] = []
    try:
        for index, row in enumerate(rows):
            if row.status == SENDING:
                report.in_doubt += 1
                if row.attempts >= max_attempts:
                    reason = (
                        f"the dispatcher stopped during attempt {row.attempts} of "
                        f"{max_attempts}; it may have gone out"
                    )
                    _fail(engine, row, reason, token, report, sent=sent, now=now)
                    continue
            elapsed = timedelta(seconds=time.monotonic() - started)
            with engine.begin() as conn:
                _record_sent(conn, sent, now=now)
                mine = begin_attempt(
                    conn, row, token=token, at=clock(), lease_until=now + elapsed + lease
                )
            if not mine:
                report.lost += 1
                continue
            try:
                sender(row)
            except SendLater as later:
                with engine.begin() as conn:
                    mark_postponed(conn, row.id, reason=str(later),
                                   not_before=later.resume_at, token=token)
                report.postponed += 1
            except TransientSendError as error:
                delay = error.retry_after
                wait = delay if delay is not None else backoff_seconds(row.attempts + 1)
                resume_at = now + timedelta(seconds=wait)
                with engine.begin() as conn:
                    mark_retry(conn, row.id, error=str(error), not_before=resume_at,
                               token=token)
                report.retried += 1
                report.errors.append(f"{row.idempotency_key}: {error} (retry after {wait:.0f}s)")
                if delay is not None or error.halt:
                    _release_rest(engine, rows[index + 1 :], not_before=resume_at, token=token)
                    report.deferred = len(rows) - index - 1
                    break
            except PermanentSendError as error:
                _fail(engine, row, str(error), token, report)
            except Exception as error:
                # Neither transient nor permanent (a payload that cannot be built, a bug):
                # back off like a 5xx, but only up to `max_attempts` tries.
                reason = f"{type(error).__name__}: {error}"
                attempts = row.attempts + 1
                if attempts >= max_attempts:
                    _fail(engine, row, f"{reason} (gave up after {attempts} attempts)", token,
                          report)
                    continue
                wait = backoff_seconds(attempts)
                with engine.begin() as conn:
                    mark_retry(
                        conn,
                        row.id,
                        error=reason,
                        not_before=now + timedelta(seconds=wait),
                        token=token,
                    )
                report.retried += 1
                report.errors.append(f"{row.idempotency_key}: {reason} (attempt {attempts})")
            else:
                sent.append(row.id)
                report.sent += 1
    finally:
        if sent:
            with engine.begin() as conn:
                _record_sent(conn, sent, now=now)
    return report


def _record_sent(conn: Connection, sent: list[int], *, now: datetime) -> None:
    """Mark the rows in `sent` sent (in `conn`'s transaction) and empty the list."""
    for id in sent:
        mark_sent(conn, id, now=now)
    sent.clear()


def _fail(
    engine: Engine,
    row: OutboxRow,
    reason: str,
    token: str,
    report: DispatchReport,
    *,
    sent: list[int] | None = None,
    now: datetime | None = None,
) -> None:
    with engine.begin() as conn:
        if sent and now is not None:
            _record_sent(conn, sent, now=now)
        mark_failed(conn, row.id, error=reason, token=token)
    report.failed += 1
    report.errors.append(f"{row.idempotency_key}: {reason} (failed)")
    report.failures.append(
        FailedMessage(row.idempotency_key, row.channel, row.contact_id, reason)
    )


def _release_rest(
    engine: Engine, rows: Sequence[OutboxRow], *, not_before: datetime, token: str
) -> None:
    if not rows:
        return
    with engine.begin() as conn:
        for row in rows:
            release(conn, row.id, not_before=not_before, token=token)


def count_by_status(conn: Connection, *, channel: str | None = None) -> dict[str, int]:
    """How many outbox rows are in each status (optionally for one channel)."""
    query = select(Outbox.status, func.count()).group_by(Outbox.status)
    if channel is not None:
        query = query.where(Outbox.channel == channel)
    return {status: int(n) for status, n in conn.execute(query).all()}

