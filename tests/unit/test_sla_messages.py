"""SLA escalation messages: recipients, wording in Japanese and English, Slack escaping."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from models.rules import Rules, load_rules
from tasks.sla.decisions import NO_OWNER, Escalation
from tasks.sla.messages import Reassignment, SlaTemplates, compose_sla_messages, lateness
from tasks.sla.read import OWNER_COLUMNS
from tasks.sla.read_context import CONTEXT_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
ENGLISH = RULES.model_copy(update={"sla": RULES.sla.model_copy(update={"language": "en"})})
TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 11, 17, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
OWNERS = pd.DataFrame(
    [
        (1, "佐藤", "sato@example.com", "is", "boss@example.com", "UOWNER1", True),
        (2, "鈴木部長", "boss@example.com", "is", None, "UBOSS01", False),
        (3, "田中", "tanaka@example.com", "is", None, "UOTHER1", True),
        (4, "<!channel>", "nomanager@example.com", "is", "outside@example.com", None, True),
    ],
    columns=OWNER_COLUMNS,
)
CONTEXT = pd.DataFrame(
    [(9, "taro@acme.example", "太郎", "山田", "Acme & <Co>", "acme.example", 62, "call",
      "no_answer", T0 + 2 * HOUR)],
    columns=CONTEXT_COLUMNS,
)
LEVEL_1 = Escalation(
    contact_id=9, cycle=1, policy="first_touch", level=1, due_at=T0 + 24 * HOUR,
    clock_due_at=T0 + 24 * HOUR, started_at=T0, at=T0 + 51 * HOUR, action="notify",
    notify=("owner",), via=("slack", "email"), owner_id=1, team="is", touches=0,
)


def compose(escalation: Escalation, rules: Rules = RULES,
            reassignments: dict[str, Reassignment] | None = None) -> dict[str, dict]:
    messages = compose_sla_messages(
        [escalation], owners=OWNERS, context=CONTEXT, reassignments=reassignments or {},
        rules=rules, templates=SlaTemplates.load(), tz=TOKYO,
    )
    return {m.idempotency_key.removeprefix("sla:9:1:"): {"channel": m.channel, **m.payload}
            for m in messages}


def test_the_owner_gets_a_slack_dm_and_an_email_saying_what_is_late_by_how_much_and_what_to_do(
) -> None:
    messages = compose(LEVEL_1)

    assert sorted(messages) == ["first_touch:1:owner:email", "first_touch:1:owner:slack"]
    dm = messages["first_touch:1:owner:slack"]
    assert dm["user"] == "UOWNER1"
    text = str(dm["blocks"])
    assert "初回接触" in text and "1日3時間超過" in text and "2026-11-18 10:00 JST" in text
    assert "今すぐ連絡し、結果を `leadflow log-activity` で記録してください" in text
    assert "Acme &amp; &lt;Co&gt;" in text and "電話（不在） 2026-11-17 12:00 JST" in text
    email = messages["first_touch:1:owner:email"]
    assert (email["channel"], email["to"]) == ("internal_email", "sato@example.com")
    assert email["subject"] == "[SLA超過] 初回接触: 山田 太郎（Acme & <Co>） 1日3時間超過"
    assert "スコア: 62" in email["text"] and "佐藤 様" in email["text"]


def test_english_messages_say_the_same_in_english() -> None:
    messages = compose(LEVEL_1, ENGLISH)

    text = str(messages["first_touch:1:owner:slack"]["blocks"])
    assert "First touch" in text and "1 d 3 h late" in text
    assert "Contact the lead now and record the result with `leadflow log-activity`." in text
    assert messages["first_touch:1:owner:email"]["subject"].startswith("[SLA missed] First touch")


def test_the_manager_gets_a_dm_only_when_the_manager_is_an_owner_on_slack() -> None:
    to_manager = replace(LEVEL_1, level=2, notify=("manager",))

    on_slack = compose(to_manager)
    by_email_only = compose(replace(to_manager, owner_id=4))

    assert on_slack["first_touch:2:manager:slack"]["user"] == "UBOSS01"
    assert on_slack["first_touch:2:manager:email"]["to"] == "boss@example.com"
    assert sorted(by_email_only) == ["first_touch:2:manager:email"]
    assert by_email_only["first_touch:2:manager:email"]["to"] == "outside@example.com"


def test_the_team_channel_hears_who_had_the_lead_and_who_has_it_now() -> None:
    level_3 = replace(LEVEL_1, level=3, notify=("team_channel",), via=("slack",),
                      action="reassign")
    change = Reassignment(9, 1, 3, "is", "sla first_touch level 3")

    [post] = compose(level_3, reassignments={level_3.key: change}).values()

    assert post["channel"] == "#is-team"
    assert "<@UOWNER1> → <@UOTHER1>" in str(post["blocks"])
    assert "新しい担当者 <@UOTHER1> へ" in str(post["blocks"])


def test_a_lead_without_an_owner_is_announced_to_its_team_channel() -> None:
    [post] = compose(replace(LEVEL_1, owner_id=None, detail=NO_OWNER)).values()

    assert post["channel"] == "#is-team"
    assert "担当者がいません" in str(post["blocks"])


def test_an_owner_name_is_never_a_live_mention() -> None:
    [dm_less] = compose(replace(LEVEL_1, owner_id=4, via=("email",))).values()
    [post] = compose(replace(LEVEL_1, owner_id=4, notify=("team_channel",),
                             via=("slack",))).values()

    assert dm_less["to"] == "nomanager@example.com"
    assert "&lt;!channel&gt;" in str(post["blocks"]) and "<!channel>" not in str(post["blocks"])


def test_a_follow_up_level_is_late_from_its_own_due_time() -> None:
    follow_up = replace(LEVEL_1, policy="follow_ups", due_at=T0 + 50 * HOUR,
                        clock_due_at=T0 + 200 * HOUR, touches_needed=2, touches=1)

    assert lateness(follow_up) == {"days": 0, "hours": 1, "minutes": 0}
    assert lateness(replace(LEVEL_1, at=T0 + 24 * HOUR)) == {"days": 0, "hours": 0, "minutes": 0}


def test_a_lead_nobody_has_touched_reads_no_last_touch() -> None:
    # The read's outer join gives NaT (not None) for a lead without any activity.
    untouched = CONTEXT.assign(
        last_type=None, last_outcome=None, last_at=pd.Series([pd.NaT], dtype="datetime64[us, UTC]")
    )
    messages = compose_sla_messages(
        [LEVEL_1], owners=OWNERS, context=untouched, reassignments={},
        rules=RULES, templates=SlaTemplates.load(), tz=TOKYO,
    )

    email = next(m for m in messages if m.channel == "internal_email")
    assert "なし" in email.payload["text"]
