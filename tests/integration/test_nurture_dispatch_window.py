"""A drain while the send window is shut puts every waiting email back in one pass.

Outside the window of a contact's time zone the email sender could only say "later"
(`SendLater`); the drain parks those emails per time zone before claiming anything, in
the state the sender's own answer leaves, and still fails at once the emails of
contacts who unsubscribed or never consented. Zones whose window is open send as before.
"""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, insert, select

from leadflow.adapters.email import EmlDirectoryTransport
from leadflow.email_render import EmailRenderer, TrackingLinks
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.messages import OutboxMessage
from models.rules import load_rules
from models.tables import EmailSuppression, Outbox
from tasks.nurture.apply import EMAIL_CHANNEL, NURTURE_KIND
from tasks.nurture.decide import PlannedEmail
from tasks.nurture.send import (
    consent_reader,
    dispatch_emails,
    make_nurture_sender,
    outside_window,
)
from tasks.outbox import DispatchReport, dispatch, enqueue
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

RULES = load_rules(DEFAULT_RULES_PATH)
# Wednesday 00:00 in Tokyo (window shut), Tuesday 10:00 in New York (window open).
TOKYO_MIDNIGHT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
TOKYO_OPENS = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # Wednesday 09:00 in Tokyo


def queue_email(engine: Engine, contact_id: int, address: str, zone: str) -> str:
    """One due nurture email for the contact, as nurture's apply enqueues it."""
    email = PlannedEmail(
        email_id=f"nurture:new_lead:{contact_id}:20261201T000000Z:email_1",
        enrollment_key=f"new_lead:{contact_id}:20261201T000000Z",
        contact_id=contact_id,
        program="new_lead",
        step="email_1",
        template="new_lead/email_1",
        locale="ja",
        to=address,
        first_name="太郎",
        last_name="山田",
        company="株式会社サンプル",
        timezone=zone,
    )
    message = OutboxMessage(
        email.email_id,
        EMAIL_CHANNEL,
        NURTURE_KIND,
        contact_id,
        email.payload(),
        not_before=datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
    )
    with engine.begin() as conn:
        enqueue(conn, [message], run_id="r1", now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    return email.email_id


def drain(engine: Engine, settings: Settings, now: datetime) -> DispatchReport:
    return dispatch_emails(
        engine,
        rules=RULES,
        settings=settings,
        transport=EmlDirectoryTransport(settings.outbox_dir),
        now=now,
    )


def rows(engine: Engine) -> dict[str, tuple[object, ...]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(
                Outbox.idempotency_key,
                Outbox.status,
                Outbox.attempts,
                Outbox.not_before,
                Outbox.last_error,
                Outbox.claimed_by,
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in found}


def test_a_drain_at_night_parks_waiting_emails_per_zone_and_still_fails_unsendable_ones(
    engine: Engine, database_url: str
) -> None:
    settings = settings_for(database_url, business_timezone="Asia/Tokyo")
    seed = Seeder(engine)
    tokyo = [
        queue_email(
            engine,
            seed.contact(email=f"t{i}@example.jp", consent=True),
            f"t{i}@example.jp",
            "Asia/Tokyo",
        )
        for i in range(3)
    ]
    new_york = queue_email(
        engine,
        seed.contact(email="ny@example.com", consent=True),
        "ny@example.com",
        "America/New_York",
    )
    unsubscribed_id = seed.contact(email="gone@example.jp", consent=True)
    unsubscribed = queue_email(engine, unsubscribed_id, "gone@example.jp", "Asia/Tokyo")
    with engine.begin() as conn:
        conn.execute(
            insert(EmailSuppression).values(
                contact_id=unsubscribed_id,
                email="gone@example.jp",
                reason="unsubscribed",
                source="link",
                created_at=TOKYO_MIDNIGHT,
            )
        )
    no_consent = queue_email(
        engine, seed.contact(email="nc@example.jp", consent=False), "nc@example.jp", "Asia/Tokyo"
    )

    night = drain(engine, settings, TOKYO_MIDNIGHT)

    assert (night.claimed, night.sent, night.failed, night.postponed) == (3, 1, 2, 3)
    state = rows(engine)
    waiting = ("pending", 0, TOKYO_OPENS, outside_window(TOKYO_OPENS), None)
    assert [state[key] for key in tokyo] == [waiting] * 3
    assert state[new_york][0] == "sent"
    assert state[unsubscribed][:2] == ("failed", 1)
    assert state[no_consent][:2] == ("failed", 1)
    # Nothing is due before the window opens; when it does, the parked emails go out.
    assert drain(engine, settings, TOKYO_OPENS - timedelta(hours=1)).claimed == 0
    morning = drain(engine, settings, TOKYO_OPENS)
    assert (morning.claimed, morning.sent, morning.postponed) == (3, 3, 0)


def test_a_parked_email_is_left_as_the_senders_own_send_later_leaves_it(
    engine: Engine, database_url: str
) -> None:
    settings = settings_for(database_url, business_timezone="Asia/Tokyo")
    seed = Seeder(engine)
    one_by_one = queue_email(
        engine, seed.contact(email="a@example.jp", consent=True), "a@example.jp", "Asia/Tokyo"
    )
    transport = EmlDirectoryTransport(settings.outbox_dir)
    with consent_reader(engine) as reader:
        sender = make_nurture_sender(
            reader,
            transport=transport,
            rules=RULES.nurture,
            email_from=settings.email_from,
            business_timezone="Asia/Tokyo",
            now=TOKYO_MIDNIGHT,
            renderer=EmailRenderer(
                links=RULES.nurture.links,
                tracking=TrackingLinks(
                    base_url=settings.public_base_url,
                    secret=settings.signing_keys()[0],
                    issued_at=TOKYO_MIDNIGHT,
                ),
            ),
        )
        report = dispatch(engine, channel=EMAIL_CHANNEL, sender=sender, now=TOKYO_MIDNIGHT)
    assert report.postponed == 1
    parked = queue_email(
        engine, seed.contact(email="b@example.jp", consent=True), "b@example.jp", "Asia/Tokyo"
    )

    assert drain(engine, settings, TOKYO_MIDNIGHT).postponed == 1

    state = rows(engine)
    assert state[parked] == state[one_by_one]


class UnsubscribesOnFirstSend(EmlDirectoryTransport):
    """Writes .eml files; while the first one goes out, `contact_id` unsubscribes (the
    click lands in its own committed transaction, as the tracking endpoint's would)."""

    def __init__(self, directory: Path, engine: Engine, contact_id: int) -> None:
        super().__init__(directory)
        self.engine, self.contact_id, self.sent = engine, contact_id, 0

    def deliver(self, message: EmailMessage) -> str:
        """Write the message; on the first one, record the other contact's unsubscribe."""
        self.sent += 1
        if self.sent == 1:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(EmailSuppression).values(
                        contact_id=self.contact_id,
                        email="late@example.jp",
                        reason="unsubscribed",
                        source="link",
                        created_at=TOKYO_OPENS,
                    )
                )
        return super().deliver(message)


def test_an_unsubscribe_committed_during_a_drain_stops_that_contacts_later_email(
    engine: Engine, database_url: str
) -> None:
    settings = settings_for(database_url, business_timezone="Asia/Tokyo")
    seed = Seeder(engine)
    first = queue_email(
        engine, seed.contact(email="first@example.jp", consent=True), "first@example.jp",
        "Asia/Tokyo",
    )
    late_id = seed.contact(email="late@example.jp", consent=True)
    late = queue_email(engine, late_id, "late@example.jp", "Asia/Tokyo")

    report = dispatch_emails(
        engine,
        rules=RULES,
        settings=settings,
        transport=UnsubscribesOnFirstSend(settings.outbox_dir, engine, late_id),
        now=TOKYO_OPENS,
    )

    assert (report.sent, report.failed) == (1, 1)
    state = rows(engine)
    assert state[first][0] == "sent"
    assert state[late][:2] == ("failed", 1)
    assert state[late][3] == "suppressed: unsubscribed"
