"""Email headers built from contact names: every message parses back with its headers."""

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.email_message import (
    DISPLAY_NAME_MAX,
    build_message,
    clean_header_text,
    display_name_for,
)
from leadflow.email_render import RenderedEmail
from models.messages import PermanentSendError

SENT_AT = datetime(2026, 11, 20, 3, tzinfo=UTC)
UNSUBSCRIBE_URL = "https://leadflow.example/u/" + "t" * 120
FROM = "Leadflow マーケティング <news@leadflow.example>"

# Names as the importer can store them: up to 100 characters each, any Unicode except
# lone surrogates (JSON payloads cannot carry them), long words and control characters.
names = st.one_of(
    st.text(max_size=100),
    st.text(alphabet=st.characters(codec="ascii"), max_size=100),
    st.builds(lambda c, n: c * n, st.sampled_from("a山é\r\n\t\x00\u2028 "), st.integers(0, 100)),
)


def build(first: str, last: str, *, to: str = "taro@example.com", locale: str = "en") -> Any:
    payload = {
        "email_id": "nurture:1:7:20261120T030000Z:email_1",
        "to": to,
        "first_name": first,
        "last_name": last,
        "locale": locale,
    }
    return build_message(
        rendered=RenderedEmail(subject=f"Hello {first}", text="Hi\n", html="<p>Hi</p>"),
        payload=payload,
        email_from=FROM,
        unsubscribe_url=UNSUBSCRIBE_URL,
        sent_at=SENT_AT,
    )


def wire(message: EmailMessage) -> EmailMessage:
    """The message as an SMTP server receives it, parsed back."""
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes(policy=policy.SMTP))
    assert isinstance(parsed, EmailMessage)
    return parsed


def assert_parses_back(message: EmailMessage) -> None:
    parsed = wire(message)
    for name in (
        "From",
        "Subject",
        "Date",
        "Message-ID",
        "List-Unsubscribe-Post",
        "X-Leadflow-Email-Id",
        "MIME-Version",
    ):
        assert parsed[name] == message[name], name
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [
        (a.display_name, a.addr_spec) for a in message["To"].addresses
    ]
    assert " ".join(parsed["List-Unsubscribe"].split()) == (
        f"<{UNSUBSCRIBE_URL}>, <mailto:news@leadflow.example"
        "?subject=unsubscribe%20nurture%3A1%3A7%3A20261120T030000Z%3Aemail_1>"
    )
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content() for part in parsed.iter_parts()] == ["Hi\n", "<p>Hi</p>\n"]


@settings(max_examples=150, deadline=None)
@given(first=names, last=names, locale=st.sampled_from(["en", "ja"]))
def test_every_message_parses_back_with_the_same_headers_whatever_the_names(
    first: str, last: str, locale: str
) -> None:
    message = build(first, last, locale=locale)
    assert_parses_back(message)
    display = message["To"].addresses[0].display_name
    assert len(display) <= DISPLAY_NAME_MAX
    assert not any(c in display for c in "\r\n\x00\t\u2028")


def test_two_long_words_in_the_name_no_longer_push_the_headers_into_the_body() -> None:
    message = build("a" * 100, "b" * 100)
    parsed = wire(message)
    assert parsed["Subject"] == "Hello " + "a" * 100
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["To"].addresses[0].addr_spec == "taro@example.com"
    assert parsed["To"].addresses[0].display_name.endswith("…")


def test_a_name_with_cr_lf_is_cleaned_instead_of_raising() -> None:
    message = build("Taro\r\nBcc: victim@example.com", "Yamada")
    assert message["To"].addresses[0].display_name == "Taro Bcc: victim@example.com Yamada"
    assert "Bcc" not in wire(message)
    assert_parses_back(message)


def test_a_short_name_is_kept_as_it_is() -> None:
    assert display_name_for("山田 太郎", "taro@example.com") == "山田 太郎"
    assert display_name_for('"Taro" (Sales), Acme', "taro@example.com") == '"Taro" (Sales), Acme'


def test_header_text_loses_control_characters_and_extra_whitespace() -> None:
    assert clean_header_text(" a\x00b\r\n\tc\u2028d  ") == "a b c d"


@pytest.mark.parametrize(
    "address",
    ["taro\r\n@example.com", "taro@example.com\r\nBcc: x@example.com", "a@example.com, b@x.jp"],
)
def test_an_address_that_can_never_be_valid_is_a_permanent_send_error(address: str) -> None:
    with pytest.raises(PermanentSendError, match="invalid recipient address"):
        build("Taro", "Yamada", to=address)
