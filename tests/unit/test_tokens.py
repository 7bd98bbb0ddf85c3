"""Signed link tokens: genuine ones verify, forged, altered or expired ones are refused."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.tokens import InvalidToken, sign_token, verify_token

SECRET = "s3cret"
ISSUED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAX_AGE = timedelta(days=90)


def legacy_token(payload: dict[str, object], secret: str) -> str:
    """A token as signed before tokens carried an issue time."""
    body = base64.urlsafe_b64encode(
        json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    ).rstrip(b"=").decode()
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def test_a_signed_token_verifies_and_returns_its_payload_with_its_issue_time() -> None:
    token = sign_token(
        {"e": "nurture:x", "c": 7}, action="unsubscribe", secret=SECRET, issued_at=ISSUED
    )
    assert verify_token(token, action="unsubscribe", secret=SECRET) == {
        "e": "nurture:x",
        "c": 7,
        "a": "unsubscribe",
        "t": int(ISSUED.timestamp()),
    }


def test_a_token_signed_with_another_secret_is_refused() -> None:
    forged = sign_token({"e": "nurture:x", "c": 7}, action="unsubscribe", secret="guess")
    with pytest.raises(InvalidToken):
        verify_token(forged, action="unsubscribe", secret=SECRET)


def test_a_token_with_an_altered_payload_is_refused() -> None:
    genuine = sign_token({"e": "nurture:x", "c": 7}, action="unsubscribe", secret=SECRET)
    other = sign_token({"e": "nurture:x", "c": 8}, action="unsubscribe", secret="guess")
    altered = other.split(".")[0] + "." + genuine.split(".")[1]
    with pytest.raises(InvalidToken):
        verify_token(altered, action="unsubscribe", secret=SECRET)


def test_a_token_with_one_changed_character_is_refused() -> None:
    token = sign_token({"e": "nurture:x", "c": 7}, action="open", secret=SECRET)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        verify_token(flipped, action="open", secret=SECRET)


def test_an_open_token_cannot_be_used_to_unsubscribe() -> None:
    token = sign_token({"e": "nurture:x", "c": 7}, action="open", secret=SECRET)
    with pytest.raises(InvalidToken, match="not a unsubscribe token"):
        verify_token(token, action="unsubscribe", secret=SECRET)


@pytest.mark.parametrize(
    "garbage", ["", "abc", "abc.", ".abc", "ü.ö", "a.b.c", "abc.ü", "abc.defü", "éa.abc"]
)
def test_malformed_tokens_are_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(garbage, action="click", secret=SECRET)


def test_a_genuine_body_with_a_non_ascii_signature_is_refused_not_crashed() -> None:
    body = sign_token({"e": "nurture:x", "c": 7}, action="open", secret=SECRET).split(".")[0]
    with pytest.raises(InvalidToken, match="malformed"):
        verify_token(f"{body}.ä", action="open", secret=SECRET)


def test_after_rotation_tokens_signed_with_an_older_secret_still_verify() -> None:
    old = sign_token({"e": "nurture:x", "c": 7}, action="unsubscribe", secret="old-secret")
    new = sign_token({"e": "nurture:x", "c": 7}, action="unsubscribe", secret="new-secret")
    for token in (old, new):
        verify_token(token, action="unsubscribe", secret=["new-secret", "old-secret"])
    with pytest.raises(InvalidToken):
        verify_token(old, action="unsubscribe", secret=["new-secret"])


def test_a_token_is_valid_up_to_its_max_age_and_refused_after_it() -> None:
    token = sign_token({"e": "nurture:x", "c": 7}, action="click", secret=SECRET, issued_at=ISSUED)
    verify_token(token, action="click", secret=SECRET, max_age=MAX_AGE, now=ISSUED + MAX_AGE)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(
            token,
            action="click",
            secret=SECRET,
            max_age=MAX_AGE,
            now=ISSUED + MAX_AGE + timedelta(seconds=1),
        )


def test_an_unsubscribe_link_sent_before_tokens_carried_an_issue_time_still_works() -> None:
    token = legacy_token({"e": "nurture:x", "c": 7, "a": "unsubscribe"}, SECRET)
    payload = verify_token(
        token, action="unsubscribe", secret=SECRET, max_age=MAX_AGE, now=ISSUED
    )
    assert payload["c"] == 7


def test_an_open_token_without_an_issue_time_is_refused() -> None:
    token = legacy_token({"e": "nurture:x", "c": 7, "a": "open"}, SECRET)
    with pytest.raises(InvalidToken, match="issue time"):
        verify_token(token, action="open", secret=SECRET, max_age=MAX_AGE, now=ISSUED)
