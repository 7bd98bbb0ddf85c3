"""One SMTP session per dispatch, against a real aiosmtpd server on loopback.

A dispatch opens one connection for all its messages, across outbox batches; a server
that hangs up between messages (as relays do after N messages per connection) still
gets every message exactly once.
"""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from leadflow.adapters.email import EmlDirectoryTransport, SmtpTransport
from leadflow.email_message import message_id_for
from leadflow.paths import DEFAULT_RULES_PATH
from models.messages import OutboxMessage, OutboxRow, TransientSendError
from models.rules import load_rules
from tasks.internal_email import build_internal_message, dispatch_internal_emails, internal_email
from tasks.nurture.apply import EMAIL_CHANNEL, NURTURE_KIND
from tasks.nurture.decide import PlannedEmail
from tasks.nurture.send import dispatch_emails
from tasks.outbox import count_by_status, enqueue
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.smtp import LoopbackSmtpServer

TUESDAY_11_JST = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DOMAIN = "leadflow.example.jp"
EMAIL_FROM = f"leadflow <marketing@{DOMAIN}>"


def handoff_row(key: str) -> OutboxRow:
    """An internal-email outbox row as the dispatcher hands it to the sender."""
    return OutboxRow(
        id=1, idempotency_key=key, channel="internal_email", kind="handoff", contact_id=None,
        payload={"to": "owner@example.jp", "to_name": "", "subject": "件名", "text": "本文"},
        status="sending", attempts=0, last_error=None, not_before=None,
        created_at=TUESDAY_11_JST, sent_at=None, run_id="r1",
    )


def smtp_transport(server: LoopbackSmtpServer) -> SmtpTransport:
    return SmtpTransport(host=server.host, port=server.port, security="none")


def enqueue_internal_emails(engine: Engine, count: int) -> list[str]:
    """`count` internal emails due now; returns their idempotency keys."""
    keys = [f"handoff:{i}" for i in range(count)]
    messages = [
        internal_email(key=key, kind="handoff", to=f"owner{i}@example.jp",
                       subject=f"引き継ぎ {i}", text="本文", contact_id=None)
        for i, key in enumerate(keys)
    ]
    with engine.begin() as conn:
        enqueue(conn, messages, run_id="r1", now=TUESDAY_11_JST)
    return keys


def expected_ids(keys: list[str]) -> list[str]:
    return sorted(message_id_for(key, domain=DOMAIN) for key in keys)


def test_one_nurture_drain_of_several_batches_uses_one_smtp_connection(
    engine: Engine, database_url: str, smtp_server: LoopbackSmtpServer
) -> None:
    seed = Seeder(engine)
    keys: list[str] = []
    messages: list[OutboxMessage] = []
    for i in range(11):
        contact_id = seed.contact(email=f"lead{i}@customer.example.jp", consent=True)
        email = PlannedEmail(
            email_id=f"nurture:new_lead:{contact_id}:20261201T020000Z:email_1",
            enrollment_key=f"new_lead:{contact_id}:20261201T020000Z",
            contact_id=contact_id, program="new_lead", step="email_1",
            template="new_lead/email_1", locale="ja", to=f"lead{i}@customer.example.jp",
            first_name="太郎", last_name="山田", company="株式会社サンプル",
            timezone="Asia/Tokyo",
        )
        keys.append(email.email_id)
        messages.append(
            OutboxMessage(email.email_id, EMAIL_CHANNEL, NURTURE_KIND, contact_id, email.payload())
        )
    with engine.begin() as conn:
        enqueue(conn, messages, run_id="r1", now=TUESDAY_11_JST)
    settings = settings_for(
        database_url, public_base_url="https://track.example.test",
        signing_secret="session-test-secret", email_from=EMAIL_FROM,
        business_timezone="Asia/Tokyo",
    )

    report = dispatch_emails(
        engine, rules=load_rules(DEFAULT_RULES_PATH), settings=settings,
        transport=smtp_transport(smtp_server), now=TUESDAY_11_JST, batch=4,
    )

    assert (report.claimed, report.sent) == (11, 11)
    assert smtp_server.connections == 1
    assert sorted(smtp_server.message_ids()) == expected_ids(keys)


def test_one_internal_email_dispatch_uses_one_smtp_connection_and_closes_it(
    engine: Engine, smtp_server: LoopbackSmtpServer
) -> None:
    keys = enqueue_internal_emails(engine, 7)
    transport = smtp_transport(smtp_server)

    report = dispatch_internal_emails(
        engine, transport=transport, email_from=EMAIL_FROM, now=TUESDAY_11_JST
    )

    assert report.sent == 7
    assert smtp_server.connections == 1
    assert sorted(smtp_server.message_ids()) == expected_ids(keys)
    # The session ended with the dispatch; the transport opens a new one when used again.
    transport.deliver(build_internal_message(
        handoff_row(keys[0]), email_from=EMAIL_FROM, sent_at=TUESDAY_11_JST
    ))
    transport.close()
    assert smtp_server.connections == 2


@pytest.mark.parametrize(
    "closing_reply",
    [None, "421 4.7.0 too many messages in this connection"],
    ids=["silent-hang-up", "421-then-hang-up"],
)
def test_a_server_that_hangs_up_every_three_messages_gets_each_message_exactly_once(
    engine: Engine, smtp_server: LoopbackSmtpServer, closing_reply: str | None
) -> None:
    smtp_server.close_after = 3
    smtp_server.closing_reply = closing_reply
    keys = enqueue_internal_emails(engine, 10)

    report = dispatch_internal_emails(
        engine, transport=smtp_transport(smtp_server), email_from=EMAIL_FROM, now=TUESDAY_11_JST
    )

    assert (report.sent, report.retried, report.failed) == (10, 0, 0)
    assert sorted(smtp_server.message_ids()) == expected_ids(keys)  # none lost, none twice
    assert smtp_server.connections == 4
    with engine.connect() as conn:
        assert count_by_status(conn) == {"sent": 10}


def test_a_refused_recipient_mid_session_fails_alone_and_the_session_carries_on(
    engine: Engine, smtp_server: LoopbackSmtpServer
) -> None:
    keys = enqueue_internal_emails(engine, 5)
    smtp_server.reply_to_rcpt["owner2@example.jp"] = "550 5.1.1 no such user"

    report = dispatch_internal_emails(
        engine, transport=smtp_transport(smtp_server), email_from=EMAIL_FROM, now=TUESDAY_11_JST
    )

    assert (report.sent, report.failed) == (4, 1)
    assert report.failures[0].reason.startswith("hard bounce: SMTP 550")
    assert smtp_server.connections == 1
    assert sorted(smtp_server.message_ids()) == expected_ids(keys[:2] + keys[3:])


def test_a_server_gone_for_good_fails_the_message_transiently_after_one_reconnect(
    smtp_server: LoopbackSmtpServer,
) -> None:
    transport = smtp_transport(smtp_server)
    transport.deliver(build_internal_message(
        handoff_row("first"), email_from=EMAIL_FROM, sent_at=TUESDAY_11_JST
    ))
    smtp_server.close()

    with pytest.raises(TransientSendError, match="SMTP connection"):
        transport.deliver(build_internal_message(
            handoff_row("second"), email_from=EMAIL_FROM, sent_at=TUESDAY_11_JST
        ))
    transport.close()
    assert smtp_server.message_ids() == [message_id_for("first", domain=DOMAIN)]


def test_the_eml_transport_works_as_a_context_manager_too(tmp_path: Path) -> None:
    with EmlDirectoryTransport(tmp_path) as transport:
        where = transport.deliver(build_internal_message(
            handoff_row("eml"), email_from=EMAIL_FROM, sent_at=TUESDAY_11_JST
        ))
    assert Path(where).exists()
