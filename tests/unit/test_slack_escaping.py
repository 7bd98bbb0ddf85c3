"""Slack hand-offs: hostile names stay text, owner ids are validated, limits are kept."""

import json
from typing import Any

import pandas as pd
import pandera.errors
import pytest

from models.schemas import OWNERS_IMPORT
from tasks.promotion.handoff import (
    MAX_FIELD_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    slack_length,
    truncate_slack_text,
    valid_slack_user_id,
)
from tests.unit.test_handoff import RULES, compose

HOSTILE = "<!channel> <!here> <https://evil.example|click> & co"


def texts(payload: dict[str, Any]) -> list[str]:
    """Every text Slack receives: the top-level text and each text object in the blocks."""
    found = [str(payload["text"])]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload["blocks"])
    return found


def test_the_notification_text_and_every_block_escape_mentions_and_links() -> None:
    messages = compose(RULES, score=85, company=HOSTILE)
    for message in messages:
        for text in texts(message.payload):
            assert "<!channel>" not in text and "<!here>" not in text
            assert "<https://evil" not in text
        assert "&lt;!channel&gt; &lt;!here&gt;" in message.payload["text"]
        assert "&amp; co" in message.payload["text"]


def test_an_owner_id_that_is_not_a_slack_user_id_is_never_mentioned_or_messaged() -> None:
    messages = compose(RULES, score=85, slack_user_id="U0OWNER2> <!channel")
    assert [m.kind for m in messages] == ["handoff", "hot"]
    for message in messages:
        for text in texts(message.payload):
            assert "<!channel" not in text and "<@" not in text
        assert "*担当*\\nSato" in json.dumps(message.payload["blocks"], ensure_ascii=False)


@pytest.mark.parametrize("value", ["U0OWNER2", "W012ABC"])
def test_a_slack_user_id_is_u_or_w_then_capitals_and_digits(value: str) -> None:
    assert valid_slack_user_id(value) == value


@pytest.mark.parametrize("value", ["U0OWNER2> <!channel", "u123", "C0123", "U", "U12 3", None])
def test_anything_else_is_not_a_slack_user_id(value: str | None) -> None:
    assert valid_slack_user_id(value) is None


def test_the_owner_import_rejects_an_invalid_slack_user_id_in_its_field() -> None:
    frame = pd.DataFrame(
        {
            "email": ["a@example.com", "b@example.com"],
            "name": [None, None],
            "team": [None, None],
            "manager_email": [None, None],
            "slack_user_id": ["U0OWNER1", "U0OWNER2> <!channel"],
            "active": [None, None],
            "weight": [None, None],
        },
        dtype=object,
    )
    with pytest.raises(pandera.errors.SchemaErrors) as raised:
        OWNERS_IMPORT.validate(frame, lazy=True)
    cases = raised.value.failure_cases
    assert cases["column"].tolist() == ["slack_user_id"]
    assert cases["failure_case"].tolist() == ["U0OWNER2> <!channel"]


def test_an_oversized_handoff_is_cut_to_slacks_limits_instead_of_rejected() -> None:
    messages = compose(RULES, score=85, company="&" * 5000)
    for message in messages:
        blocks = message.payload["blocks"]
        assert len(blocks) <= 50
        header = blocks[0]["text"]["text"]
        assert slack_length(header) <= MAX_HEADER_TEXT and header.endswith("…")
        for field in blocks[1]["fields"]:
            assert slack_length(field["text"]) <= MAX_FIELD_TEXT
        assert blocks[1]["fields"][1]["text"].endswith("&amp;…")
        for block in blocks[2:4]:
            assert slack_length(block["text"]["text"]) <= MAX_SECTION_TEXT


def test_truncation_never_splits_an_entity_or_a_mention() -> None:
    assert truncate_slack_text("ab&amp;cd", 5) == "ab…"
    assert truncate_slack_text("x <@U123456> tail", 8) == "x …"
    assert truncate_slack_text("short", 10) == "short"
    assert slack_length(truncate_slack_text("🔥" * 100, 150)) <= 150
