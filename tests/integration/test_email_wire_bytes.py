"""A loopback SMTP server receives exactly the bytes the old message builders sent.

The builders share headers between messages since issue 13; here both versions of a
message go through the real SMTP transport (smtplib) to aiosmtpd, Japanese and English
alike, and the server must get the same bytes twice. The old builders are kept in
tests/support/legacy_email_render.py.
"""

from datetime import UTC, datetime

import pytest

from leadflow.adapters.email import SmtpTransport
from leadflow.email_message import build_message
from leadflow.email_render import RenderedEmail
from models.messages import OutboxRow
from tasks.internal_email import build_internal_message
from tests.support import legacy_email_render as legacy
from tests.support.smtp import LoopbackSmtpServer

SENT_AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
EMAIL_FROM = "株式会社リードフロー マーケティング <marketing@leadflow.example.jp>"
EMAILS = [
    ("太郎", "山田", "ja",
     "【ご招待】オンラインセミナーと個別デモのご案内、そして導入事例集のお知らせ"),
    ("Alex", "Morgan", "en",
     "You're invited: a live webinar, a personal demo and a customer story"),
    ("a" * 100, "b" * 100, "en", "Hello"),
]


@pytest.mark.parametrize(("first", "last", "locale", "subject"), EMAILS)
def test_a_nurture_email_reaches_the_server_as_the_old_builder_sent_it(
    smtp_server: LoopbackSmtpServer, first: str, last: str, locale: str, subject: str
) -> None:
    payload = {
        "email_id": "nurture:new_lead:7:20261101T020000Z:email_1", "to": "lead@example.jp",
        "first_name": first, "last_name": last, "locale": locale,
    }
    rendered = RenderedEmail(subject=subject, text=f"{last} {first} 様\n本文\n",
                             html=f"<p>{first}</p>")
    arguments = {"rendered": rendered, "payload": payload, "email_from": EMAIL_FROM,
                 "unsubscribe_url": "https://track.example.test/u/token", "sent_at": SENT_AT}
    new = build_message(**arguments)  # type: ignore[arg-type]
    old = legacy.build_message(**arguments)  # type: ignore[arg-type]
    boundary = new.get_boundary()
    assert boundary is not None
    old.set_boundary(boundary)  # the generator would draw it; the same draw for both

    with SmtpTransport(host=smtp_server.host, port=smtp_server.port, security="none") as smtp:
        smtp.deliver(old)
        smtp.deliver(new)

    assert smtp_server.received[1] == smtp_server.received[0]


def test_an_internal_email_reaches_the_server_as_the_old_builder_sent_it(
    smtp_server: LoopbackSmtpServer,
) -> None:
    row = OutboxRow(
        id=1, idempotency_key="handoff:42:1", channel="internal_email", kind="handoff",
        contact_id=None,
        payload={"to": "owner@example.jp", "to_name": "営業 花子", "text": "本文\n",
                 "subject": "引き継ぎ: 株式会社サンプル 山田 太郎 様（スコア 87）"},
        status="sending", attempts=0, last_error=None, not_before=None,
        created_at=SENT_AT, sent_at=None, run_id="r1",
    )

    with SmtpTransport(host=smtp_server.host, port=smtp_server.port, security="none") as smtp:
        smtp.deliver(legacy.build_internal_message(row, email_from=EMAIL_FROM, sent_at=SENT_AT))
        smtp.deliver(build_internal_message(row, email_from=EMAIL_FROM, sent_at=SENT_AT))

    assert smtp_server.received[1] == smtp_server.received[0]
