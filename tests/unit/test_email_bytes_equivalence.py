"""Messages built with shared headers are byte for byte the messages built before.

`leadflow.email_message.build_message` and `tasks.internal_email.build_internal_message`
share headers between messages and fold each once (issue 13); the oracle is the old
implementation, kept in tests/support/legacy_email_render.py. Every message is compared
as smtplib sends it (plain and SMTPUTF8), as the .eml transport writes it, and as text.
The multipart boundary is random: the old message gets the new one's (the generator
would have drawn it the same way), and one test draws both from the same seed.
"""

import copy
import io
import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadflow.email_message import build_message, display_name_for, subject_header
from leadflow.email_render import SAMPLE_PAYLOAD, EmailRenderer, RenderedEmail, TrackingLinks
from leadflow.paths import DEFAULT_RULES_PATH
from models.messages import OutboxRow
from models.rules import load_rules
from tasks.internal_email import build_internal_message
from tests.support import legacy_email_render as legacy

SENT_AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
UNSUBSCRIBE_URL = "https://track.example.test/u/" + "t" * 150

SENDERS = [
    "株式会社リードフロー マーケティング <marketing@leadflow.example.jp>",
    "Leadflow Marketing <news@leadflow.example>",
    "news@leadflow.example",
    '"Sales, Inc. (Japan)" <sales@leadflow.example>',
    "とても長い送信者の名前です" * 4 + " <long@leadflow.example.jp>",
]
# (first name, last name, address, locale)
RECIPIENTS = [
    ("太郎", "山田", "taro.yamada@example.co.jp", "ja"),
    ("Alex", "Morgan", "alex@example.com", "en"),
    ("José", "Ünal", "jose@example.es", "en"),
    ("a" * 100, "b" * 100, "long@example.com", "en"),
    ("山" * 60, "田" * 60, "long@example.jp", "ja"),
    ('"Taro" (Sales),', "Acme", "quoted@example.com", "en"),
    ("Taro\r\nBcc: victim@example.com", "Yamada", "crlf@example.com", "en"),
    ("", "", "nameless@example.com", "ja"),
    ("Maximilian-Alexander", "von Habsburg-Lothringen und Sachsen-Coburg", "m@ex.de", "en"),
]
SUBJECTS = [
    "Hello",
    "【ご招待】オンラインセミナーと個別デモのご案内",
    "How teams automate lead management: an overview, a customer story and three "
    "next steps you can take this week",
    "見逃していませんか？ 導入メリットが3分でわかる資料と、お客様の事例を三つまとめてお届けします",
    "x" * 120,
    "Line one\nline two\tand\u2028three",
]
BODIES = [
    ("Dear Alex,\n\nThanks.\n", "<p>Dear Alex,</p>"),
    ("山田 太郎 様\r\n\r\nお問い合わせありがとうございます。\n" + "長い行" * 80 + "\n",
     "<p>本文</p>\n"),
]

Wire = Callable[[EmailMessage], bytes]


def smtp_bytes(message: EmailMessage) -> bytes:
    """The bytes smtplib's `send_message` puts on the wire for an ASCII envelope."""
    buffer = io.BytesIO()
    BytesGenerator(buffer).flatten(copy.copy(message), linesep="\r\n")
    return buffer.getvalue()


def smtputf8_bytes(message: EmailMessage) -> bytes:
    """The bytes `send_message` sends when an address needs SMTPUTF8."""
    buffer = io.BytesIO()
    policy = message.policy.clone(utf8=True)  # type: ignore[call-arg]
    BytesGenerator(buffer, policy=policy).flatten(copy.copy(message), linesep="\r\n")
    return buffer.getvalue()


def eml_bytes(message: EmailMessage) -> bytes:
    """The bytes the .eml transport writes."""
    return message.as_bytes()


def text(message: EmailMessage) -> bytes:
    return message.as_string().encode("utf-8", "surrogateescape")


WIRES = [smtp_bytes, smtputf8_bytes, eml_bytes, text]


def payload(first: str, last: str, to: str, locale: str) -> dict[str, Any]:
    return {
        "email_id": f"nurture:new_lead:7:20261101T020000Z:email_1:{to}",
        "to": to,
        "first_name": first,
        "last_name": last,
        "locale": locale,
    }


def built(build: Callable[..., EmailMessage], email_from: str, rendered: RenderedEmail,
          values: dict[str, Any]) -> EmailMessage:
    return build(rendered=rendered, payload=values, email_from=email_from,
                 unsubscribe_url=UNSUBSCRIBE_URL, sent_at=SENT_AT)


def old_and_new(email_from: str, rendered: RenderedEmail,
                values: dict[str, Any]) -> tuple[EmailMessage, EmailMessage]:
    """The same email built the old way and the new way, with the new one's boundary."""
    new = built(build_message, email_from, rendered, values)
    old = built(legacy.build_message, email_from, rendered, values)
    boundary = new.get_boundary()
    assert boundary is not None
    old.set_boundary(boundary)  # what the generator does with the number it draws
    return old, new


def assert_same_bytes(old: EmailMessage, new: EmailMessage) -> None:
    for wire in WIRES:
        assert wire(new) == wire(old), wire.__name__


@pytest.mark.parametrize("email_from", SENDERS)
def test_a_nurture_email_has_the_bytes_the_old_builder_gave_it(email_from: str) -> None:
    for number, (first, last, to, locale) in enumerate(RECIPIENTS):
        for subject in SUBJECTS:
            text_body, html = BODIES[number % len(BODIES)]
            rendered = RenderedEmail(subject=subject, text=text_body, html=html)
            old, new = old_and_new(email_from, rendered, payload(first, last, to, locale))
            assert_same_bytes(old, new)


def test_a_message_sent_many_times_under_different_policies_keeps_its_bytes() -> None:
    # Folds are remembered per policy: interleaving policies must not mix them up.
    rendered = RenderedEmail(subject=SUBJECTS[3], text="本文\n", html="<p>本文</p>")
    messages = [
        old_and_new(SENDERS[0], rendered, payload(*recipient)) for recipient in RECIPIENTS
    ]
    for _ in range(2):
        for wire in reversed(WIRES):
            for old, new in messages:
                assert wire(new) == wire(old), wire.__name__


def test_the_boundary_is_drawn_as_the_generator_draws_it() -> None:
    rendered = RenderedEmail(subject="Hello", text="Hi\n", html="<p>Hi</p>")
    values = payload("太郎", "山田", "taro@example.jp", "ja")
    random.seed(13)
    old = smtp_bytes(built(legacy.build_message, SENDERS[0], rendered, values))
    random.seed(13)
    new = smtp_bytes(built(build_message, SENDERS[0], rendered, values))
    assert new == old


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_every_nurture_template_renders_to_the_old_bytes(locale: str) -> None:
    rules = load_rules(DEFAULT_RULES_PATH).nurture
    renderer = EmailRenderer(
        links=rules.links,
        tracking=TrackingLinks(base_url="https://track.example.test", secret="s" * 40,
                               issued_at=SENT_AT),
    )
    for program in rules.programs:
        for step in program.steps:
            if step.send is None:
                continue
            values = {**SAMPLE_PAYLOAD, "template": program.template_name(step.id),
                      "locale": locale}
            rendered = renderer.render(values, contact_id=0)
            for email_from in SENDERS[:2]:
                assert_same_bytes(*old_and_new(email_from, rendered, values))


names = st.one_of(
    st.text(max_size=100),
    st.text(alphabet=st.characters(codec="ascii"), max_size=100),
    st.builds(lambda c, n: c * n, st.sampled_from("a山é\r\n\t\x00\u2028 \"(,"),
              st.integers(0, 100)),
)


@settings(max_examples=150, deadline=None)
@given(first=names, last=names, subject=names, locale=st.sampled_from(["en", "ja"]),
       email_from=st.sampled_from(SENDERS))
def test_any_names_and_subject_give_the_old_bytes(
    first: str, last: str, subject: str, locale: str, email_from: str
) -> None:
    rendered = RenderedEmail(subject=subject, text=f"{first}\n", html=f"<p>{last}</p>")
    old, new = old_and_new(email_from, rendered, payload(first, last, "to@example.com", locale))
    assert_same_bytes(old, new)


def internal_row(to_name: str, subject: str, text_body: str) -> OutboxRow:
    return OutboxRow(
        id=1, idempotency_key="handoff:42:1", channel="internal_email", kind="handoff",
        contact_id=None,
        payload={"to": "owner@example.jp", "to_name": to_name, "subject": subject,
                 "text": text_body},
        status="sending", attempts=0, last_error=None, not_before=None,
        created_at=SENT_AT, sent_at=None, run_id="r1",
    )


@pytest.mark.parametrize("email_from", SENDERS)
def test_an_internal_email_has_the_bytes_the_old_builder_gave_it(email_from: str) -> None:
    for first, last, _, _ in RECIPIENTS:
        for subject in SUBJECTS:
            row = internal_row(f"{last} {first}", subject, "引き継ぎ\n" + "本文" * 60)
            old = legacy.build_internal_message(row, email_from=email_from, sent_at=SENT_AT)
            new = build_internal_message(row, email_from=email_from, sent_at=SENT_AT)
            assert_same_bytes(old, new)


addresses = st.sampled_from([
    "to@example.com",
    "taro.yamada@example.co.jp",
    "a-very-long-local-part-for-folding.purposes@a-rather-long-subdomain.example.co.jp",
    '"quoted local"@example.com',
])


@settings(max_examples=300, deadline=None)
@given(name=names, addr_spec=addresses)
@example(name="b" * 100 + " " + "a" * 100, addr_spec="to@example.com")  # shortened
@example(name="山" * 60 + " " + "田" * 60, addr_spec="to@example.com")  # shortened
@example(name="é" * 70, addr_spec="to@example.com")
@example(name="a" * 30 + " " + "b" * 30, addr_spec="to@example.com")  # kept, two lines
def test_a_display_name_is_kept_or_shortened_exactly_as_before(name: str, addr_spec: str) -> None:
    assert display_name_for(name, addr_spec) == legacy.display_name_for(name, addr_spec)


@settings(max_examples=300, deadline=None)
@given(subject=names)
def test_a_subject_is_written_exactly_as_before(subject: str) -> None:
    new, old = subject_header(subject), legacy.subject_header(subject)
    assert (str(new), type(new).__name__ == "_EncodedWordsHeader") == (
        str(old), type(old).__name__ == "_EncodedWordsHeader"
    )
