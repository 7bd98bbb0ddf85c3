"""`leadflow outbox list` and `leadflow outbox retry`: what waits, what went, what failed."""

from enum import StrEnum
from typing import Annotated

import typer

from app.cli import app, fail
from leadflow.db import ensure_database
from leadflow.settings import get_settings
from models.messages import FAILED, PENDING, SENDING, SENT, OutboxRow
from tasks.outbox_admin import list_messages, retry_failed

outbox_app = typer.Typer(
    help="Slack and email messages waiting, sent or failed.", no_args_is_help=True
)
app.add_typer(outbox_app, name="outbox")


class StatusChoice(StrEnum):
    """Outbox statuses a listing can filter on."""

    pending = PENDING
    sending = SENDING
    sent = SENT
    failed = FAILED


class ChannelChoice(StrEnum):
    """Outbox channels."""

    slack = "slack"
    email = "email"
    internal_email = "internal_email"


def format_row(row: OutboxRow) -> str:
    """One line per message: key, channel, status, attempts, contact and last error.

    Only the key and the contact id identify the message: no addresses or texts.
    """
    contact = "-" if row.contact_id is None else str(row.contact_id)
    error = (row.last_error or "").replace("\n", " ").replace("\r", " ")
    return (
        f"{row.idempotency_key}  {row.channel}  {row.status}  attempts={row.attempts}  "
        f"contact={contact}" + (f"  error={error}" if error else "")
    )


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        StatusChoice | None, typer.Option("--status", help="Only messages in this status.")
    ] = None,
    channel: Annotated[
        ChannelChoice | None, typer.Option("--channel", help="Only messages of this channel.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Show at most this many.")] = 50,
) -> None:
    """Show outbox messages, newest first, with their attempts and last error."""
    engine = ensure_database(get_settings().database_url)
    with engine.connect() as conn:
        rows = list_messages(
            conn,
            status=status.value if status else None,
            channel=channel.value if channel else None,
            limit=limit,
        )
    if not rows:
        typer.echo("no outbox messages" + (f" in status {status.value}" if status else ""))
        return
    for row in rows:
        typer.echo(format_row(row))


@outbox_app.command("retry")
def outbox_retry(
    key: Annotated[str, typer.Argument(help="Idempotency key of a failed message.")],
) -> None:
    """Put a failed message back to pending; the next dispatch tries it again."""
    engine = ensure_database(get_settings().database_url)
    with engine.begin() as conn:
        found = retry_failed(conn, key)
    if not found:
        fail(f"no failed outbox message with key {key!r}")
        return
    typer.echo(f"{key}: pending again, sent by the next dispatch")
