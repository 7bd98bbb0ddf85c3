"""The dry-run decision table's rows: each step's decisions in words (pure), and how the
CLI prints them."""

import io
from datetime import UTC, datetime, timedelta

import pandas as pd
from rich.console import Console

from app.cli.decisions_table import NO_DECISIONS, print_decisions
from models.enums import LeadStatus, Stage
from models.lifecycle import TransitionKind
from tasks.decision_rows import (
    DecisionNames,
    DecisionRow,
    as_records,
    nurture_rows,
    promotion_rows,
    recycling_rows,
    scoring_rows,
    sla_rows,
)
from tasks.nurture.decide import EnrollmentState, HistoryEntry, NurtureDecisions, PlannedEmail
from tasks.promotion.assignment import Assignment
from tasks.promotion.decide import HotMark, PromotionDecisions
from tasks.recycling.decisions import RecyclingDecisions, RetryReminder
from tasks.sla.decisions import ClockRow, Escalation, FollowUpTask, SlaDecisions
from tasks.sla.messages import Reassignment
from tasks.status.decide import StatusChange
from tasks.transitions import Transition

AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
NAMES = DecisionNames(owners={7: "Sato", 8: "Suzuki"}, previous_scores={1: 35})


def triples(rows: list[DecisionRow]) -> list[tuple[int, str, str]]:
    return [(row.contact_id, row.decision, row.detail) for row in rows]


def test_a_changed_score_reads_previous_to_new_with_its_split_and_top_signals() -> None:
    changed = pd.DataFrame(
        {
            "contact_id": [2, 1],
            "engagement_score": [5, 32],
            "fit_score": [0, 20],
            "score": [5, 52],
            "breakdown": [
                {"signals": [{"signal": "email_open", "points": 5}]},
                {"signals": [
                    {"signal": "email_open", "points": 6},
                    {"signal": "demo_request", "points": 25},
                    {"signal": "job_level", "points": 10},
                    {"signal": "pricing_page", "points": 10},
                ]},
            ],
        }
    )

    rows = scoring_rows(changed, NAMES)

    assert triples(rows) == [
        (1, "score 35 → 52",
         "engagement 32 + fit 20; demo_request +25, job_level +10, pricing_page +10"),
        (2, "score – → 5", "engagement 5 + fit 0; email_open +5"),
    ]
    assert {row.step for row in rows} == {"scoring"}


def test_promotion_rows_group_a_contacts_move_hot_mark_and_owner() -> None:
    decisions = PromotionDecisions(
        as_of=AS_OF,
        transitions=[
            Transition(3, "lead", Stage.MQL, AS_OF, "mql_score", reason="score ≥ 50"),
            Transition(1, "mql", Stage.SQL, AS_OF, "demo_request", reason="demo_request"),
        ],
        hot=[HotMark(contact_id=3, at=AS_OF, score=72)],
        assignments=[
            Assignment(3, 7, "is", AS_OF, "mql via mql_score"),
            Assignment(4, None, "fs", AS_OF, "late assignment", late=True),
        ],
    )

    assert triples(promotion_rows(decisions, NAMES)) == [
        (1, "mql → sql", "rule demo_request"),
        (3, "lead → mql", "rule mql_score: score ≥ 50"),
        (3, "hot lead", "score 72: field sales now"),
        (3, "assign owner Sato", "team is; mql via mql_score"),
        (4, "no owner: none active", "team fs; late assignment"),
    ]


def test_recycling_rows_name_the_reason_the_move_and_whose_reminder_it_is() -> None:
    decisions = RecyclingDecisions(
        as_of=AS_OF,
        recycles=[StatusChange(1, "attempting", LeadStatus.RECYCLE, AS_OF, "recycling",
                               reason="unreachable")],
        transitions=[
            Transition(2, "sql", Stage.LEAD, AS_OF, "lead_status:recycle",
                       kind=TransitionKind.RECYCLE, reason="not now"),
            Transition(3, "opportunity", Stage.LOST_RENURTURE, AS_OF, "lost_deal",
                       kind=TransitionKind.RENURTURE, reason="price"),
        ],
        reminders=[RetryReminder(4, 8, AS_OF + timedelta(hours=1), "call back")],
    )

    assert triples(recycling_rows(decisions, NAMES)) == [
        (1, "recycle: unreachable",
         "lead status attempting → recycle; back to lead, owner to marketing"),
        (2, "recycle: not now", "sql → lead (rule lead_status:recycle)"),
        (3, "opportunity → lost_renurture", "renurture: price"),
        (4, "retry reminder → Suzuki", "re-approach date 2026-11-20T04:00Z; Slack DM + email"),
    ]


def test_nurture_rows_show_enrolment_the_email_with_its_send_time_and_holds() -> None:
    key = f"new_lead:1:{AS_OF:%Y%m%dT%H%M%SZ}"
    email_id = f"nurture:{key}:email_1"
    decisions = NurtureDecisions(
        as_of=AS_OF,
        enrollments=[EnrollmentState(key, 1, "new_lead", "email_1", "active", AS_OF, AS_OF,
                                     None, None, is_new=True)],
        emails=[PlannedEmail(email_id, key, 1, "new_lead", "email_1", "new_lead/email_1", "ja",
                             "a@example.com", "A", "B", "C", "Asia/Tokyo")],
        history=[
            HistoryEntry(key, 1, AS_OF, "entered", None, "created"),
            HistoryEntry(key, 1, AS_OF, "queued", "email_1", email_id),
            HistoryEntry("webinar:2:x", 2, AS_OF, "sent", "webinar_1"),
            HistoryEntry("webinar:2:x", 2, AS_OF, "held", "webinar_2",
                         "outside send window; next slot 2026-11-23T00:00Z"),
            HistoryEntry("low_score:3:x", 3, AS_OF, "exited", "low_1", "stage_mql"),
        ],
    )

    assert triples(nurture_rows(decisions)) == [
        (1, "enrol new_lead", "trigger created"),
        (1, "email new_lead/email_1",
         "template new_lead/email_1 (ja), sends 2026-11-20T03:00Z"),
        (2, "hold email webinar/webinar_2", "outside send window; next slot 2026-11-23T00:00Z"),
        (3, "exit low_score", "stage_mql at step low_1"),
    ]


def test_sla_rows_say_who_an_escalation_notifies_and_who_takes_the_lead_over() -> None:
    due = AS_OF - timedelta(hours=24)
    decisions = SlaDecisions(
        as_of=AS_OF,
        clocks=[ClockRow(1, 1, "first_touch", due - timedelta(hours=24), due, None, AS_OF, 2,
                         7, breached=True)],
        escalations=[
            Escalation(1, 1, "first_touch", 2, AS_OF, due, due - timedelta(hours=24), AS_OF,
                       "notify", ("manager",), ("slack", "email"), 7, "is", 0),
            Escalation(1, 1, "first_touch", 3, AS_OF, due, due - timedelta(hours=24), AS_OF,
                       "reassign", ("team_channel",), ("slack",), 7, "is", 0),
        ],
        follow_ups=[FollowUpTask(2, 1, 3, AS_OF + timedelta(days=3), None, 8, opened=True)],
    )
    moved = [Reassignment(1, 7, 8, "is", "rotation")]

    assert triples(sla_rows(decisions, moved, NAMES)) == [
        (1, "SLA first_touch breached", "was due 2026-11-19T03:00Z"),
        (1, "escalate first_touch level 2 → manager",
         "via slack+email; owner Sato; level due 2026-11-20T03:00Z; 0 touches"),
        (1, "escalate first_touch level 3 → team_channel, reassign",
         "via slack; owner Sato; level due 2026-11-20T03:00Z; 0 touches"),
        (1, "reassign → Suzuki", "from Sato; team is; rotation"),
        (2, "follow-up task day 3", "due 2026-11-23T03:00Z; owner Suzuki"),
    ]


def test_artifact_names_show_owners_by_id_and_records_add_the_address_only_when_given() -> None:
    reminder = RecyclingDecisions(as_of=AS_OF, reminders=[RetryReminder(4, 8, AS_OF, None)])

    [row] = recycling_rows(reminder, NAMES.without_owner_names())

    assert row.decision == "retry reminder → #8"
    assert as_records([row]) == [{"step": "recycling", "contact_id": 4,
                                  "decision": row.decision, "detail": row.detail}]
    assert as_records([row], emails={4: "d@example.com"}, as_of=AS_OF)[0] == {
        "as_of": "2026-11-20T03:00:00+00:00", "step": "recycling", "contact": "d@example.com",
        "contact_id": 4, "decision": row.decision, "detail": row.detail,
    }


def printed(rows: list[dict[str, object]], *, artifact: str | None = None) -> str:
    out = io.StringIO()
    print_decisions(rows, artifact=artifact, console=Console(file=out, width=160))
    return out.getvalue()


def test_no_decisions_prints_one_line_saying_nothing_would_change() -> None:
    assert printed([]).strip() == NO_DECISIONS == "no decisions: nothing would change this hour"


def test_more_rows_than_the_limit_print_the_first_ones_and_point_to_the_artifact() -> None:
    rows = [
        {"step": "scoring", "contact": f"c{i}@example.com", "contact_id": i,
         "decision": f"score – → {i}", "detail": "engagement 0 + fit 0"}
        for i in range(1, 206)
    ]

    text = printed(rows, artifact="lead-cycle-dry-run-decisions")

    assert "c200@example.com" in text and "c201@example.com" not in text
    assert text.rstrip().endswith(
        "… and 5 more decisions (see the `lead-cycle-dry-run-decisions` artifact)"
    )


def test_rows_of_many_hours_get_an_hour_column() -> None:
    text = printed([{"as_of": "2026-11-20T03:00:00+00:00", "step": "promotion",
                     "contact": "a@example.com", "contact_id": 1, "decision": "lead → mql",
                     "detail": "rule mql_score"}])

    assert "hour (UTC)" in text
    assert "2026-11-20 03:00" in text and "a@example.com" in text and "lead → mql" in text
