"""HMAC-signed tokens for the links in our emails (unsubscribe, open pixel, click).

A token is `base64url(json payload) "." base64url(HMAC-SHA256(secret, payload part))`.
The payload names its purpose (`a`), so an open-pixel token cannot unsubscribe anyone
and a click token redirects only to the URL it carries. Changing one byte of either
part, or signing with another secret, makes `verify_token` refuse it.
"""

import base64
import hashlib
import hmac
import json
from typing import Any, Literal

Action = Literal["unsubscribe", "open", "click"]


class InvalidToken(ValueError):
    """A token that is malformed, altered, forged or meant for another action."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), body.encode("ascii"), hashlib.sha256).digest()
    return _b64encode(digest)


def sign_token(payload: dict[str, Any], *, action: Action, secret: str) -> str:
    """A signed, URL-safe token carrying `payload` for one `action`."""
    body = _b64encode(
        json.dumps({**payload, "a": action}, separators=(",", ":"), sort_keys=True).encode()
    )
    return f"{body}.{_signature(secret, body)}"


def verify_token(token: str, *, action: Action, secret: str) -> dict[str, Any]:
    """The payload of a genuine token for `action`; raises InvalidToken otherwise."""
    body, dot, signature = token.partition(".")
    if not dot or not body or not signature:
        raise InvalidToken("malformed token")
    try:
        expected = _signature(secret, body)
    except UnicodeEncodeError:
        raise InvalidToken("malformed token") from None
    if not hmac.compare_digest(expected, signature):
        raise InvalidToken("bad signature")
    try:
        payload = json.loads(_b64decode(body))
    except ValueError:
        raise InvalidToken("malformed payload") from None
    if not isinstance(payload, dict) or payload.get("a") != action:
        raise InvalidToken(f"not a {action} token")
    return payload
