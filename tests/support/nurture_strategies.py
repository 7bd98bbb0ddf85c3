"""Hypothesis strategies for nurture's decide: small random but valid worlds.

`nurture_cases()` draws (rules, frames, as_of): a handful of contacts (consent on/off,
foreign, unknown or no time zone, every stage, scores, malformed addresses) with
enrollments at every step of every program (due, waiting, finished, of a removed
program, of a contact gone), sends in every outbox state (pending, sent before or after
as_of, failed soft or hard), opens/clicks/forms/webinars before and after as_of,
replies, suppressions, stage moves, score snapshots, and as_of on weekends, Japanese
public holidays, window edges and DST changes. Rules vary the send window, the
frequency cap and add a program whose branches test score, stage and forms.
"""

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from leadflow.paths import DEFAULT_RULES_PATH
from models.nurture_rules import WEEKDAYS, FrequencyCap, NurtureRules, Program, SendWindow
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
    NurtureFrames,
    email_id,
    enrollment_key,
)

RULES = load_rules(DEFAULT_RULES_PATH)
THRESHOLDS = RULES.scoring.thresholds
STAGES = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "other",
          "lost_renurture"]
# Mostly stages nurture mails, so that exits do not hide everything else.
LIKELY_STAGES = ["lead"] * 6 + ["subscriber"] * 2 + ["lost_renurture"] * 2 + STAGES
ZONES = [None, "", "Asia/Tokyo", "America/New_York", "Europe/London", "Not/AZone"]
# Weekdays, weekends, JP holidays (Culture Day, Labour Thanksgiving, New Year, Golden
# Week), New York and London DST changes, and a year end.
DAYS = [
    datetime(2026, 12, 8, tzinfo=UTC),
    datetime(2026, 12, 5, tzinfo=UTC),
    datetime(2026, 12, 6, tzinfo=UTC),
    datetime(2026, 11, 3, tzinfo=UTC),
    datetime(2026, 11, 23, tzinfo=UTC),
    datetime(2026, 12, 31, tzinfo=UTC),
    datetime(2027, 1, 1, tzinfo=UTC),
    datetime(2026, 5, 4, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
]

_EXTRA = Program.model_validate({
    "name": "branchy",
    "entry": {"trigger": "stage_entered", "stages": ["lead", "subscriber"],
              "kinds": ["forward"], "within_days": 5},
    "reenroll": {"after_days": 3},
    "exit": {"stages": ["customer"], "activity_outcomes": ["meeting_booked"]},
    "steps": [
        {"id": "b_1", "send": "b_1"},
        {"id": "hot", "branch": {"if": {"score_at_least": 40}, "then": "b_hot", "else": "mid"}},
        {"id": "b_hot", "send": "b_hot", "next": "end"},
        {"id": "mid", "branch": {"if": {"stage_in": ["lead"]}, "then": "w", "else": "formy"}},
        {"id": "w", "wait": {"hours": 5}},
        {"id": "formy",
         "branch": {"if": {"form_submitted": ["contact"]}, "then": "b_form", "else": "b_2"}},
        {"id": "b_form", "send": "other/b_form", "next": "end"},
        {"id": "b_2", "send": "b_2"},
    ],
})


@st.composite
def nurture_rules(draw: st.DrawFn) -> NurtureRules:
    """The default nurture rules, or a variant of window, cap and programs."""
    base = RULES.nurture
    if draw(st.booleans()):
        return base
    weekdays = draw(st.lists(st.sampled_from(WEEKDAYS),
                             min_size=1, max_size=7, unique=True))
    start = draw(st.integers(0, 20))
    end = draw(st.integers(start + 1, 23))
    window = SendWindow(weekdays=weekdays, start=time(start), end=time(end, draw(st.sampled_from(
        [0, 30]))), skip_public_holidays=draw(st.booleans()))
    cap = FrequencyCap(max_emails=draw(st.integers(1, 4)), days=draw(st.integers(1, 8)))
    programs = list(base.programs)
    if draw(st.booleans()):
        programs = [_EXTRA, *draw(st.permutations(programs))]
    return base.model_copy(update={"send_window": window, "frequency_cap": cap,
                                   "programs": programs})


def _offset(draw: st.DrawFn, *, before_days: int, after_days: int) -> timedelta:
    minutes = draw(st.integers(-before_days * 24 * 60, after_days * 24 * 60))
    seconds = draw(st.sampled_from([0, 0, 0, 3, 59]))
    return timedelta(minutes=minutes, seconds=seconds)


@st.composite
def nurture_cases(draw: st.DrawFn) -> tuple[NurtureRules, NurtureFrames, datetime]:
    """Rules, frames and as_of for one decide call."""
    rules = draw(nurture_rules())
    hour = draw(st.one_of(st.integers(0, 9), st.integers(0, 23)))  # 0–9 UTC: 9–18 in Tokyo
    as_of = draw(st.sampled_from(DAYS)) + timedelta(hours=hour)
    if draw(st.integers(0, 9)) == 0:
        as_of += timedelta(minutes=draw(st.integers(1, 59)))

    def at(before: int, after: int) -> datetime:
        return as_of + _offset(draw, before_days=before, after_days=after)

    contact_ids = list(range(1, draw(st.integers(1, 7)) + 1))
    gone = draw(st.sampled_from([None, None, None, *contact_ids]))
    known = [c for c in contact_ids if c != gone] or contact_ids
    contacts = [{
        "contact_id": c,
        "email": draw(st.sampled_from([f"c{c}@example.co.jp", f"c{c}@example.com", "broken"])),
        "first_name": draw(st.sampled_from(["太郎", None])),
        "last_name": "山田",
        "company_name": draw(st.sampled_from(["Acme", None])),
        "consent": draw(st.sampled_from([True, True, True, False])),
        "timezone": draw(st.sampled_from(ZONES)),
        "lifecycle_stage": draw(st.sampled_from(LIKELY_STAGES)),
        "score": draw(st.one_of(st.none(), st.integers(0, 80))),
        "created_at": at(30, 0),
        "updated_at": at(20, 0),
    } for c in sorted(known)]

    programs = rules.programs
    enrollments: dict[str, dict[str, Any]] = {}
    sends: list[dict[str, Any]] = []
    send_keys: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        removed = draw(st.integers(0, 20)) == 0
        program = None if removed else draw(st.sampled_from(programs))
        name = "retired" if program is None else program.name
        contact = draw(st.sampled_from(contact_ids))
        entered = at(40, 0).replace(second=0)
        key = enrollment_key(name, contact, entered)
        steps = ["email_1"] if program is None else [s.id for s in program.steps]
        status = draw(st.sampled_from(["active", "active", "active", "completed", "exited"]))
        step = draw(st.one_of(st.sampled_from(steps), st.sampled_from([None, "end"])))
        enrollments[key] = {
            "enrollment_key": key, "contact_id": contact, "program": name, "step": step,
            "status": status, "entered_at": entered,
            "next_step_at": draw(st.one_of(st.none(), st.just(at(10, 10)))),
            "last_sent_at": None, "exit_reason": None,
        }
        if program is None:
            continue
        for step_ in program.steps:
            if step_.send is None:
                continue
            send_keys.append(email_id(key, step_.id))
            # The current step's email exists half the time, an earlier one often.
            if draw(st.integers(0, 3)) == 0 or (step_.id != step and draw(st.booleans())):
                continue
            queued = at(12, 1)
            outbox = draw(st.sampled_from(["sent", "sent", "sent", "pending", "failed", None]))
            sends.append({
                "email_id": email_id(key, step_.id), "enrollment_key": key,
                "contact_id": contact, "step": step_.id, "queued_at": queued,
                "status": outbox,
                "sent_at": queued + _offset(draw, before_days=0, after_days=2)
                if outbox == "sent" else None,
                "last_error": draw(st.sampled_from(["hard bounce: 550 no such user",
                                                    "timeout", None]))
                if outbox == "failed" else None,
            })
    for _ in range(draw(st.integers(0, 7))):
        # Other marketing mail of a contact (counts for the frequency cap).
        contact = draw(st.sampled_from(contact_ids))
        queued = at(7, 0)
        sends.append({
            "email_id": f"nurture:webinar:{contact}:{queued:%Y%m%dT%H%M%SZ}:webinar_1",
            "enrollment_key": f"webinar:{contact}:x", "contact_id": contact,
            "step": "webinar_1", "queued_at": queued,
            "status": draw(st.sampled_from(["sent", "pending", "failed"])),
            "sent_at": queued, "last_error": None,
        })
    others = st.sampled_from(["document_download", "contact", None])
    details = st.one_of(st.sampled_from(send_keys), others) if send_keys else others
    events = [{
        "contact_id": draw(st.sampled_from(contact_ids)),
        "type": draw(st.sampled_from(["email_open", "email_click", "form_submit",
                                      "webinar_attended", "page_view"])),
        "detail": draw(details),
        "occurred_at": at(draw(st.sampled_from([5, 20])), 1),
    } for _ in range(draw(st.integers(0, 8)))]
    activities = [{
        "contact_id": draw(st.sampled_from(contact_ids)),
        "outcome": draw(st.sampled_from(["replied", "meeting_booked", "no_answer"])),
        "occurred_at": at(40, 2),
    } for _ in range(draw(st.integers(0, 3)))]
    stage_entries = [{
        "contact_id": draw(st.sampled_from(contact_ids)),
        "to_stage": draw(st.sampled_from(LIKELY_STAGES)),
        "at": at(draw(st.sampled_from([8, 20])), 1),
        "kind": draw(st.sampled_from(["forward", "recycle", "renurture", None])),
    } for _ in range(draw(st.integers(0, 5)))]
    suppressions = [{
        "contact_id": draw(st.sampled_from(contact_ids)),
        "reason": draw(st.sampled_from(["unsubscribed", "bounced", "complaint"])),
        "created_at": at(30, 2),
    } for _ in range(draw(st.integers(0, 2)))]
    snapshots = [{
        "contact_id": draw(st.sampled_from(contact_ids)),
        "as_of": at(120, 2),
        "score": draw(st.integers(0, 60)),
    } for _ in range(draw(st.integers(0, 6)))]
    for contact in contact_ids:
        # A trigger that (nearly) fires, so that every program's entry is exercised.
        trigger = draw(st.sampled_from(["none", "download", "webinar", "lost", "recycle",
                                        "low", "form"]))
        when = at(4, 0)
        if trigger in ("download", "webinar", "form"):
            events.append({
                "contact_id": contact,
                "type": "webinar_attended" if trigger == "webinar" else "form_submit",
                "detail": {"download": "document_download", "form": "contact"}.get(trigger),
                "occurred_at": when,
            })
        elif trigger in ("lost", "recycle"):
            stage_entries.append({
                "contact_id": contact,
                "to_stage": "lost_renurture" if trigger == "lost" else "lead",
                "at": when,
                "kind": "renurture" if trigger == "lost" else "recycle",
            })
        elif trigger == "low":
            for row in contacts:
                if row["contact_id"] == contact:
                    row["score"] = draw(st.integers(20, 35))
            snapshots.extend([
                {"contact_id": contact, "as_of": at(90, 0) - timedelta(days=60),
                 "score": draw(st.integers(20, 35))},
                {"contact_id": contact, "as_of": at(59, 0), "score": draw(st.integers(20, 35))},
            ])
    frames = NurtureFrames(
        contacts=pd.DataFrame(contacts, columns=CONTACT_COLUMNS),
        enrollments=pd.DataFrame(list(enrollments.values()), columns=ENROLLMENT_COLUMNS),
        sends=pd.DataFrame(sends, columns=SEND_COLUMNS),
        events=pd.DataFrame(events, columns=EVENT_COLUMNS),
        activities=pd.DataFrame(activities, columns=ACTIVITY_COLUMNS),
        stage_entries=pd.DataFrame(stage_entries, columns=STAGE_ENTRY_COLUMNS),
        suppressions=pd.DataFrame(suppressions, columns=SUPPRESSION_COLUMNS),
        snapshots=pd.DataFrame(snapshots, columns=SNAPSHOT_COLUMNS),
    )
    return rules, frames, as_of
