"""Nurture emails through a real SMTP server on loopback, parsed back as a client would."""

import functools
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import compat32, default
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, select

import tasks.nurture.hour
from leadflow.email_message import message_id_for
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import EmailSuppression, NurtureEnrollment, Outbox
from tasks.clock import Clock
from tasks.nurture.hour import nurture_hour
from tasks.nurture.report import NurtureOutcome
from tasks.nurture.send import dispatch_emails
from tasks.outbox import DispatchReport
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

TUESDAY_11_JST = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
RULES = load_rules(DEFAULT_RULES_PATH)


def mail_settings(database_url: str, **transport: Any) -> Settings:
    return settings_for(
        database_url,
        public_base_url="https://track.example.test",
        signing_secret="smtp-test-secret",
        email_from="株式会社リードフロー マーケティング <marketing@leadflow.example.jp>",
        business_timezone="Asia/Tokyo",
        **transport,
    )


@pytest.fixture
def smtp_settings(database_url: str, smtp_server: LoopbackSmtpServer) -> Settings:
    """Settings on the parametrised database that send over the loopback SMTP server."""
    return mail_settings(database_url, **smtp_server.smtp_settings())


@pytest.fixture
def sqlite_smtp_settings(
    sqlite_database_url: str, smtp_server: LoopbackSmtpServer
) -> Settings:
    """Settings on the SQLite-only database that send over the loopback SMTP server."""
    return mail_settings(sqlite_database_url, **smtp_server.smtp_settings())


def add_lead(seed: Seeder, email: str, *, company: str = "株式会社サンプル", **columns: Any) -> int:
    """A consenting lead at its own company, created half an hour before Tuesday 11:00."""
    created = TUESDAY_11_JST - timedelta(minutes=30)
    company_id = seed.company(domain=email.split("@")[1], name=company, created_at=created)
    return seed.contact(
        email=email,
        consent=True,
        lifecycle_stage="lead",
        company_id=company_id,
        created_at=created,
        **columns,
    )


def run(settings: Settings, as_of: datetime) -> NurtureOutcome:
    """One nurture hour, sends stamped at the hour itself."""
    return nurture_hour(settings=settings, rules=RULES, as_of=as_of, clock=Clock.SIMULATED)


def dispatched(outcome: NurtureOutcome) -> DispatchReport:
    assert outcome.dispatch is not None
    return outcome.dispatch


def test_the_smtp_server_receives_a_multipart_japanese_email_with_one_click_unsubscribe(
    seed: Seeder, smtp_server: LoopbackSmtpServer, smtp_settings: Settings
) -> None:
    contact_id = add_lead(
        seed,
        "taro@customer.example.jp",
        first_name="太郎",
        last_name="山田",
        company="<株式会社 & Co>",
    )
    outcome = run(smtp_settings, TUESDAY_11_JST)
    assert dispatched(outcome).sent == 1

    [raw] = smtp_server.received
    message = cast(EmailMessage, message_from_bytes(raw, policy=default))
    key = f"nurture:new_lead:{contact_id}:20261201T020000Z:email_1"
    # Japanese headers travel encoded and decode back exactly.
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii()
    assert b"=?utf-8?" in header_block
    assert str(message["Subject"]) == "【サービス紹介】リード管理を自動化する方法と導入事例"
    # A long Japanese name needs several encoded-words; RFC 2047 decoders join them
    # (the modern email parser keeps a space between them inside a phrase, so decode
    # with the RFC 2047 decoder as mail clients do).
    raw_from = message_from_bytes(raw, policy=compat32)["From"]
    assert str(make_header(decode_header(raw_from))) == (
        "株式会社リードフロー マーケティング <marketing@leadflow.example.jp>"
    )
    assert message["To"].addresses[0].display_name == "山田 太郎"
    assert message["Message-ID"] == message_id_for(key, domain="leadflow.example.jp")
    assert message["Date"].datetime == TUESDAY_11_JST
    # RFC 8058 one-click unsubscribe: an https URL with a signed token, and a mailto.
    unsubscribe = str(message["List-Unsubscribe"])
    assert unsubscribe.startswith("<https://track.example.test/u/")
    assert "<mailto:marketing@leadflow.example.jp?subject=unsubscribe" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # multipart/alternative with a text and an HTML part, both UTF-8.
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None and html_part is not None
    assert text_part.get_content_charset() == "utf-8"
    assert html_part.get_content_charset() == "utf-8"
    text, html = text_part.get_content(), html_part.get_content()
    assert "山田 太郎 様" in text and "山田 太郎 様" in html
    assert "https://track.example.test/c/" in text and "https://track.example.test/c/" in html
    assert "https://track.example.test/o/" in html  # the open pixel
    # The HTML is autoescaped; the text part is not HTML.
    assert "&lt;株式会社 &amp; Co&gt;" in html and "<株式会社 & Co>" not in html
    assert "<株式会社 & Co>" in text


def test_a_4xx_reply_keeps_the_email_for_a_retry_in_a_later_hour(
    sqlite_engine: Engine,
    sqlite_seed: Seeder,
    smtp_server: LoopbackSmtpServer,
    sqlite_smtp_settings: Settings,
) -> None:
    add_lead(sqlite_seed, "busy@customer.example.jp")
    smtp_server.reply_to_rcpt["busy@customer.example.jp"] = "451 4.3.0 mailbox busy"
    outcome = run(sqlite_smtp_settings, TUESDAY_11_JST)
    assert (dispatched(outcome).sent, dispatched(outcome).retried) == (0, 1)
    with sqlite_engine.connect() as conn:
        status, error = conn.execute(select(Outbox.status, Outbox.last_error)).one()
    assert status == "pending" and error is not None and "451" in error

    del smtp_server.reply_to_rcpt["busy@customer.example.jp"]
    outcome = run(sqlite_smtp_settings, TUESDAY_11_JST + timedelta(hours=1))
    assert dispatched(outcome).sent == 1
    assert len(smtp_server.received) == 1
    assert outcome.decisions.emails == []  # the retry is the same outbox row, not a new email


def test_a_hard_bounce_fails_the_email_exits_the_enrollment_and_suppresses_the_address(
    engine: Engine, seed: Seeder, smtp_server: LoopbackSmtpServer, smtp_settings: Settings
) -> None:
    contact_id = add_lead(seed, "gone@customer.example.jp")
    smtp_server.reply_to_rcpt["gone@customer.example.jp"] = "550 5.1.1 no such user"
    outcome = run(smtp_settings, TUESDAY_11_JST)
    assert dispatched(outcome).failed == 1
    run(smtp_settings, TUESDAY_11_JST + timedelta(hours=1))
    with engine.connect() as conn:
        enrollment = conn.execute(select(NurtureEnrollment)).one()
        suppression = conn.execute(
            select(EmailSuppression.contact_id, EmailSuppression.reason)
        ).one()
        error = conn.execute(select(Outbox.last_error)).scalar_one()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "bounced")
    assert tuple(suppression) == (contact_id, "bounced")
    assert error is not None and error.startswith("hard bounce: SMTP 550")
    assert smtp_server.received == []


def test_without_smtp_the_development_transport_writes_eml_files(
    sqlite_database_url: str, sqlite_seed: Seeder, tmp_path: Path
) -> None:
    add_lead(sqlite_seed, "dev@customer.example.jp", first_name="花子", last_name="鈴木")
    settings = mail_settings(sqlite_database_url, outbox_dir=tmp_path / "outbox")
    outcome = run(settings, TUESDAY_11_JST)
    [path] = list((tmp_path / "outbox").glob("*.eml"))
    assert outcome.transport == f".eml files in {(tmp_path / 'outbox').resolve()}"
    assert list(outcome.deliveries.values()) == [str(path.resolve())]
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert message["To"].addresses[0].display_name == "鈴木 花子"
    assert message.get_content_type() == "multipart/alternative"


def test_one_run_drains_every_due_email_not_just_one_batch(
    sqlite_seed: Seeder,
    smtp_server: LoopbackSmtpServer,
    sqlite_smtp_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(5):
        add_lead(sqlite_seed, f"wave{i}@customer{i}.example.jp")
    # Batches of 2 instead of 200: five due emails need three batches in the one run.
    monkeypatch.setattr(
        tasks.nurture.hour, "dispatch_emails", functools.partial(dispatch_emails, batch=2)
    )
    report = dispatched(run(sqlite_smtp_settings, TUESDAY_11_JST))
    assert (report.claimed, report.sent) == (5, 5)
    assert len(smtp_server.received) == 5
