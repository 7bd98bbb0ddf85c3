"""Looking at and repairing the outbox: list messages by status, put a failed one back.

Used by `leadflow outbox list` / `leadflow outbox retry` and by the run artifacts (the
failed list); the dispatcher itself lives in `tasks.outbox`.
"""

from collections.abc import Sequence

from sqlalchemy import Connection, select, update

from models.messages import FAILED, PENDING, OutboxRow
from models.tables import Outbox
from tasks.outbox import FailedMessage


def list_messages(
    conn: Connection,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 50,
) -> list[OutboxRow]:
    """Outbox rows, newest first, optionally of one status and channel."""
    query = select(*Outbox.__table__.c).order_by(Outbox.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Outbox.status == status)
    if channel is not None:
        query = query.where(Outbox.channel == channel)
    return [OutboxRow(**mapping) for mapping in conn.execute(query).mappings()]


def retry_failed(conn: Connection, idempotency_key: str) -> bool:
    """Put a failed message back to pending with a fresh attempt count; False if none.

    `first_attempt_at` stays, so the Slack sender still checks before posting again.
    """
    result = conn.execute(
        update(Outbox)
        .where(Outbox.idempotency_key == idempotency_key, Outbox.status == FAILED)
        .values(status=PENDING, attempts=0, not_before=None, claimed_by=None)
    )
    return result.rowcount == 1


def failed_markdown(failures: Sequence[FailedMessage], *, limit: int = 50) -> list[str]:
    """Artifact lines listing messages failed for good (key, channel, contact id, reason)."""
    if not failures:
        return []
    lines = [
        "",
        f"Failed for good: {len(failures)} (`leadflow outbox list --status failed`; "
        "`leadflow outbox retry KEY` sends one again)",
        "",
        "| key | channel | contact | reason |",
        "|---|---|---:|---|",
    ]
    for failure in failures[:limit]:
        contact = "-" if failure.contact_id is None else str(failure.contact_id)
        reason = " ".join(failure.reason.split()).replace("|", "\\|")
        lines.append(f"| `{failure.idempotency_key}` | {failure.channel} | {contact} | {reason} |")
    if len(failures) > limit:
        lines.append(f"| … | | | {len(failures) - limit} more |")
    return lines
