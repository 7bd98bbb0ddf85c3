"""Build RFC 5322 messages from rendered emails; the bytes are the email package's own.

Every message is multipart/alternative (text + HTML), has a Message-ID derived from its
idempotency key, and carries one-click unsubscribe headers (RFC 2369 + RFC 8058).
Headers that many messages share (sender, date, subject, MIME headers, each To) are
built once and folded once per policy; display names are cleaned, capped and checked to
read back unchanged; a recipient address that can never be valid is refused
(`PermanentSendError`). tests/unit/test_email_bytes_equivalence.py holds the bytes to
what the plain email package writes.
"""

import binascii
import random
import sys
from datetime import datetime
from email.message import EmailMessage
from typing import Any, cast
from urllib.parse import quote

from leadflow.email_header_text import (
    DISPLAY_NAME_MAX,
    ELLIPSIS,
    Sender,
    clean_header_text,
    date_header,
    display_name_for,
    recipient_address,
    sender_for,
    subject_header,
    to_header,
)
from leadflow.email_headers import MESSAGE_POLICY, VerbatimHeader, message_id_for, text_header
from leadflow.email_render import RenderedEmail

# Re-exported: the senders, tests and benchmarks import the message's pieces from here.
__all__ = [
    "DISPLAY_NAME_MAX",
    "ELLIPSIS",
    "MESSAGE_POLICY",
    "Sender",
    "build_message",
    "clean_header_text",
    "date_header",
    "display_name_for",
    "message_id_for",
    "recipient_address",
    "sender_for",
    "set_text_body",
    "subject_header",
    "to_header",
]


def set_text_body(message: EmailMessage, text: str, subtype: str, *, mime_version: bool) -> None:
    """Give `message` a UTF-8, base64 text body, exactly as
    `message.set_content(text, subtype=subtype, charset="utf-8", cte="base64")` does
    (MIME-Version only where set_content adds it: on a top-level EmailMessage)."""
    message["Content-Type"] = text_header("Content-Type", f'text/{subtype}; charset="utf-8"')
    message["Content-Transfer-Encoding"] = text_header("Content-Transfer-Encoding", "base64")
    if mime_version:
        message["MIME-Version"] = text_header("MIME-Version", "1.0")
    policy = message.policy
    linesep = policy.linesep.encode("ascii")
    data = linesep.join(text.encode("utf-8").splitlines()) + linesep
    per_line = cast(int, policy.max_line_length) // 4 * 3
    message.set_payload(
        "".join(
            binascii.b2a_base64(data[start : start + per_line]).decode("ascii")
            for start in range(0, len(data), per_line)
        )
    )


# The email package's boundary (email.generator): 15 "=", the random number in 19 digits,


_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))


def _boundary() -> str:
    return f"{'=' * 15}{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}=="


def build_message(
    *,
    rendered: RenderedEmail,
    payload: dict[str, Any],
    email_from: str,
    unsubscribe_url: str,
    sent_at: datetime,
) -> EmailMessage:
    """A multipart/alternative message with encoded headers and one-click unsubscribe.

    Display names are cleaned and capped (`display_name_for`); a recipient address that
    can never be valid raises `PermanentSendError`.
    """
    sender = sender_for(email_from)
    email_id = str(payload["email_id"])
    locale = str(payload.get("locale") or "ja")
    first, last = str(payload.get("first_name") or ""), str(payload.get("last_name") or "")
    to_name = f"{last} {first}" if locale == "ja" else f"{first} {last}"
    recipient = recipient_address(str(payload["to"]))

    # Header for header and part for part what `set_content` + `add_alternative` build.
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender.header
    message["To"] = to_header(to_name, recipient.addr_spec)
    message["Subject"] = subject_header(rendered.subject)
    message["Date"] = date_header(sent_at)
    message["Message-ID"] = message_id_for(email_id, domain=sender.domain)
    mailto = f"mailto:{sender.address}?subject={quote('unsubscribe ' + email_id)}"
    message["List-Unsubscribe"] = VerbatimHeader(
        "List-Unsubscribe", [f"<{unsubscribe_url}>", f"<{mailto}>"]
    )
    message["List-Unsubscribe-Post"] = text_header(
        "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"
    )
    message["X-Leadflow-Email-Id"] = email_id
    message["MIME-Version"] = text_header("MIME-Version", "1.0")
    message["Content-Type"] = f'multipart/alternative; boundary="{_boundary()}"'
    text, html = EmailMessage(policy=MESSAGE_POLICY), EmailMessage(policy=MESSAGE_POLICY)
    set_text_body(text, rendered.text, "plain", mime_version=False)
    set_text_body(html, rendered.html, "html", mime_version=True)
    message.set_payload([text, html])
    return message
