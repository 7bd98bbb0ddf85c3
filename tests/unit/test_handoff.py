"""Slack hand-off messages rendered from the jinja2 Block Kit templates (pure)."""

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from leadflow.adapters.slack import ConsoleSlackSender
from models.messages import OutboxRow
from models.rules import load_rules, parse_rules
from tasks.promotion.decide import decide_promotions
from tasks.promotion.handoff import SlackTemplates, compose_handoff_messages
from tasks.promotion.handoff_facts import HandoffContext, top_reasons
from tasks.promotion.read import (
    ASSIGNMENT_COLUMNS,
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    OWNER_COLUMNS,
    PromotionInputs,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


def world(*, score: int, slack_user_id: str | None, company: str = "Acme <&> 株式会社") -> Any:
    row: dict[str, Any] = dict.fromkeys(CONTACT_COLUMNS)
    row.update(contact_id=1, email="taro@acme.example", lifecycle_stage="lead", score=score)
    inputs = PromotionInputs(
        as_of=AS_OF,
        contacts=pd.DataFrame([row], columns=CONTACT_COLUMNS),
        events=pd.DataFrame(columns=EVENT_COLUMNS),
        owners=pd.DataFrame(
            [(7, "Sato", "sato@x", "is", True, 1.0, slack_user_id)], columns=OWNER_COLUMNS
        ),
        assignments=pd.DataFrame(columns=ASSIGNMENT_COLUMNS),
    )
    context = HandoffContext(
        contacts=pd.DataFrame(
            [(1, "taro@acme.example", "Taro", "Yamada", "Director", "trade_show", company, None)],
            columns=[
                "contact_id",
                "email",
                "first_name",
                "last_name",
                "job_title",
                "lead_source",
                "company_name",
                "company_domain",
            ],
        ),
        reasons={
            1: [
                {"name": "pricing_page", "group": "behaviour", "points": 10},
                {"name": "demo_request", "group": "behaviour", "points": 25},
                {"name": "manager_or_above", "group": "fit", "points": 10},
                {"name": "email_open", "group": "behaviour", "points": 0},
            ]
        },
        activities=pd.DataFrame(
            [
                (1, "activity", "call", "connected", AS_OF - timedelta(hours=1)),
                (1, "event", "page_view", "pricing", AS_OF - timedelta(days=1)),
            ],
            columns=["contact_id", "source", "type", "detail", "at"],
        ),
    )
    return inputs, context


def compose(rules: Any, *, score: int, slack_user_id: str | None = "U7", **kw: Any) -> list:
    inputs, context = world(score=score, slack_user_id=slack_user_id, **kw)
    decisions = decide_promotions(inputs, rules, as_of=AS_OF)
    return compose_handoff_messages(
        decisions,
        inputs=inputs,
        context=context,
        rules=rules,
        templates=SlackTemplates.load(),
        tz=TOKYO,
    )


def test_the_top_reasons_are_the_signals_with_the_most_points() -> None:
    reasons = top_reasons(
        [
            {"name": "a", "points": 5},
            {"name": "b", "points": 25},
            {"name": "c", "points": 0},
            {"name": "d", "points": 10},
        ],
        labels={"b": "requested a demo"},
        limit=2,
    )
    assert [r["line"] for r in reasons] == ["• requested a demo +25", "• d +10"]


def test_the_english_handoff_carries_everything_sales_needs_to_call() -> None:
    data = RULES.model_dump(mode="json")
    data["promotion"]["slack"]["language"] = "en"
    rules = parse_rules(data, source=Path("en.yaml"))

    [message] = compose(rules, score=60)

    assert message.idempotency_key == "slack:handoff:1:mql:20261120T030000Z"
    assert message.payload["channel"] == "#sales-handoff"
    assert message.payload["text"] == "MQL hand-off: Yamada Taro (Acme &lt;&amp;&gt; 株式会社)"
    blocks = json.dumps(message.payload["blocks"], ensure_ascii=False)
    for expected in (
        "Yamada Taro (Director)",
        "*Score*\\n60",
        "trade_show",
        "<@U7>",
        "• submitted the demo request form +25",
        "• 11/20 11:00 Call — connected",
        "• 11/19 12:00 Page view — pricing",
        "2026-11-20 12:00 JST",
    ):
        assert expected in blocks
    assert "email_open" not in blocks


def test_user_text_is_escaped_for_mrkdwn_but_the_owner_mention_is_not() -> None:
    [message] = compose(RULES, score=60)
    fields = json.dumps(message.payload["blocks"][1], ensure_ascii=False)
    assert "Acme &lt;&amp;&gt; 株式会社" in fields
    assert "<@U7>" in fields


def test_a_hot_lead_also_goes_to_field_sales_and_to_the_owner_by_direct_message() -> None:
    messages = compose(RULES, score=85)
    assert [(m.kind, m.payload.get("channel"), m.payload.get("user")) for m in messages] == [
        ("handoff", "#sales-handoff", None),
        ("hot", "#fs-hot-leads", None),
        ("hot_dm", None, "U7"),
    ]
    assert messages[1].payload["text"].startswith("🔥 ホットリード")


def test_an_owner_without_a_slack_id_is_named_and_gets_no_direct_message() -> None:
    messages = compose(RULES, score=85, slack_user_id=None)
    assert [m.kind for m in messages] == ["handoff", "hot"]
    assert "*担当*\\nSato" in json.dumps(messages[0].payload["blocks"], ensure_ascii=False)


def test_the_console_sender_prints_the_blocks_for_local_development() -> None:
    stream = io.StringIO()
    row = OutboxRow(
        id=1,
        idempotency_key="k",
        channel="slack",
        kind="handoff",
        contact_id=1,
        payload={"channel": "#sales-handoff", "blocks": [{"type": "divider"}]},
        status="pending",
        attempts=0,
        last_error=None,
        not_before=None,
        created_at=AS_OF,
        sent_at=None,
        run_id=None,
    )
    ConsoleSlackSender(stream)(row)
    assert "#sales-handoff" in stream.getvalue()
    assert '"divider"' in stream.getvalue()
