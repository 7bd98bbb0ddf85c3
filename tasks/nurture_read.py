"""Read beat of nurture: the frames `decide_nurture` needs for one as_of.

Only what can matter is loaded: contacts that could enter a program or are in one, the
sends inside the frequency-cap window or of active enrollments, the events that trigger
programs or answer branch conditions, and (for low-score re-nurture) two score
aggregates per contact pushed down into SQL instead of every snapshot.
"""

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Select,
    and_,
    false,
    func,
    or_,
    select,
)

from models.enums import EventType
from models.rules import Rules
from models.tables import (
    Activity,
    Company,
    Contact,
    EmailSend,
    EmailSuppression,
    Event,
    NurtureEnrollment,
    Outbox,
    ScoreSnapshot,
    StageHistory,
)
from tasks.nurture_decide import (
    ACTIVE,
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    ENROLLMENT_COLUMNS,
    EVENT_COLUMNS,
    SEND_COLUMNS,
    SNAPSHOT_COLUMNS,
    STAGE_ENTRY_COLUMNS,
    SUPPRESSION_COLUMNS,
    NurtureFrames,
)

BRANCH_EVENT_TYPES = (EventType.EMAIL_OPEN, EventType.EMAIL_CLICK, EventType.FORM_SUBMIT)


def _frame(conn: Connection, query: Executable, columns: list[str]) -> pd.DataFrame:
    rows = [tuple(r) for r in conn.execute(query)]
    return pd.DataFrame(rows, columns=columns)


def read_nurture_frames(conn: Connection, *, rules: Rules, as_of: datetime) -> NurtureFrames:
    """Load every frame the nurture decision needs at `as_of`."""
    nurture = rules.nurture
    programs = nurture.programs
    active_keys = select(NurtureEnrollment.enrollment_key).where(NurtureEnrollment.status == ACTIVE)
    active_contacts = select(NurtureEnrollment.contact_id).where(NurtureEnrollment.status == ACTIVE)
    candidates = _entry_candidates(rules, as_of)

    contacts = _frame(
        conn,
        select(
            Contact.id.label("contact_id"),
            Contact.email,
            Contact.first_name,
            Contact.last_name,
            Company.name.label("company_name"),
            Contact.consent,
            Contact.timezone,
            Contact.lifecycle_stage,
            Contact.score,
            Contact.created_at,
            Contact.updated_at,
        )
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(or_(candidates, Contact.id.in_(active_contacts))),
        CONTACT_COLUMNS,
    )
    enrollments = _frame(
        conn,
        select(*(getattr(NurtureEnrollment, c) for c in ENROLLMENT_COLUMNS)).where(
            NurtureEnrollment.entered_at <= as_of,
            or_(
                NurtureEnrollment.status == ACTIVE,
                NurtureEnrollment.contact_id.in_(select(Contact.id).where(candidates)),
            ),
        ),
        ENROLLMENT_COLUMNS,
    )
    cap_start = as_of - timedelta(days=nurture.frequency_cap.days + 1)
    sends = _frame(
        conn,
        select(
            EmailSend.email_id,
            EmailSend.enrollment_key,
            EmailSend.contact_id,
            EmailSend.step,
            EmailSend.queued_at,
            Outbox.status,
            Outbox.sent_at,
            Outbox.last_error,
        )
        .outerjoin(Outbox, Outbox.idempotency_key == EmailSend.email_id)
        .where(
            EmailSend.queued_at <= as_of,
            or_(EmailSend.queued_at > cap_start, EmailSend.enrollment_key.in_(active_keys)),
        ),
        SEND_COLUMNS,
    )
    events = _read_events(conn, rules=rules, as_of=as_of, active_contacts=active_contacts)
    outcomes = sorted({str(o) for p in programs for o in p.exit.activity_outcomes})
    activities = _frame(
        conn,
        select(Activity.contact_id, Activity.outcome, Activity.occurred_at).where(
            Activity.contact_id.in_(active_contacts),
            Activity.outcome.in_(outcomes),
            Activity.occurred_at <= as_of,
        ),
        ACTIVITY_COLUMNS,
    )
    entered_stages = sorted(
        {str(s) for p in programs if p.entry.trigger == "stage_entered" for s in p.entry.stages}
    )
    stage_entries = _frame(
        conn,
        select(StageHistory.contact_id, StageHistory.to_stage, StageHistory.at).where(
            StageHistory.to_stage.in_(entered_stages), StageHistory.at <= as_of
        ),
        STAGE_ENTRY_COLUMNS,
    )
    suppressions = _frame(
        conn,
        select(EmailSuppression.contact_id, EmailSuppression.reason, EmailSuppression.created_at),
        SUPPRESSION_COLUMNS,
    )
    return NurtureFrames(
        contacts=contacts,
        enrollments=enrollments,
        sends=sends,
        events=events,
        activities=activities,
        stage_entries=stage_entries,
        suppressions=suppressions,
        snapshots=_read_low_score_snapshots(conn, rules=rules, as_of=as_of),
    )


def _entry_candidates(rules: Rules, as_of: datetime) -> ColumnElement[bool]:
    """Contacts that could enter some program at as_of: a superset decide narrows down.

    Pushed into SQL so an hourly run reads recent leads and triggers, not every contact.
    """
    options: list[ColumnElement[bool]] = []
    for program in rules.nurture.programs:
        entry = program.entry
        stages = Contact.lifecycle_stage.in_([str(s) for s in entry.stages])
        since = as_of - timedelta(days=entry.within_days)
        if entry.trigger == "created":
            options.append(and_(stages, Contact.created_at >= since, Contact.created_at <= as_of))
        elif entry.trigger == "event":
            recent = [
                Event.type.in_([str(t) for t in entry.events or []]),
                Event.occurred_at >= since,
                Event.occurred_at <= as_of,
            ]
            if entry.details is not None:
                recent.append(Event.detail.in_(entry.details))
            options.append(and_(stages, Contact.id.in_(select(Event.contact_id).where(*recent))))
        elif entry.trigger == "stage_entered":
            entered = select(StageHistory.contact_id).where(
                StageHistory.to_stage.in_([str(s) for s in entry.stages]),
                StageHistory.at >= since,
                StageHistory.at <= as_of,
            )
            options.append(and_(stages, or_(Contact.id.in_(entered), Contact.updated_at >= since)))
        else:
            options.append(and_(stages, Contact.score <= rules.scoring.thresholds.low_score))
    if not options:
        return false()
    return and_(Contact.consent.is_(True), or_(*options))


def _read_events(
    conn: Connection, *, rules: Rules, as_of: datetime, active_contacts: Select[Any]
) -> pd.DataFrame:
    programs = rules.nurture.programs
    event_entries = [p.entry for p in programs if p.entry.trigger == "event"]
    conditions = [
        and_(
            Event.contact_id.in_(active_contacts),
            Event.type.in_([str(t) for t in BRANCH_EVENT_TYPES]),
        )
    ]
    if event_entries:
        since = as_of - timedelta(days=max(e.within_days for e in event_entries))
        types = sorted({str(t) for e in event_entries for t in e.events or []})
        conditions.append(and_(Event.type.in_(types), Event.occurred_at >= since))
    return _frame(
        conn,
        select(Event.contact_id, Event.type, Event.detail, Event.occurred_at).where(
            Event.occurred_at <= as_of, or_(*conditions)
        ),
        EVENT_COLUMNS,
    )


def _read_low_score_snapshots(conn: Connection, *, rules: Rules, as_of: datetime) -> pd.DataFrame:
    # Two rows per candidate are enough for the rule: the last snapshot at or before the
    # cutoff (the score back then) and the highest score since.
    low_programs = [p for p in rules.nurture.programs if p.entry.trigger == "low_score"]
    if not low_programs:
        return pd.DataFrame(columns=SNAPSHOT_COLUMNS)
    thresholds = rules.scoring.thresholds
    cutoff = as_of - timedelta(days=thresholds.low_score_days)
    stages = sorted({str(s) for p in low_programs for s in p.entry.stages})
    candidates = select(Contact.id).where(
        Contact.consent.is_(True),
        Contact.lifecycle_stage.in_(stages),
        Contact.score <= thresholds.low_score,
    )
    last_before = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("taken"))
        .where(ScoreSnapshot.contact_id.in_(candidates), ScoreSnapshot.as_of <= cutoff)
        .group_by(ScoreSnapshot.contact_id)
        .subquery()
    )
    before = _frame(
        conn,
        select(ScoreSnapshot.contact_id, ScoreSnapshot.as_of, ScoreSnapshot.score).join(
            last_before,
            and_(
                last_before.c.contact_id == ScoreSnapshot.contact_id,
                last_before.c.taken == ScoreSnapshot.as_of,
            ),
        ),
        SNAPSHOT_COLUMNS,
    )
    since = _frame(
        conn,
        select(
            ScoreSnapshot.contact_id,
            func.max(ScoreSnapshot.as_of).label("as_of"),
            func.max(ScoreSnapshot.score).label("score"),
        )
        .where(
            ScoreSnapshot.contact_id.in_(candidates),
            ScoreSnapshot.as_of > cutoff,
            ScoreSnapshot.as_of <= as_of,
        )
        .group_by(ScoreSnapshot.contact_id),
        SNAPSHOT_COLUMNS,
    )
    frames = [f for f in (before, since) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=SNAPSHOT_COLUMNS)
    return pd.concat(frames, ignore_index=True)
