"""The pure nurture decision: frames + rules + as_of in, decisions out."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from leadflow.paths import DEFAULT_RULES_PATH
from models.rules import load_rules
from tasks.nurture.decide import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    ENROLLMENT_COLUMNS,
    EVENT_COLUMNS,
    SEND_COLUMNS,
    SNAPSHOT_COLUMNS,
    STAGE_ENTRY_COLUMNS,
    SUPPRESSION_COLUMNS,
    NurtureDecisions,
    NurtureFrames,
    decide_nurture,
    email_id,
    validate_planned_emails,
)
from tasks.validation import TooManyBadRows

RULES = load_rules(DEFAULT_RULES_PATH)
AS_OF = datetime(2026, 12, 8, 2, tzinfo=UTC)  # Tuesday 11:00 in Tokyo
LONG_AGO = AS_OF - timedelta(days=400)


def contact(contact_id: int = 1, **values: Any) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "email": f"c{contact_id}@example.co.jp",
        "first_name": "太郎",
        "last_name": "山田",
        "company_name": None,
        "consent": True,
        "timezone": None,
        "lifecycle_stage": "lead",
        "score": None,
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
        **values,
    }


def frames(**rows: list[dict[str, Any]]) -> NurtureFrames:
    columns = {
        "contacts": CONTACT_COLUMNS,
        "enrollments": ENROLLMENT_COLUMNS,
        "sends": SEND_COLUMNS,
        "events": EVENT_COLUMNS,
        "activities": ACTIVITY_COLUMNS,
        "stage_entries": STAGE_ENTRY_COLUMNS,
        "suppressions": SUPPRESSION_COLUMNS,
        "snapshots": SNAPSHOT_COLUMNS,
    }
    return NurtureFrames(
        **{name: pd.DataFrame(rows.get(name, []), columns=cols) for name, cols in columns.items()}
    )


def decide(data: NurtureFrames, as_of: datetime = AS_OF) -> NurtureDecisions:
    return decide_nurture(
        data,
        rules=RULES.nurture,
        thresholds=RULES.scoring.thresholds,
        as_of=as_of,
        business_timezone="Asia/Tokyo",
    )


def enrollment(key: str, step: str | None, **values: Any) -> dict[str, Any]:
    program, contact_id, _ = key.split(":")
    return {
        "enrollment_key": key,
        "contact_id": int(contact_id),
        "program": program,
        "step": step,
        "status": "active",
        "entered_at": AS_OF - timedelta(days=10),
        "next_step_at": AS_OF - timedelta(hours=1),
        "last_sent_at": None,
        "exit_reason": None,
        **values,
    }


def sent(key: str, step: str, at: datetime, status: str = "sent") -> dict[str, Any]:
    return {
        "email_id": email_id(key, step),
        "enrollment_key": key,
        "contact_id": int(key.split(":")[1]),
        "step": step,
        "queued_at": at,
        "status": status,
        "sent_at": at if status == "sent" else None,
        "last_error": None,
    }


def test_the_same_inputs_give_the_same_decisions() -> None:
    data = frames(contacts=[contact(1, created_at=AS_OF - timedelta(hours=1)), contact(2)])
    assert decide(data) == decide(data)


def test_a_new_lead_is_enrolled_and_gets_email_1_in_the_same_hour() -> None:
    decisions = decide(frames(contacts=[contact(created_at=AS_OF - timedelta(minutes=20))]))
    [state] = decisions.enrollments
    assert (state.program, state.is_new, state.step) == ("new_lead", True, "email_1")
    [email] = decisions.emails
    assert email.email_id == "nurture:new_lead:1:20261208T020000Z:email_1"
    assert (email.template, email.locale) == ("new_lead/email_1", "ja")


def test_leads_captured_before_the_entry_window_are_not_enrolled() -> None:
    decisions = decide(frames(contacts=[contact(created_at=AS_OF - timedelta(days=8))]))
    assert decisions.enrollments == [] and decisions.emails == []


def test_a_document_download_enrols_an_older_contact_in_the_step_mail() -> None:
    event = {
        "contact_id": 1,
        "type": "form_submit",
        "detail": "document_download",
        "occurred_at": AS_OF - timedelta(hours=3),
    }
    decisions = decide(frames(contacts=[contact()], events=[event]))
    assert [e.template for e in decisions.emails] == ["document_download/dl_1"]


def test_entering_the_lost_renurture_stage_enrols_in_the_lost_deal_program() -> None:
    decisions = decide(
        frames(
            contacts=[contact(lifecycle_stage="lost_renurture")],
            stage_entries=[
                {"contact_id": 1, "to_stage": "lost_renurture", "at": AS_OF - timedelta(days=1)}
            ],
        )
    )
    assert [e.template for e in decisions.emails] == ["lost_deal/lost_1"]


def test_a_score_at_or_below_30_for_60_days_enrols_in_low_score_renurture() -> None:
    low = contact(score=25)
    snapshots = [
        {"contact_id": 1, "as_of": AS_OF - timedelta(days=70), "score": 28},
        {"contact_id": 1, "as_of": AS_OF - timedelta(days=5), "score": 25},
    ]
    decisions = decide(frames(contacts=[low], snapshots=snapshots))
    assert [e.template for e in decisions.emails] == ["low_score/low_1"]
    recent_high = [*snapshots, {"contact_id": 1, "as_of": AS_OF - timedelta(days=20), "score": 45}]
    assert decide(frames(contacts=[low], snapshots=recent_high)).emails == []
    too_new = snapshots[1:]
    assert decide(frames(contacts=[low], snapshots=too_new)).emails == []


def test_a_program_is_never_reentered_when_its_policy_is_never() -> None:
    done = enrollment("new_lead:1:20261201T020000Z", None, status="completed")
    data = frames(contacts=[contact(created_at=AS_OF - timedelta(days=2))], enrollments=[done])
    assert decide(data).emails == []


def test_a_program_is_reentered_after_its_reenrollment_days_on_a_new_trigger() -> None:
    old = enrollment(
        "document_download:1:20261001T000000Z",
        None,
        status="completed",
        entered_at=AS_OF - timedelta(days=31),
    )
    event = {
        "contact_id": 1,
        "type": "form_submit",
        "detail": "document_download",
        "occurred_at": AS_OF - timedelta(hours=2),
    }
    assert len(decide(frames(contacts=[contact()], enrollments=[old], events=[event])).emails) == 1
    recent = {**old, "entered_at": AS_OF - timedelta(days=20)}
    assert decide(frames(contacts=[contact()], enrollments=[recent], events=[event])).emails == []


def test_a_reply_after_entry_exits_the_program() -> None:
    key = "new_lead:1:20261128T000000Z"
    data = frames(
        contacts=[contact()],
        enrollments=[enrollment(key, "email_2")],
        activities=[
            {"contact_id": 1, "outcome": "replied", "occurred_at": AS_OF - timedelta(days=1)}
        ],
    )
    decisions = decide(data)
    [state] = decisions.enrollments
    assert (state.status, state.exit_reason) == ("exited", "replied")
    assert decisions.emails == []


def test_consent_withdrawn_before_a_send_exits_instead_of_sending() -> None:
    key = "new_lead:1:20261128T000000Z"
    data = frames(contacts=[contact(consent=False)], enrollments=[enrollment(key, "email_2")])
    [state] = decide(data).enrollments
    assert (state.status, state.exit_reason) == ("exited", "no_consent")


def test_the_frequency_cap_holds_an_email_until_the_oldest_send_leaves_the_window() -> None:
    key = "new_lead:1:20261128T000000Z"
    other = "webinar:1:20261201T000000Z"
    sends = [
        sent(other, "webinar_1", AS_OF - timedelta(days=6, hours=1)),
        sent(other, "webinar_2", AS_OF - timedelta(days=5)),
        sent(other, "webinar_3", AS_OF - timedelta(days=2)),
    ]
    data = frames(contacts=[contact()], enrollments=[enrollment(key, "email_2")], sends=sends)
    decisions = decide(data)
    assert decisions.emails == []
    [state] = decisions.enrollments
    assert state.next_step_at == AS_OF + timedelta(days=1) - timedelta(hours=1)
    assert "frequency cap" in str(decisions.history[-1].detail)


def test_a_wait_counts_from_the_actual_send_time() -> None:
    key = "new_lead:1:20261201T020000Z"
    # email 1 was held and really went out on 2026-12-03 00:00 UTC.
    data = frames(
        contacts=[contact()],
        enrollments=[enrollment(key, "email_1", next_step_at=datetime(2026, 12, 3, tzinfo=UTC))],
        sends=[sent(key, "email_1", datetime(2026, 12, 3, tzinfo=UTC))],
    )
    [state] = decide(data, as_of=datetime(2026, 12, 7, 23, tzinfo=UTC)).enrollments
    assert (state.step, state.next_step_at) == ("email_2", datetime(2026, 12, 8, tzinfo=UTC))


def test_a_click_counts_as_an_open_for_the_branch() -> None:
    key = "new_lead:1:20261120T020000Z"
    email_2 = datetime(2026, 12, 1, 0, tzinfo=UTC)
    click = {
        "contact_id": 1,
        "type": "email_click",
        "detail": email_id(key, "email_2"),
        "occurred_at": email_2 + timedelta(days=1),
    }
    data = frames(
        contacts=[contact()],
        enrollments=[enrollment(key, "email_2", next_step_at=email_2)],
        sends=[sent(key, "email_2", email_2)],
        events=[click],
    )
    decisions = decide(data)
    assert [e.step for e in decisions.emails] == ["email_3a"]


def test_an_open_after_as_of_is_not_known_yet() -> None:
    key = "new_lead:1:20261120T020000Z"
    email_2 = datetime(2026, 12, 1, 0, tzinfo=UTC)
    future_open = {
        "contact_id": 1,
        "type": "email_open",
        "detail": email_id(key, "email_2"),
        "occurred_at": AS_OF + timedelta(hours=1),
    }
    data = frames(
        contacts=[contact()],
        enrollments=[enrollment(key, "email_2", next_step_at=email_2)],
        sends=[sent(key, "email_2", email_2)],
        events=[future_open],
    )
    assert [e.step for e in decide(data).emails] == ["email_3b"]


def test_a_pending_send_keeps_the_enrollment_waiting_and_enqueues_nothing_new() -> None:
    key = "new_lead:1:20261208T020000Z"
    data = frames(
        contacts=[contact(created_at=AS_OF - timedelta(hours=1))],
        enrollments=[enrollment(key, "email_1", entered_at=AS_OF)],
        sends=[sent(key, "email_1", AS_OF, status="pending")],
    )
    decisions = decide(data)
    assert decisions.emails == [] and decisions.enrollments == []


def test_an_email_to_a_malformed_address_is_quarantined_and_the_others_go_out() -> None:
    fresh = AS_OF - timedelta(minutes=20)
    data = frames(
        contacts=[
            contact(1, created_at=fresh),
            contact(2, created_at=fresh, email="not-an-address"),
        ]
    )
    decisions = validate_planned_emails(decide(data), locales=["ja", "en"])
    assert [e.contact_id for e in decisions.emails] == [1]
    assert {(r.source, r.row_number, r.field) for r in decisions.quarantined} == {
        ("nurture:emails", 2, "to")
    }
    assert decisions.counts()["quarantined"] == 1
    assert [h.contact_id for h in decisions.history if h.action == "queued"] == [1]


def test_too_many_malformed_addresses_fail_the_run() -> None:
    data = frames(contacts=[contact(1, created_at=AS_OF, email="broken")])
    with pytest.raises(TooManyBadRows):
        validate_planned_emails(decide(data), locales=["ja"], max_bad_row_share=0.5)
