"""Deciding recycling from frames: unreachable leads, statuses, lost deals, retry dates."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from pydantic import ValidationError

import tasks.nurture.decide as nurture
from models.enums import LeadStatus, Stage
from models.lifecycle import TransitionKind
from models.nurture_rules import Entry
from models.rules import load_rules
from tasks.nurture.decide import NurtureFrames
from tasks.recycling.decide import decide_recycling, stamp
from tasks.recycling.decisions import RecyclingDecisions
from tasks.recycling.frames import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    DEAL_COLUMNS,
    OWNER_COLUMNS,
    STATUS_COLUMNS,
    RecyclingFrames,
)
from tasks.recycling.reminders import compose_retry_reminders
from tasks.validation import TooManyBadRows

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "default.yaml")
TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = datetime(2026, 5, 13, 2, tzinfo=UTC)  # 11:00 in Tokyo
HANDOFF = AS_OF - timedelta(days=5)


def contact(contact_id: int = 1, **values: Any) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "email": f"c{contact_id}@example.com",
        "first_name": "花子",
        "last_name": "山田",
        "company_name": "Acme",
        "lifecycle_stage": "mql",
        "lead_status": "attempting",
        "owner_id": 7,
        "last_stage_at": HANDOFF,
        "handoff_at": HANDOFF,
        "renurtured_at": None,
        **values,
    }


def call(outcome: str, days_after_handoff: float, contact_id: int = 1) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "outcome": outcome,
        "occurred_at": HANDOFF + timedelta(days=days_after_handoff),
    }


def frames(**rows: list[dict[str, Any]]) -> RecyclingFrames:
    columns = {
        "contacts": CONTACT_COLUMNS,
        "activities": ACTIVITY_COLUMNS,
        "statuses": STATUS_COLUMNS,
        "deals": DEAL_COLUMNS,
        "owners": OWNER_COLUMNS,
    }
    return RecyclingFrames(
        **{name: pd.DataFrame(rows.get(name, []), columns=cols) for name, cols in columns.items()}
    )


def decide(data: RecyclingFrames, as_of: datetime = AS_OF) -> RecyclingDecisions:
    return decide_recycling(data, rules=RULES, as_of=as_of, tz=TOKYO)


def test_three_unanswered_calls_since_the_handoff_recycle_the_lead_as_unreachable() -> None:
    calls = [call("no_answer", 1), call("voicemail", 2), call("no_answer", 3)]

    decisions = decide(frames(contacts=[contact()], activities=calls))

    [change] = decisions.recycles
    assert (change.to_status, change.reason, change.source) == (
        LeadStatus.RECYCLE, "unreachable", "recycling"
    )
    # Stamped at the third call, the moment the lead became unreachable.
    assert change.at == HANDOFF + timedelta(days=3)
    assert decisions.recycled_by_reason() == {"unreachable": 1}


def test_two_unanswered_calls_are_not_enough() -> None:
    calls = [call("no_answer", 1), call("no_answer", 2)]

    assert decide(frames(contacts=[contact()], activities=calls)).recycles == []


def test_a_connected_call_in_between_starts_the_count_again() -> None:
    calls = [call("no_answer", 1), call("connected", 1.5), call("no_answer", 2),
             call("no_answer", 3)]

    assert decide(frames(contacts=[contact()], activities=calls)).recycles == []


def test_calls_before_the_latest_handoff_do_not_count() -> None:
    calls = [call("no_answer", -3), call("no_answer", -2), call("no_answer", 1)]

    assert decide(frames(contacts=[contact()], activities=calls)).recycles == []


def test_calls_after_as_of_are_not_known_yet() -> None:
    calls = [call("no_answer", 1), call("no_answer", 2), call("no_answer", 6)]

    assert decide(frames(contacts=[contact()], activities=calls)).recycles == []


def test_a_connected_lead_is_not_recycled_for_unanswered_calls() -> None:
    calls = [call("no_answer", 1), call("no_answer", 2), call("no_answer", 3)]

    decisions = decide(frames(contacts=[contact(lead_status="connected")], activities=calls))

    assert decisions.recycles == []


def test_the_number_of_attempts_is_a_rule() -> None:
    rules = RULES.model_copy(
        update={"recycling": RULES.recycling.model_copy(update={"unreachable_after_attempts": 2})}
    )
    calls = [call("no_answer", 1), call("no_answer", 2)]

    decisions = decide_recycling(
        frames(contacts=[contact()], activities=calls), rules=rules, as_of=AS_OF, tz=TOKYO
    )

    assert len(decisions.recycles) == 1


def test_a_recycle_status_without_its_lifecycle_move_goes_back_to_lead_with_its_reason() -> None:
    set_at = AS_OF - timedelta(hours=5)
    status = {"contact_id": 1, "to_status": "recycle", "at": set_at,
              "reason": "予算化は来期", "retry_at": None}

    decisions = decide(frames(contacts=[contact(lead_status="recycle")], statuses=[status]))

    [move] = decisions.transitions
    assert (move.to_stage, move.kind, move.reason, move.at) == (
        Stage.LEAD, TransitionKind.RECYCLE, "予算化は来期", set_at
    )
    assert decisions.counts()["recycled"] == 1


def test_a_recycle_status_without_history_uses_the_word_recycle_and_the_hour() -> None:
    decisions = decide(frames(contacts=[contact(lead_status="recycle")]))

    [move] = decisions.transitions
    assert (move.reason, move.at) == ("recycle", AS_OF)


def test_an_unqualified_status_disqualifies_to_other() -> None:
    decisions = decide(frames(contacts=[contact(lead_status="unqualified")]))

    [move] = decisions.transitions
    assert (move.to_stage, move.kind) == (Stage.OTHER, TransitionKind.DISQUALIFY)
    assert decisions.counts()["disqualified"] == 1


def lost_deal(**values: Any) -> dict[str, Any]:
    return {"deal_id": 10, "contact_id": 1, "stage": "closedlost",
            "closed_at": AS_OF - timedelta(days=1), "lost_reason": "価格", **values}


def test_a_lost_deal_sends_its_contact_to_lost_renurture_at_the_close() -> None:
    person = contact(lifecycle_stage="opportunity", lead_status="sales_ready")

    decisions = decide(frames(contacts=[person], deals=[lost_deal()]))

    [move] = decisions.transitions
    assert (move.to_stage, move.kind, move.reason) == (
        Stage.LOST_RENURTURE, TransitionKind.RENURTURE, "価格"
    )
    assert move.at == AS_OF - timedelta(days=1)


def test_a_lost_deal_is_matched_case_insensitively_and_defaults_its_reason() -> None:
    person = contact(lifecycle_stage="opportunity", lead_status=None)

    decisions = decide(
        frames(contacts=[person], deals=[lost_deal(stage="ClosedLost", lost_reason=None)])
    )

    assert [t.reason for t in decisions.transitions] == ["deal lost"]


def test_a_contact_renurtured_since_the_deal_closed_stays_where_it_is() -> None:
    person = contact(lifecycle_stage="mql", lead_status="new",
                     renurtured_at=AS_OF - timedelta(hours=12))

    assert decide(frames(contacts=[person], deals=[lost_deal()])).transitions == []


def test_a_deal_closing_after_as_of_or_a_customer_s_lost_upsell_moves_nobody() -> None:
    later = lost_deal(closed_at=AS_OF + timedelta(hours=1))
    customer = contact(2, lifecycle_stage="customer", lead_status=None)

    decisions = decide(
        frames(contacts=[contact(lifecycle_stage="opportunity", lead_status=None), customer],
               deals=[later, lost_deal(deal_id=11, contact_id=2)])
    )

    assert decisions.transitions == []


def retry_row(retry_at: datetime, contact_id: int = 1) -> dict[str, Any]:
    return {"contact_id": contact_id, "to_status": "retry", "at": AS_OF - timedelta(days=10),
            "reason": "来月の予算会議後に再連絡", "retry_at": retry_at}


def test_a_retry_date_today_that_has_come_reminds_the_owner() -> None:
    due = AS_OF - timedelta(hours=1)  # 10:00 in Tokyo, same day

    decisions = decide(frames(contacts=[contact(lead_status="retry")], statuses=[retry_row(due)]))

    [reminder] = decisions.reminders
    assert (reminder.owner_id, reminder.retry_at, reminder.note) == (
        7, due, "来月の予算会議後に再連絡"
    )


def test_a_retry_date_later_today_or_on_another_day_reminds_nobody_yet() -> None:
    later_today = AS_OF + timedelta(hours=3)
    yesterday = AS_OF - timedelta(days=1)
    people = [contact(1, lead_status="retry"), contact(2, lead_status="retry")]

    decisions = decide(
        frames(contacts=people, statuses=[retry_row(later_today), retry_row(yesterday, 2)])
    )

    assert decisions.reminders == []


def test_the_retry_day_is_the_business_time_zone_s_day() -> None:
    # 2026-05-12 15:30 UTC is 2026-05-13 00:30 in Tokyo: the same local day as AS_OF.
    just_after_midnight = datetime(2026, 5, 12, 15, 30, tzinfo=UTC)

    decisions = decide(
        frames(contacts=[contact(lead_status="retry")],
               statuses=[retry_row(just_after_midnight)])
    )

    assert len(decisions.reminders) == 1


def test_a_retry_without_an_owner_is_counted_not_reminded() -> None:
    decisions = decide(
        frames(contacts=[contact(lead_status="retry", owner_id=None)],
               statuses=[retry_row(AS_OF)])
    )

    assert (decisions.reminders, decisions.counts()["retry_without_owner"]) == ([], 1)


def test_a_reminder_is_a_slack_dm_and_an_email_in_japanese_keyed_by_contact_and_date() -> None:
    data = frames(
        contacts=[contact(lead_status="retry", company_name="<!channel> & Co")],
        statuses=[retry_row(AS_OF)],
        owners=[{"owner_id": 7, "name": "佐藤", "email": "sato@example.com",
                 "slack_user_id": "U123"}],
    )

    messages = compose_retry_reminders(decide(data), data, language="ja", tz=TOKYO)

    slack, email = messages
    assert slack.idempotency_key == "slack:retry_reminder:1:2026-05-13"
    assert slack.payload["user"] == "U123"
    assert "&lt;!channel&gt; &amp; Co" in str(slack.payload["blocks"])
    assert "<!channel>" not in str(slack.payload)
    assert email.idempotency_key == "internal_email:retry_reminder:1:2026-05-13"
    assert email.payload["to"] == "sato@example.com"
    assert "再アプローチ予定日" in email.payload["text"]
    assert "leadflow log-activity c1@example.com" in email.payload["text"]


def test_a_reminder_speaks_english_when_the_rules_say_so() -> None:
    data = frames(
        contacts=[contact(lead_status="retry")], statuses=[retry_row(AS_OF)],
        owners=[{"owner_id": 7, "name": "Sato", "email": "sato@example.com",
                 "slack_user_id": None}],
    )

    [email] = compose_retry_reminders(decide(data), data, language="en", tz=TOKYO)

    assert email.payload["subject"].startswith("Re-approach today")
    assert "Today, 2026-05-13, is the re-approach date" in email.payload["text"]


def test_a_move_is_stamped_at_its_fact_unless_that_precedes_a_later_change() -> None:
    fact = AS_OF - timedelta(days=2)

    assert stamp(fact, after=[fact - timedelta(days=1), None], as_of=AS_OF) == fact
    assert stamp(fact, after=[fact + timedelta(hours=1)], as_of=AS_OF) == AS_OF
    assert stamp(None, after=[], as_of=AS_OF) == AS_OF


def nurture_frames(contact_row: dict[str, Any], entries: list[dict[str, Any]]) -> NurtureFrames:
    columns = {
        "contacts": nurture.CONTACT_COLUMNS,
        "enrollments": nurture.ENROLLMENT_COLUMNS,
        "sends": nurture.SEND_COLUMNS,
        "events": nurture.EVENT_COLUMNS,
        "activities": nurture.ACTIVITY_COLUMNS,
        "stage_entries": nurture.STAGE_ENTRY_COLUMNS,
        "suppressions": nurture.SUPPRESSION_COLUMNS,
        "snapshots": nurture.SNAPSHOT_COLUMNS,
    }
    rows = {"contacts": [contact_row], "stage_entries": entries}
    return NurtureFrames(
        **{name: pd.DataFrame(rows.get(name, []), columns=cols) for name, cols in columns.items()}
    )


def enrolled_programs(entries: list[dict[str, Any]], **contact_values: Any) -> list[str]:
    lead = {
        "contact_id": 1, "email": "c1@example.com", "first_name": "花子", "last_name": "山田",
        "company_name": None, "consent": True, "timezone": None, "lifecycle_stage": "lead",
        "score": 40, "created_at": AS_OF - timedelta(days=400),
        "updated_at": AS_OF - timedelta(hours=1), **contact_values,
    }
    decisions = nurture.decide_nurture(
        nurture_frames(lead, entries), rules=RULES.nurture, thresholds=RULES.scoring.thresholds,
        as_of=AS_OF, business_timezone="Asia/Tokyo",
    )
    return [e.program for e in decisions.enrollments]


def test_a_lead_recycled_back_to_lead_enters_the_recycled_program() -> None:
    entry = {"contact_id": 1, "to_stage": "lead", "at": AS_OF - timedelta(hours=2),
             "kind": "recycle"}

    assert enrolled_programs([entry]) == ["recycled"]


def test_a_lead_that_entered_lead_forward_or_was_only_updated_does_not_enter_it() -> None:
    forward = {"contact_id": 1, "to_stage": "lead", "at": AS_OF - timedelta(hours=2),
               "kind": "forward"}

    assert "recycled" not in enrolled_programs([forward])
    assert "recycled" not in enrolled_programs([])


def test_a_kinds_filter_belongs_to_the_stage_entered_trigger_only() -> None:
    with pytest.raises(ValidationError, match="kinds"):
        Entry(trigger="created", stages=[Stage.LEAD], kinds=[TransitionKind.RECYCLE])

    entry = Entry(trigger="stage_entered", stages=[Stage.LEAD], kinds=[TransitionKind.RECYCLE])
    assert entry.kinds == [TransitionKind.RECYCLE]


def test_a_contact_that_moved_on_since_the_deal_closed_stays_where_it_is() -> None:
    person = contact(lifecycle_stage="mql", lead_status="new",
                     last_stage_at=AS_OF - timedelta(hours=3))

    assert decide(frames(contacts=[person], deals=[lost_deal()])).transitions == []


def test_a_contact_with_an_unknown_lead_status_is_quarantined_and_the_others_still_recycled(
) -> None:
    calls = [call(o, d, contact_id=c) for c in (1, 2)
             for o, d in (("no_answer", 1), ("voicemail", 2), ("no_answer", 3))]

    decisions = decide(
        frames(contacts=[contact(1, lead_status="on_hold"), contact(2)], activities=calls)
    )

    assert [c.contact_id for c in decisions.recycles] == [2]
    [record] = decisions.quarantined
    assert (record.source, record.row_number, record.field, record.value) == (
        "recycling:contacts", 1, "lead_status", "on_hold"
    )
    assert "must be one of new, attempting" in record.reason
    assert decisions.bad_rows == 1


def test_a_contact_with_a_bad_activity_row_is_held_back_for_the_hour() -> None:
    naive = call("no_answer", 2.5, contact_id=1)
    naive["occurred_at"] = naive["occurred_at"].replace(tzinfo=None)
    calls = [call("no_answer", 1), call("no_answer", 2), naive, call("no_answer", 3)]

    decisions = decide(frames(contacts=[contact(1)], activities=calls))

    assert decisions.recycles == []
    assert [(r.source, r.row_number, r.field) for r in decisions.quarantined] == [
        ("recycling:activities", 1, "occurred_at")
    ]


def test_a_bad_deal_or_owner_row_is_quarantined_by_its_id_and_the_rest_still_decided() -> None:
    people = [contact(1, lifecycle_stage="opportunity", lead_status=None),
              contact(2, lead_status="retry", owner_id=8)]
    deals = [lost_deal(deal_id=-5, contact_id=1), lost_deal(deal_id=11, contact_id=1)]
    owner = {"owner_id": 8, "name": "佐藤", "email": "not an address", "slack_user_id": None}

    decisions = decide(frames(contacts=people, deals=deals, owners=[owner],
                              statuses=[retry_row(AS_OF, contact_id=2)]))

    assert [t.contact_id for t in decisions.transitions] == [1]
    assert sorted((r.source, r.row_number) for r in decisions.quarantined) == [
        ("recycling:deals", -5), ("recycling:owners", 8)
    ]
    # Nobody trustworthy to remind: counted, not sent.
    assert (decisions.reminders, decisions.counts()["retry_without_owner"]) == ([], 1)


def test_more_bad_rows_than_the_allowed_share_stop_the_hour_naming_the_first() -> None:
    data = frames(contacts=[contact(1, lead_status="on_hold"), contact(2)])

    with pytest.raises(TooManyBadRows, match=r"1 of 2 recycling input rows.*recycling:contacts "
                                             r"row 1 field lead_status"):
        decide_recycling(data, rules=RULES, as_of=AS_OF, tz=TOKYO, max_bad_row_share=0.2)
