"""Internal email to the people who work leads: hand-off notices, SLA reminders, escalations.

Not marketing: no consent, send window or frequency cap applies, and there is no
unsubscribe link. Messages are rendered when they are decided (like Slack messages) and
wait in the outbox on their own channel, so a rerun never sends one twice.
"""

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import Engine

from leadflow.adapters.email import EmailTransport
from leadflow.email_message import (
    MESSAGE_POLICY,
    date_header,
    message_id_for,
    recipient_address,
    sender_for,
    set_text_body,
    subject_header,
    to_header,
)
from models.messages import OutboxMessage, OutboxRow
from tasks.outbox import DispatchReport, dispatch

INTERNAL_EMAIL_CHANNEL = "internal_email"


def internal_email(
    *,
    key: str,
    kind: str,
    to: str,
    subject: str,
    text: str,
    contact_id: int | None,
    to_name: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """An outbox message for one internal email; `key` makes it unique across reruns."""
    return OutboxMessage(
        idempotency_key=key,
        channel=INTERNAL_EMAIL_CHANNEL,
        kind=kind,
        contact_id=contact_id,
        payload={"to": to, "to_name": to_name or "", "subject": subject, "text": text},
        not_before=not_before,
    )


def build_internal_message(
    row: OutboxRow, *, email_from: str, sent_at: datetime
) -> EmailMessage:
    """The plain-text message of an internal-email outbox row (headers cleaned)."""
    sender = sender_for(email_from)
    recipient = recipient_address(str(row.payload["to"]))
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender.header
    message["To"] = to_header(str(row.payload.get("to_name") or ""), recipient.addr_spec)
    message["Subject"] = subject_header(str(row.payload["subject"]))
    message["Date"] = date_header(sent_at)
    message["Message-ID"] = message_id_for(row.idempotency_key, domain=sender.domain)
    message["Auto-Submitted"] = "auto-generated"
    set_text_body(message, str(row.payload["text"]), "plain", mime_version=True)
    return message


def make_internal_sender(
    *, transport: EmailTransport, email_from: str, now: datetime
) -> Callable[[OutboxRow], None]:
    """A `tasks.outbox` sender for the internal-email channel, dating messages `now`."""

    def send(row: OutboxRow) -> None:
        transport.deliver(build_internal_message(row, email_from=email_from, sent_at=now))

    return send


def dispatch_internal_emails(
    engine: Engine, *, transport: EmailTransport, email_from: str, now: datetime,
    limit: int = 500,
) -> DispatchReport:
    """Drain due internal emails through `transport` over one session, closed at the end;
    failures stay for the next run."""
    sender = make_internal_sender(transport=transport, email_from=email_from, now=now)
    with transport:
        return dispatch(
            engine, channel=INTERNAL_EMAIL_CHANNEL, sender=sender, now=now, limit=limit
        )
