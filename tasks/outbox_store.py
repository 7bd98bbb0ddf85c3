"""The outbox table's rows: enqueue new messages, claim due ones, record each attempt.

The dispatcher (`tasks.outbox.dispatch`) drives these, one UPDATE each. Beginning an
attempt, retrying, postponing, failing and releasing are guarded by the claim token, so
a dispatcher that lost its claim changes nothing; a send is recorded whoever holds it.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, and_, bindparam, func, or_, select, update

from leadflow.db import insert_ignoring_conflicts
from models.messages import FAILED, PENDING, SENDING, SENT, OutboxMessage, OutboxRow
from models.tables import Outbox

# A claimed row is invisible to other dispatchers for this long; if the process dies
# mid-send the row becomes due again afterwards instead of being lost.
DEFAULT_LEASE = timedelta(minutes=5)


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
    table: Any = Outbox.__table__
    return insert_ignoring_conflicts(conn, table, rows, keys=["idempotency_key"])


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
        .values(
            status=PENDING,
            last_error=reason,
            not_before=not_before,
            claimed_by=None,
            attempts=Outbox.attempts - 1,
        )
    )


def mark_failed(conn: Connection, id: int, *, error: str, token: str | None = None) -> None:
    """Record a permanent failure: the row is never sent again (unless `retry_failed`)."""
    conn.execute(
        update(Outbox)
        .where(*_held(id, token))
        .values(status=FAILED, last_error=error, claimed_by=None)
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


def count_pending(conn: Connection, *, channel: str) -> int:
    """How many of `channel`'s messages wait to be sent: counted on the (status, channel)
    index, so a large history of sent rows costs nothing (the dispatch summary asks every
    step)."""
    query = select(func.count()).where(Outbox.status == PENDING, Outbox.channel == channel)
    return int(conn.execute(query).scalar_one())


def count_by_status(conn: Connection, *, channel: str | None = None) -> dict[str, int]:
    """How many outbox rows are in each status (optionally for one channel)."""
    query = select(Outbox.status, func.count()).group_by(Outbox.status)
    if channel is not None:
        query = query.where(Outbox.channel == channel)
    return {status: int(n) for status, n in conn.execute(query).all()}
