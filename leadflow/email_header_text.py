"""Header values that must read back as written: sender, To, Subject and the recipient.

Display names are cleaned, capped and checked to parse back unchanged; a Subject the
email package would fold badly is written as encoded words; a recipient address that can
never be valid is refused (`PermanentSendError`).
"""

import base64
import unicodedata
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address, BaseHeader
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any, NamedTuple

from leadflow.email_headers import MESSAGE_POLICY, SMTP_POLICY, address_header, text_header
from models.messages import PermanentSendError


class Sender(NamedTuple):
    """The configured sender: its From header, address and domain (for Message-IDs)."""

    header: BaseHeader
    address: str
    domain: str


@lru_cache(maxsize=16)
def sender_for(email_from: str) -> Sender:
    """The sender of `email_from` ("Name <address>"); its From header is built once."""
    from_name, from_address = parseaddr(email_from)
    # The sender's name is configuration, not contact data: cleaned, never shortened.
    header = address_header("From", clean_header_text(from_name), from_address)
    return Sender(header, from_address, from_address.rpartition("@")[2] or "localhost")


def date_header(sent_at: datetime) -> BaseHeader:
    """The Date header for `sent_at` (shared by every message of a dispatch)."""
    return text_header("Date", format_datetime(sent_at))


def to_header(name: str, addr_spec: str) -> BaseHeader:
    """The To header for `addr_spec` with the display name `display_name_for` gives."""
    return address_header("To", display_name_for(name, addr_spec), addr_spec)


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


@lru_cache(maxsize=256)
def _round_trips(display_name: str, addr_spec: str) -> bool:
    # The bytes of `To:` and a header after it, as any message sends them, read back:
    # same name and address, and no header pushed into the body. The To header folded
    # here is the one the message gets, so sending it does not fold it again.
    wire = (
        SMTP_POLICY.fold_binary("To", address_header("To", display_name, addr_spec))
        + SMTP_POLICY.fold_binary("X-End", text_header("X-End", "end"))
        + b"\r\n"
    )
    parsed = BytesParser(policy=MESSAGE_POLICY).parsebytes(wire, headersonly=True)
    to = parsed["To"]
    return (
        parsed["X-End"] == "end"
        and to is not None
        and [(a.display_name, a.addr_spec) for a in to.addresses] == [(display_name, addr_spec)]
    )


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
    wire = SMTP_POLICY.fold_binary("Subject", text_header("Subject", subject)) + b"\r\n"
    parsed = BytesParser(policy=MESSAGE_POLICY).parsebytes(wire, headersonly=True)
    return bool(parsed["Subject"] == subject)


def subject_header(subject: str) -> str:
    """The Subject as one clean line, folded so that it parses back unchanged."""
    cleaned = clean_header_text(subject)
    if _subject_round_trips(cleaned):
        return text_header("Subject", cleaned)
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
