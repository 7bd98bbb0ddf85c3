"""ORACLE ONLY: how messages were built before dispatch was sped up (issue 13).

A verbatim copy of how leadflow/email_render.py built messages (that half is now
leadflow/email_message.py), and of `build_internal_message` from tasks/internal_email.py,
as they were before headers were shared between messages.
tests/unit/test_email_bytes_equivalence.py asserts that the new builders put exactly these
bytes on the wire (apart from Date and Message-ID).
Nothing in the project may import this module; do not "fix" it: it is the reference.
"""

import base64
import hashlib
import unicodedata
from datetime import datetime
from email import policy as email_policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from leadflow.email_render import RenderedEmail
from models.messages import OutboxRow, PermanentSendError


def message_id_for(idempotency_key: str, *, domain: str) -> str:
    """A stable Message-ID for an idempotency key: a resend is recognisably the same email."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class _VerbatimHeader(str):
    """An ASCII header value written as given, folded only between its list items.

    The email package would RFC 2047-encode a URL longer than one line; mail clients
    then no longer see `<https://...>` in List-Unsubscribe. Lines stay under 998 octets.
    """

    def __new__(cls, name: str, items: list[str]) -> "_VerbatimHeader":
        value = super().__new__(cls, ", ".join(items))
        value.name = name
        value.items = items
        return value

    name: str
    items: list[str]

    def fold(self, *, policy: Any) -> str:
        """The header line(s) with the policy's line separator."""
        joined = f",{policy.linesep} ".join(self.items)
        return f"{self.name}: {joined}{policy.linesep}"


# Names may be 100 + 100 characters long; a display name longer than this is cut.
DISPLAY_NAME_MAX = 64
ELLIPSIS = "…"
# Never in a header: control characters (CR, LF, NUL, …), lone surrogates, and the
# Unicode line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def clean_header_text(value: str) -> str:
    """`value` as one header-safe line: control characters become spaces, runs of
    whitespace collapse to one space, and the ends are trimmed."""
    spaced = "".join(
        " " if unicodedata.category(character) in _UNSAFE_CATEGORIES else character
        for character in value
    )
    return " ".join(spaced.split())


def display_name_for(name: str, addr_spec: str, *, limit: int = DISPLAY_NAME_MAX) -> str:
    """A display name for `addr_spec` that survives header folding.

    The name is cleaned (`clean_header_text`), capped at `limit` characters and, while
    the folded header would not parse back to exactly that name, shortened further
    (ending in "…"). The email package folds long words and long encoded names badly: a
    blank line inside `To:` that turns the later headers into body text, or encoded
    words read back with spaces between them.
    """
    cleaned = clean_header_text(name)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + ELLIPSIS
    while cleaned and not _round_trips(cleaned, addr_spec):
        stem = cleaned.removesuffix(ELLIPSIS)[:-1].rstrip()
        cleaned = stem + ELLIPSIS if stem else ""
    return cleaned


@lru_cache(maxsize=256)  # the From header is the same for every email
def _round_trips(display_name: str, addr_spec: str) -> bool:
    probe = EmailMessage()
    probe["To"] = Address(display_name=display_name, addr_spec=addr_spec)
    probe["X-End"] = "end"
    parsed = BytesParser(policy=email_policy.default).parsebytes(
        probe.as_bytes(policy=email_policy.SMTP), headersonly=True
    )
    to = parsed["To"]
    return (
        parsed["X-End"] == "end"
        and to is not None
        and [(a.display_name, a.addr_spec) for a in to.addresses] == [(display_name, addr_spec)]
    )


# Bytes of UTF-8 per encoded word: "Subject: =?utf-8?b?…?=" stays within 78 characters.
_ENCODED_WORD_BYTES = 39


class _EncodedWordsHeader(str):
    """An unstructured header written as RFC 2047 encoded words, one per line.

    Used when the email package's own folding would not read back the same (a long word
    moved to the next line gains a leading space); parsers join adjacent encoded words.
    """

    def __new__(cls, name: str, value: str) -> "_EncodedWordsHeader":
        header = super().__new__(cls, value)
        header.name = name
        return header

    name: str

    def fold(self, *, policy: Any) -> str:
        """The header as encoded words on folded lines with the policy's line separator."""
        words: list[str] = []
        chunk = b""
        for character in str(self):
            encoded = character.encode("utf-8")
            if chunk and len(chunk) + len(encoded) > _ENCODED_WORD_BYTES:
                words.append(chunk.decode("utf-8"))
                chunk = b""
            chunk += encoded
        if chunk:
            words.append(chunk.decode("utf-8"))
        encoded_words = [
            f"=?utf-8?b?{base64.b64encode(word.encode()).decode('ascii')}?=" for word in words
        ]
        return f"{self.name}: {f'{policy.linesep} '.join(encoded_words)}{policy.linesep}"


@lru_cache(maxsize=256)
def _subject_round_trips(subject: str) -> bool:
    probe = EmailMessage()
    probe["Subject"] = subject
    parsed = BytesParser(policy=email_policy.default).parsebytes(
        probe.as_bytes(policy=email_policy.SMTP), headersonly=True
    )
    return parsed["Subject"] == subject


def subject_header(subject: str) -> str:
    """The Subject as one clean line, folded so that it parses back unchanged."""
    cleaned = clean_header_text(subject)
    if _subject_round_trips(cleaned):
        return cleaned
    return _EncodedWordsHeader("Subject", cleaned)


def recipient_address(addr_spec: str) -> Address:
    """The recipient as an Address; `PermanentSendError` when it can never be one
    (CR/LF, several addresses, no domain): retrying would not make it valid."""
    try:
        address = Address(addr_spec=addr_spec)
    except (ValueError, HeaderParseError) as error:
        # The reason is stored and listed: it must not carry the address itself.
        raise PermanentSendError(f"invalid recipient address: {error}") from error
    if not address.username or not address.domain or address.addr_spec != addr_spec:
        raise PermanentSendError("invalid recipient address: not one plain user@domain")
    return address


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
    from_name, from_address = parseaddr(email_from)
    domain = from_address.rpartition("@")[2] or "localhost"
    email_id = str(payload["email_id"])
    locale = str(payload.get("locale") or "ja")
    first, last = str(payload.get("first_name") or ""), str(payload.get("last_name") or "")
    to_name = f"{last} {first}" if locale == "ja" else f"{first} {last}"
    recipient = recipient_address(str(payload["to"]))

    message = EmailMessage()
    # The sender's name is configuration, not contact data: cleaned, never shortened.
    message["From"] = Address(display_name=clean_header_text(from_name), addr_spec=from_address)
    message["To"] = Address(
        display_name=display_name_for(to_name, recipient.addr_spec), addr_spec=recipient.addr_spec
    )
    message["Subject"] = subject_header(rendered.subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id_for(email_id, domain=domain)
    mailto = f"mailto:{from_address}?subject={quote('unsubscribe ' + email_id)}"
    message["List-Unsubscribe"] = _VerbatimHeader(
        "List-Unsubscribe", [f"<{unsubscribe_url}>", f"<{mailto}>"]
    )
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Leadflow-Email-Id"] = email_id
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="base64")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    return message


def build_internal_message(
    row: OutboxRow, *, email_from: str, sent_at: datetime
) -> EmailMessage:
    """The plain-text message of an internal-email outbox row (headers cleaned)."""
    from_name, from_address = parseaddr(email_from)
    domain = from_address.rpartition("@")[2] or "localhost"
    recipient = recipient_address(str(row.payload["to"]))
    message = EmailMessage()
    message["From"] = Address(display_name=clean_header_text(from_name), addr_spec=from_address)
    message["To"] = Address(
        display_name=display_name_for(str(row.payload.get("to_name") or ""),
                                      recipient.addr_spec),
        addr_spec=recipient.addr_spec,
    )
    message["Subject"] = subject_header(str(row.payload["subject"]))
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id_for(row.idempotency_key, domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(str(row.payload["text"]), subtype="plain", charset="utf-8",
                        cte="base64")
    return message
