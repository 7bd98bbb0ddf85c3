"""Signed link tokens: genuine ones verify, forged or altered ones are refused."""

import pytest

from leadflow.tokens import InvalidToken, sign_token, verify_token

SECRET = "s3cret"


def test_a_signed_token_verifies_and_returns_its_payload() -> None:
    token = sign_token({"e": "nurture:x", "c": 7}, action="unsubscribe", secret=SECRET)
    assert verify_token(token, action="unsubscribe", secret=SECRET) == {
        "e": "nurture:x",
        "c": 7,
        "a": "unsubscribe",
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


@pytest.mark.parametrize("garbage", ["", "abc", "abc.", ".abc", "ü.ö", "a.b.c"])
def test_malformed_tokens_are_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(garbage, action="click", secret=SECRET)
