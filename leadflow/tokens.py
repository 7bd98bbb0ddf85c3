"""HMAC-signed tokens for the links in our emails (unsubscribe, open pixel, click).

A token is `base64url(json payload) "." base64url(HMAC-SHA256(secret, payload part))`.
The payload names its purpose (`a`), so an open-pixel token cannot unsubscribe anyone
and a click token redirects only to the URL it carries. Changing one byte of either
part, or signing with another secret, makes `verify_token` refuse it.

The payload also carries its issue time (`t`, Unix seconds): `verify_token` refuses a
token older than `max_age`. Several secrets can be accepted at once (key rotation): sign
with the newest, verify against all of them, so links already sent keep working.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Action = Literal["unsubscribe", "open", "click"]


class InvalidToken(ValueError):
    """A token that is malformed, altered, forged, expired or meant for another action."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), body.encode("ascii"), hashlib.sha256).digest()
    return _b64encode(digest)


def sign_token(
    payload: dict[str, Any],
    *,
    action: Action,
    secret: str,
    issued_at: datetime | None = None,
) -> str:
    """A signed, URL-safe token carrying `payload` for one `action`, stamped `issued_at`
    (default: now)."""
    issued = issued_at or datetime.now(UTC)
    body = _b64encode(
        json.dumps(
            {**payload, "a": action, "t": int(issued.timestamp())},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
    )
    return f"{body}.{_signature(secret, body)}"


def verify_token(
    token: str,
    *,
    action: Action,
    secret: str | Sequence[str],
    max_age: timedelta | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The payload of a genuine token for `action`; raises InvalidToken otherwise.

    `secret` is one secret or every accepted one (rotation). With `max_age`, a token
    issued longer ago than that before `now` (default: the current time) is refused.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    body, dot, signature = token.partition(".")
    if not dot or not body or not signature:
        raise InvalidToken("malformed token")
    # Both parts are base64url; anything else (e.g. a non-ASCII character pasted into
    # the URL) cannot be genuine, and compare_digest refuses non-ASCII strings.
    if not (body.isascii() and signature.isascii()):
        raise InvalidToken("malformed token")
    if not any(hmac.compare_digest(_signature(key, body), signature) for key in secrets):
        raise InvalidToken("bad signature")
    try:
        payload = json.loads(_b64decode(body))
    except ValueError:
        raise InvalidToken("malformed payload") from None
    if not isinstance(payload, dict) or payload.get("a") != action:
        raise InvalidToken(f"not a {action} token")
    issued = payload.get("t")
    if issued is None:
        # Unsubscribe links sent before tokens carried an issue time must keep working;
        # open and click tokens without one are simply not counted any more.
        if action != "unsubscribe":
            raise InvalidToken("token has no issue time")
    elif not isinstance(issued, int) or isinstance(issued, bool):
        raise InvalidToken("malformed issue time")
    elif max_age is not None:
        age = (now or datetime.now(UTC)) - datetime.fromtimestamp(issued, UTC)
        if age > max_age:
            raise InvalidToken("expired token")
    return payload
