"""Build RFC 5322 messages from rendered emails; the bytes are the email package's own.

Every message is multipart/alternative (text + HTML), has a Message-ID derived from its
idempotency key, and carries one-click unsubscribe headers (RFC 2369 + RFC 8058).
Headers that many messages share (sender, date, subject, MIME headers, each To) are
built once and folded once per policy; display names are cleaned, capped and checked to
read back unchanged; a recipient address that can never be valid is refused
(`PermanentSendError`). tests/unit/test_email_bytes_equivalence.py holds the bytes to
what the plain email package writes.
"""

import base64
import binascii
import hashlib
import random
import sys
import unicodedata
from collections.abc import Hashable
from datetime import datetime
from email import policy as email_policy
from email.errors import HeaderParseError
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any, NamedTuple, cast
from urllib.parse import quote

from leadflow.email_render import RenderedEmail
from models.messages import PermanentSendError


def message_id_for(idempotency_key: str, *, domain: str) -> str:
    """A stable Message-ID for an idempotency key: a resend is recognisably the same email."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


# Turning headers into bytes (parsing, folding, RFC 2047 encoding) costs far more than
# sending them. Headers that many messages share (sender, date, subject, MIME headers)
# are built once and folded once per policy. The email package still does every parse
# and fold, so the bytes are exactly the ones it writes for a header built per message.
class _HeaderClasses(HeaderRegistry):
    """The email package's header registry, but it creates each header class once: the
    original creates a new class every time a header is set or read (tens of µs)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        """Register `cls` for `name` (and forget the class made before)."""
        super().map_to_type(name, cls)
        self._classes.pop(name.lower(), None)


_REGISTRY = _HeaderClasses()
# Messages are built under `email.policy.default` with the registry above: the same header
# classes and settings, so the same bytes.
MESSAGE_POLICY = email_policy.default.clone(header_factory=_REGISTRY)
_SMTP = MESSAGE_POLICY.clone(linesep="\r\n")


class _FoldsOnce:
    """Mixin for a header object shared by messages: each policy setting folds it once."""

    _folds: dict[Hashable, str]

    def fold(self, *, policy: Any) -> str:
        """The header as the email package folds it under `policy` (remembered)."""
        key = _policy_key(policy)
        folded = self._folds.get(key) if key is not None else None
        if folded is None:
            folded = cast(str, super().fold(policy=policy))  # type: ignore[misc]
            if key is not None:
                self._folds[key] = folded
        return folded


def _policy_key(policy: Any) -> Hashable | None:
    # Folding reads nothing but the policy's settings, and the generator clones the policy
    # for every message: equal settings (and class) fold alike.
    try:
        key = (type(policy), frozenset(vars(policy).items()))
        hash(key)
    except TypeError:
        return None
    return key


@lru_cache(maxsize=64)
def _folding_class(name: str) -> type[BaseHeader]:
    # The class the email package uses for `name`, plus the fold memory.
    kind = _REGISTRY.registry.get(name.lower(), _REGISTRY.default_class)
    return cast(
        type[BaseHeader],
        type(f"_Shared{kind.__name__}", (_FoldsOnce, kind, _REGISTRY.base_class), {}),
    )


def _shared_header(name: str, value: Any) -> BaseHeader:
    if isinstance(value, str) and len(value.splitlines()) > 1:
        # The check `message[name] = value` makes for a plain value.
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    header = _folding_class(name)(name, value)
    header._folds = {}  # type: ignore[attr-defined]
    return header


@lru_cache(maxsize=1024)
def _text_header(name: str, value: str) -> BaseHeader:
    return _shared_header(name, value)


@lru_cache(maxsize=1024)
def _address_header(name: str, display_name: str, addr_spec: str) -> BaseHeader:
    return _shared_header(name, Address(display_name=display_name, addr_spec=addr_spec))


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
    header = _address_header("From", clean_header_text(from_name), from_address)
    return Sender(header, from_address, from_address.rpartition("@")[2] or "localhost")


def date_header(sent_at: datetime) -> BaseHeader:
    """The Date header for `sent_at` (shared by every message of a dispatch)."""
    return _text_header("Date", format_datetime(sent_at))


def to_header(name: str, addr_spec: str) -> BaseHeader:
    """The To header for `addr_spec` with the display name `display_name_for` gives."""
    return _address_header("To", display_name_for(name, addr_spec), addr_spec)


def set_text_body(message: EmailMessage, text: str, subtype: str, *, mime_version: bool) -> None:
    """Give `message` a UTF-8, base64 text body, exactly as
    `message.set_content(text, subtype=subtype, charset="utf-8", cte="base64")` does
    (MIME-Version only where set_content adds it: on a top-level EmailMessage)."""
    message["Content-Type"] = _text_header("Content-Type", f'text/{subtype}; charset="utf-8"')
    message["Content-Transfer-Encoding"] = _text_header("Content-Transfer-Encoding", "base64")
    if mime_version:
        message["MIME-Version"] = _text_header("MIME-Version", "1.0")
    policy = message.policy
    linesep = policy.linesep.encode("ascii")
    data = linesep.join(text.encode("utf-8").splitlines()) + linesep
    per_line = cast(int, policy.max_line_length) // 4 * 3
    message.set_payload("".join(
        binascii.b2a_base64(data[start : start + per_line]).decode("ascii")
        for start in range(0, len(data), per_line)
    ))


# The email package's boundary (email.generator): 15 "=", the random number in 19 digits,
# "==". It checks that no line of the parts is the boundary; base64 lines and the parts'
# fixed headers never contain "-", so it is set here, once, instead of while sending.
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))


def _boundary() -> str:
    return f"{'=' * 15}{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}=="


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


@lru_cache(maxsize=256)
def _round_trips(display_name: str, addr_spec: str) -> bool:
    # The bytes of `To:` and a header after it, as any message sends them, read back:
    # same name and address, and no header pushed into the body. The To header folded
    # here is the one the message gets, so sending it does not fold it again.
    wire = (
        _SMTP.fold_binary("To", _address_header("To", display_name, addr_spec))
        + _SMTP.fold_binary("X-End", _text_header("X-End", "end"))
        + b"\r\n"
    )
    parsed = BytesParser(policy=MESSAGE_POLICY).parsebytes(wire, headersonly=True)
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
    wire = _SMTP.fold_binary("Subject", _text_header("Subject", subject)) + b"\r\n"
    parsed = BytesParser(policy=MESSAGE_POLICY).parsebytes(wire, headersonly=True)
    return bool(parsed["Subject"] == subject)


def subject_header(subject: str) -> str:
    """The Subject as one clean line, folded so that it parses back unchanged."""
    cleaned = clean_header_text(subject)
    if _subject_round_trips(cleaned):
        return _text_header("Subject", cleaned)
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
    message["List-Unsubscribe"] = _VerbatimHeader(
        "List-Unsubscribe", [f"<{unsubscribe_url}>", f"<{mailto}>"]
    )
    message["List-Unsubscribe-Post"] = _text_header(
        "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"
    )
    message["X-Leadflow-Email-Id"] = email_id
    message["MIME-Version"] = _text_header("MIME-Version", "1.0")
    message["Content-Type"] = f'multipart/alternative; boundary="{_boundary()}"'
    text, html = EmailMessage(policy=MESSAGE_POLICY), EmailMessage(policy=MESSAGE_POLICY)
    set_text_body(text, rendered.text, "plain", mime_version=False)
    set_text_body(html, rendered.html, "html", mime_version=True)
    message.set_payload([text, html])
    return message
