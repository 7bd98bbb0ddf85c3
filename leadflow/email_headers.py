"""Header objects shared by many emails: built once, folded once per policy.

Turning headers into bytes (parsing, folding, RFC 2047 encoding) costs far more than
sending them, so headers that many messages share (sender, date, subject, MIME headers)
are built once here and folded once per policy; the email package still does every parse
and fold, so the bytes are exactly the ones it writes for a header built per message.
"""

import hashlib
from collections.abc import Hashable
from email import policy as email_policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from functools import lru_cache
from typing import Any, cast


def message_id_for(idempotency_key: str, *, domain: str) -> str:
    """A stable Message-ID for an idempotency key: a resend is recognisably the same email."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


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
SMTP_POLICY = MESSAGE_POLICY.clone(linesep="\r\n")


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
def text_header(name: str, value: str) -> BaseHeader:
    return _shared_header(name, value)


@lru_cache(maxsize=1024)
def address_header(name: str, display_name: str, addr_spec: str) -> BaseHeader:
    return _shared_header(name, Address(display_name=display_name, addr_spec=addr_spec))


class VerbatimHeader(str):
    """An ASCII header value written as given, folded only between its list items.

    The email package would RFC 2047-encode a URL longer than one line; mail clients
    then no longer see `<https://...>` in List-Unsubscribe. Lines stay under 998 octets.
    """

    def __new__(cls, name: str, items: list[str]) -> "VerbatimHeader":
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
