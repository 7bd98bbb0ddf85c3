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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from leadflow.timeutil import utc_now
from models.messages import (
    SENDING,
    OutboxRow,
    PermanentSendError,
    SendLater,
    TransientSendError,
)
from tasks.outbox_store import (
    DEFAULT_LEASE,
    begin_attempt,
    claim_due,
    count_by_status,
    count_pending,
    enqueue,
    mark_failed,
    mark_postponed,
    mark_retry,
    mark_sent,
    release,
)

# Re-exported: flows' apply beats, the senders and tests import the row operations here.
__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_MAX_SECONDS",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_ATTEMPTS",
    "DispatchReport",
    "FailedMessage",
    "Sender",
    "backoff_seconds",
    "begin_attempt",
    "claim_due",
    "count_by_status",
    "count_pending",
    "dispatch",
    "enqueue",
    "mark_failed",
    "mark_postponed",
    "mark_retry",
    "mark_sent",
    "release",
]

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
                    mark_postponed(
                        conn, row.id, reason=str(later), not_before=later.resume_at, token=token
                    )
                report.postponed += 1
            except TransientSendError as error:
                delay = error.retry_after
                wait = delay if delay is not None else backoff_seconds(row.attempts + 1)
                resume_at = now + timedelta(seconds=wait)
                with engine.begin() as conn:
                    mark_retry(conn, row.id, error=str(error), not_before=resume_at, token=token)
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
                    _fail(
                        engine, row, f"{reason} (gave up after {attempts} attempts)", token, report
                    )
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
    report.failures.append(FailedMessage(row.idempotency_key, row.channel, row.contact_id, reason))


def _release_rest(
    engine: Engine, rows: Sequence[OutboxRow], *, not_before: datetime, token: str
) -> None:
    if not rows:
        return
    with engine.begin() as conn:
        for row in rows:
            release(conn, row.id, not_before=not_before, token=token)
