"""Decide beat of nurture: frames + rules + as_of in, enrollment moves and emails out.

Pure: no I/O, no clock, no Prefect. Whole-frame passes find the active enrollments that
must exit, are finished or are due this hour (`tasks.nurture.facts`) and the contacts
that may enter a program (`tasks.nurture.entry`); only those are walked one by one
(`tasks.nurture.walk`), in enrollment-key then contact order, over lookups built for
them alone. Every other enrollment neither moves nor logs anything this hour.
"""

from datetime import datetime

import pandas as pd

from models.nurture_rules import NurtureRules
from models.nurture_schemas import planned_emails_schema
from models.rules import Thresholds
from tasks.nurture.decisions import (
    EnrollmentState,
    HistoryEntry,
    NurtureDecisions,
    PlannedEmail,
    Suppression,
)
from tasks.nurture.entry import entry_programs
from tasks.nurture.facts import (
    active_enrollments,
    lookups,
    records,
    send_step_keys,
    stamp,
    suppressed_reasons,
)
from tasks.nurture.frames import (
    ACTIVE,
    ACTIVITY_COLUMNS,
    COMPLETED,
    CONTACT_COLUMNS,
    ENROLLMENT_COLUMNS,
    EVENT_COLUMNS,
    EXITED,
    FAILED,
    SEND_COLUMNS,
    SENT,
    SNAPSHOT_COLUMNS,
    STAGE_ENTRY_COLUMNS,
    SUPPRESSION_COLUMNS,
    NurtureFrames,
    email_id,
    enrollment_key,
)
from tasks.nurture.walk import Walk, Walker
from tasks.validation import check_bad_row_share, split_valid_rows

QUARANTINE_SOURCE = "nurture:emails"

__all__ = [
    "ACTIVE",
    "ACTIVITY_COLUMNS",
    "COMPLETED",
    "CONTACT_COLUMNS",
    "ENROLLMENT_COLUMNS",
    "EVENT_COLUMNS",
    "EXITED",
    "FAILED",
    "QUARANTINE_SOURCE",
    "SEND_COLUMNS",
    "SENT",
    "SNAPSHOT_COLUMNS",
    "STAGE_ENTRY_COLUMNS",
    "SUPPRESSION_COLUMNS",
    "EnrollmentState",
    "HistoryEntry",
    "NurtureDecisions",
    "NurtureFrames",
    "PlannedEmail",
    "Suppression",
    "decide_nurture",
    "email_id",
    "enrollment_key",
    "validate_planned_emails",
]


def decide_nurture(
    frames: NurtureFrames,
    *,
    rules: NurtureRules,
    thresholds: Thresholds,
    as_of: datetime,
    business_timezone: str,
) -> NurtureDecisions:
    """Exits, advances, branches, enrollments and emails to enqueue at `as_of` (pure)."""
    programs = {p.name: p for p in rules.programs}
    suppressed = suppressed_reasons(frames, as_of)
    split = active_enrollments(frames, programs=programs, suppressed=suppressed, as_of=as_of)
    moving = split.moving
    busy = split.staying_contacts
    entrants = entry_programs(
        frames,
        rules=rules,
        thresholds=thresholds,
        suppressed=suppressed,
        busy=busy,
        as_of=as_of,
    )
    email_ids: set[str] = set()
    for name, group in moving.groupby("program"):
        if name in programs:
            keys = [str(k) for k in group["enrollment_key"].tolist()]
            email_ids.update(send_step_keys(keys, programs[name]))
    for contact_id, program in entrants:
        key = enrollment_key(program.name, contact_id, as_of)
        email_ids.update(send_step_keys([key], program))
    walker = Walker(
        lookups(
            frames,
            contact_ids={int(c) for c in moving["contact_id"].tolist()} | {c for c, _ in entrants},
            email_ids=email_ids,
            suppressed=suppressed,
            as_of=as_of,
        ),
        rules=rules,
        as_of=as_of,
        business_timezone=business_timezone,
    )
    decisions = NurtureDecisions(as_of=as_of)

    def record(walk: Walk, original: EnrollmentState | None) -> None:
        if walk.state != original:
            decisions.enrollments.append(walk.state)
        decisions.history.extend(walk.history)
        decisions.emails.extend(walk.emails)
        decisions.suppressions.extend(walk.suppressions)
        if walk.state.status == ACTIVE:
            busy.add(walk.state.contact_id)

    for row in records(moving[[*ENROLLMENT_COLUMNS, "exit_now"]]):
        original = EnrollmentState(
            enrollment_key=str(row["enrollment_key"]),
            contact_id=int(row["contact_id"]),
            program=str(row["program"]),
            step=None if pd.isna(row["step"]) else str(row["step"]),
            status=ACTIVE,
            entered_at=stamp(row["entered_at"]),  # type: ignore[arg-type]
            next_step_at=stamp(row["next_step_at"]),
            last_sent_at=stamp(row["last_sent_at"]),
            exit_reason=None,
        )
        walk = Walk(original)
        if row["exit_now"] is not None:
            walker.exit(walk, str(row["exit_now"]), original.step)
        else:
            walker.walk(programs[original.program], walk)
        record(walk, original)

    for contact_id, program in entrants:
        if contact_id in busy:
            continue
        walk = Walk(
            EnrollmentState(
                enrollment_key=enrollment_key(program.name, contact_id, as_of),
                contact_id=contact_id,
                program=program.name,
                step=program.steps[0].id,
                status=ACTIVE,
                entered_at=as_of,
                next_step_at=as_of,
                last_sent_at=None,
                exit_reason=None,
                is_new=True,
            )
        )
        walk.log(as_of, "entered", None, program.entry.trigger)
        walker.walk(program, walk)
        record(walk, None)
    return decisions


def validate_planned_emails(
    decisions: NurtureDecisions, *, locales: list[str], max_bad_row_share: float = 1.0
) -> NurtureDecisions:
    """Set aside emails that cannot be sent (e.g. a malformed address) as quarantine.

    Their enrollments keep waiting on the step, so a fixed address goes out next hour;
    more than `max_bad_row_share` bad emails fails the run.
    """
    if not decisions.emails:
        return decisions
    frame = pd.DataFrame([e.__dict__ for e in decisions.emails])
    validated = split_valid_rows(
        frame,
        planned_emails_schema(locales),
        source=QUARANTINE_SOURCE,
        row_numbers=frame["contact_id"],
    )
    if not validated.rejected:
        return decisions
    total = len(frame)
    check_bad_row_share(
        what="planned emails", bad=validated.bad_rows, total=total, limit=max_bad_row_share,
        first=validated.rejected[0],
    )
    good = set(validated.good["email_id"])
    bad = {e.email_id for e in decisions.emails} - good
    return NurtureDecisions(
        as_of=decisions.as_of,
        enrollments=decisions.enrollments,
        emails=[e for e in decisions.emails if e.email_id in good],
        history=[h for h in decisions.history if not (h.action == "queued" and h.detail in bad)],
        suppressions=decisions.suppressions,
        quarantined=validated.rejected,
    )
