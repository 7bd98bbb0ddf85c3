"""The outbox sender for marketing email: last checks, render, deliver.

The scheduler already checked consent, suppression, window and cap when it decided the
send; this sender checks again right before delivery, because a retried email can go
out hours later and an unsubscribe that arrived in between must win.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    and_,
    bindparam,
    exists,
    or_,
    select,
    update,
)

from leadflow.adapters.email import EmailTransport
from leadflow.email_message import build_message
from leadflow.email_render import EmailRenderer, TrackingLinks
from leadflow.settings import Settings
from models.messages import PENDING, OutboxRow, PermanentSendError, SendLater
from models.nurture_rules import NurtureRules, SendWindow
from models.rules import Rules
from models.tables import Contact, EmailSuppression, Outbox
from tasks.nurture.apply import EMAIL_CHANNEL, NURTURE_KIND
from tasks.nurture.timing import contact_zone, next_send_slot
from tasks.outbox import DispatchReport, dispatch

# One round trip for both: consent, and any suppression reason. Built once: it runs for
# every email, and building a statement costs more than running it.
_CONTACT = bindparam("contact", type_=Integer())
_CONSENT_AND_SUPPRESSION = select(
    select(Contact.consent).where(Contact.id == _CONTACT).scalar_subquery(),
    select(EmailSuppression.reason)
    .where(EmailSuppression.contact_id == _CONTACT)
    .limit(1)
    .scalar_subquery(),
)


def outside_window(opens: datetime) -> str:
    """Why an email waits: the window of its contact's zone opens only at `opens`."""
    return f"outside the send window; goes out from {opens.isoformat()}"


def _waiting_rows(now: datetime) -> ColumnElement[bool]:
    # Due pending nurture emails of contacts who consent and are not suppressed: the rows
    # the sender would only put back for the window. The others go through the sender,
    # which fails them at once.
    return and_(
        Outbox.channel == EMAIL_CHANNEL,
        Outbox.kind == NURTURE_KIND,
        Outbox.status == PENDING,
        or_(Outbox.not_before.is_(None), Outbox.not_before <= now),
        exists().where(Contact.id == Outbox.contact_id, Contact.consent.is_(True)),
        ~exists().where(EmailSuppression.contact_id == Outbox.contact_id),
    )


def park_outside_window(
    conn: Connection, *, window: SendWindow, business_timezone: str, now: datetime
) -> int:
    """Put back, in one UPDATE per time zone, every due email whose window is shut at `now`.

    What the sender would do row by row (claim, begin an attempt, raise `SendLater`, put
    back uncounted), without a transaction per email: a backfill or a night-time drain
    of a big enrollment wave would otherwise spend seconds per thousand emails sending
    nothing. Returns how many rows wait; each is due again when its window opens.
    """
    zone_of = Outbox.payload["timezone"].as_string()
    zones = conn.execute(select(zone_of).where(_waiting_rows(now)).distinct()).scalars().all()
    parked = 0
    for name in zones:
        opens = next_send_slot(now, zone=contact_zone(name, business_timezone), window=window)
        if opens <= now:
            continue
        same_zone = zone_of.is_(None) if name is None else zone_of == name
        parked += (
            conn.execute(
                update(Outbox)
                .where(_waiting_rows(now), same_zone)
                .values(not_before=opens, last_error=outside_window(opens), claimed_by=None)
            ).rowcount
            or 0
        )
    return parked


@contextmanager
def consent_reader(engine: Engine) -> Iterator[Connection]:
    """A connection for the sender's last checks, held for one drain, in autocommit mode:
    every check reads the newest committed consent and suppressions, in one round trip
    (no pool checkout, BEGIN or ROLLBACK per email)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


def make_nurture_sender(
    reader: Connection,
    *,
    transport: EmailTransport,
    renderer: EmailRenderer,
    rules: NurtureRules,
    email_from: str,
    business_timezone: str,
    now: datetime,
    delivered: Callable[[str, str], None] | None = None,
) -> Callable[[OutboxRow], None]:
    """A `tasks.outbox` sender for channel "email" that sends nurture emails at `now`.

    `reader` (see `consent_reader`) reads consent and suppressions right before each
    send. `delivered(email_id, where)` is told where each message went (SMTP or a file).
    """

    def send(row: OutboxRow) -> None:
        if row.kind != NURTURE_KIND or row.contact_id is None:
            raise PermanentSendError(f"the email sender cannot send kind {row.kind!r}")
        consent, suppressed = reader.execute(
            _CONSENT_AND_SUPPRESSION, {"contact": row.contact_id}
        ).one()
        if suppressed is not None:
            raise PermanentSendError(f"suppressed: {suppressed}")
        if not consent:
            raise PermanentSendError("suppressed: no opt-in consent")
        zone = contact_zone(row.payload.get("timezone"), business_timezone)
        opens = next_send_slot(now, zone=zone, window=rules.send_window)
        if opens > now:
            # Waiting for the window is not a failed send: due again when it opens.
            raise SendLater(outside_window(opens), resume_at=opens)
        rendered = renderer.render(row.payload, contact_id=row.contact_id)
        unsubscribe_url = renderer.tracking.unsubscribe(
            email_id=str(row.payload["email_id"]),
            contact_id=row.contact_id,
            locale=str(row.payload["locale"]),
        )
        message = build_message(
            rendered=rendered,
            payload=row.payload,
            email_from=email_from,
            unsubscribe_url=unsubscribe_url,
            sent_at=now,
        )
        where = transport.deliver(message)
        if delivered is not None:
            delivered(str(row.payload["email_id"]), where)

    return send


def dispatch_emails(
    engine: Engine,
    *,
    rules: Rules,
    settings: Settings,
    transport: EmailTransport,
    now: datetime,
    deliveries: dict[str, str] | None = None,
    batch: int = 200,
) -> DispatchReport:
    """Drain every due marketing email from the outbox through `transport` at `now`.

    The whole drain shares one transport session, closed at the end (the transport
    itself stays usable).
    """
    renderer = EmailRenderer(
        links=rules.nurture.links,
        tracking=TrackingLinks(
            base_url=settings.public_base_url, secret=settings.signing_keys()[0], issued_at=now
        ),
    )
    sink = deliveries if deliveries is not None else {}
    total = DispatchReport(channel=EMAIL_CHANNEL)
    with engine.begin() as conn:
        total.postponed = park_outside_window(
            conn,
            window=rules.nurture.send_window,
            business_timezone=settings.business_timezone,
            now=now,
        )
    # Drain in batches until nothing due is left: a big enrollment wave must not trickle
    # out 200 emails per hour. Failed and retried rows are not due again at `now`.
    with transport, consent_reader(engine) as reader:
        sender = make_nurture_sender(
            reader,
            transport=transport,
            renderer=renderer,
            rules=rules.nurture,
            email_from=settings.email_from,
            business_timezone=settings.business_timezone,
            now=now,
            delivered=sink.__setitem__,
        )
        while True:
            report = dispatch(engine, channel=EMAIL_CHANNEL, sender=sender, now=now, limit=batch)
            for name in (
                "claimed",
                "sent",
                "retried",
                "failed",
                "deferred",
                "postponed",
                "in_doubt",
                "lost",
            ):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.errors.extend(report.errors)
            total.failures.extend(report.failures)
            if report.claimed < batch or report.deferred:
                return total
