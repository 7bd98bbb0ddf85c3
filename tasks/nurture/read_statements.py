"""The SELECTs behind nurture's read beat, built from the rules alone.

Instants are bound parameters (`as_of`, `cap_start`, `events_since`, `low_score_cutoff`,
`since_<program>`), and an incremental run's contact list is the expanding `scope`
parameter, so a process running many hours builds them once per rules object.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Executable,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
)

from leadflow.db import id_list_match
from models.enums import EventType
from models.nurture_rules import Entry
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
    UTCDateTime,
)
from tasks.nurture.decide import ACTIVE, ENROLLMENT_COLUMNS

BRANCH_EVENT_TYPES = (EventType.EMAIL_OPEN, EventType.EMAIL_CLICK, EventType.FORM_SUBMIT)


def _instant(name: str) -> BindParameter[datetime]:
    return bindparam(name, type_=UTCDateTime())


AS_OF = _instant("as_of")
CAP_START = _instant("cap_start")
EVENTS_SINCE = _instant("events_since")
LOW_SCORE_CUTOFF = _instant("low_score_cutoff")
SCOPE = "scope"


def _since(program: str) -> BindParameter[datetime]:
    return _instant(f"since_{program}")


@dataclass(frozen=True)
class NurtureStatements:
    """One SELECT per frame (low_before/low_since only when a low-score program exists)."""

    contacts: Executable
    enrollments: Executable
    sends: Executable
    events: Executable
    activities: Executable
    stage_entries: Executable
    suppressions: Executable
    low_before: Executable | None
    low_since: Executable | None


def build_statements(rules: Rules, *, listed: bool, dialect: str) -> NurtureStatements:
    """One SELECT per nurture frame for `rules`; `listed` limits each to the ids of the
    `scope` parameter (`leadflow.db.id_list_value`)."""

    def only(column: Any) -> ColumnElement[bool]:
        # The listed contacts of an incremental run, or every row.
        return id_list_match(column, SCOPE, dialect) if listed else true()

    programs = rules.nurture.programs
    active_keys = select(NurtureEnrollment.enrollment_key).where(NurtureEnrollment.status == ACTIVE)
    active_contacts = select(NurtureEnrollment.contact_id).where(NurtureEnrollment.status == ACTIVE)
    candidates = _entry_candidates(rules)
    outcomes = sorted({str(o) for p in programs for o in p.exit.activity_outcomes})
    entered = [_stage_entered(p.entry) for p in programs if p.entry.trigger == "stage_entered"]
    low_before, low_since = _low_score_statements(rules, only(Contact.id))
    return NurtureStatements(
        contacts=select(
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
        .where(or_(candidates, Contact.id.in_(active_contacts)), only(Contact.id)),
        enrollments=select(*(getattr(NurtureEnrollment, c) for c in ENROLLMENT_COLUMNS)).where(
            only(NurtureEnrollment.contact_id),
            NurtureEnrollment.entered_at <= AS_OF,
            or_(
                NurtureEnrollment.status == ACTIVE,
                NurtureEnrollment.contact_id.in_(
                    select(Contact.id).where(candidates, only(Contact.id))
                ),
            ),
        ),
        sends=select(
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
            only(EmailSend.contact_id),
            EmailSend.queued_at <= AS_OF,
            or_(EmailSend.queued_at > CAP_START, EmailSend.enrollment_key.in_(active_keys)),
        ),
        events=_events_statement(rules, active_contacts, only(Event.contact_id)),
        activities=select(Activity.contact_id, Activity.outcome, Activity.occurred_at).where(
            only(Activity.contact_id),
            Activity.contact_id.in_(active_contacts),
            Activity.outcome.in_(outcomes),
            Activity.occurred_at <= AS_OF,
        ),
        stage_entries=select(
            StageHistory.contact_id, StageHistory.to_stage, StageHistory.at, StageHistory.kind
        ).where(
            or_(*entered) if entered else false(),
            StageHistory.at <= AS_OF,
            only(StageHistory.contact_id),
        ),
        suppressions=select(
            EmailSuppression.contact_id, EmailSuppression.reason, EmailSuppression.created_at
        ).where(only(EmailSuppression.contact_id)),
        low_before=low_before,
        low_since=low_since,
    )


def _entry_candidates(rules: Rules) -> ColumnElement[bool]:
    """Contacts that could enter some program at as_of: a superset decide narrows down.

    Pushed into SQL so an hourly run reads recent leads and triggers, not every contact.
    """
    options: list[ColumnElement[bool]] = []
    for program in rules.nurture.programs:
        entry = program.entry
        stages = Contact.lifecycle_stage.in_([str(s) for s in entry.stages])
        since = _since(program.name)
        if entry.trigger == "created":
            options.append(and_(stages, Contact.created_at >= since, Contact.created_at <= AS_OF))
        elif entry.trigger == "event":
            recent = [
                Event.type.in_([str(t) for t in entry.events or []]),
                Event.occurred_at >= since,
                Event.occurred_at <= AS_OF,
            ]
            if entry.details is not None:
                recent.append(Event.detail.in_(entry.details))
            options.append(and_(stages, Contact.id.in_(select(Event.contact_id).where(*recent))))
        elif entry.trigger == "stage_entered":
            entered = select(StageHistory.contact_id).where(
                _stage_entered(entry), StageHistory.at >= since, StageHistory.at <= AS_OF
            )
            if entry.kinds is not None:
                # Only a recorded move of those kinds triggers: no fallback to updated_at.
                options.append(and_(stages, Contact.id.in_(entered)))
            else:
                options.append(
                    and_(stages, or_(Contact.id.in_(entered), Contact.updated_at >= since))
                )
        else:
            options.append(and_(stages, Contact.score <= rules.scoring.thresholds.low_score))
    if not options:
        return false()
    return and_(Contact.consent.is_(True), or_(*options))


def _stage_entered(entry: Entry) -> ColumnElement[bool]:
    """Stage-history rows that are this entry's trigger: into its stages, of its kinds."""
    condition: ColumnElement[bool] = StageHistory.to_stage.in_([str(s) for s in entry.stages])
    if entry.kinds is not None:
        condition = and_(condition, StageHistory.kind.in_([str(k) for k in entry.kinds]))
    return condition


def _events_statement(
    rules: Rules, active_contacts: Any, listed: ColumnElement[bool]
) -> Executable:
    event_entries = [p.entry for p in rules.nurture.programs if p.entry.trigger == "event"]
    conditions = [
        and_(
            Event.contact_id.in_(active_contacts),
            Event.type.in_([str(t) for t in BRANCH_EVENT_TYPES]),
        )
    ]
    if event_entries:
        types = sorted({str(t) for e in event_entries for t in e.events or []})
        conditions.append(and_(Event.type.in_(types), Event.occurred_at >= EVENTS_SINCE))
    return select(Event.contact_id, Event.type, Event.detail, Event.occurred_at).where(
        Event.occurred_at <= AS_OF, or_(*conditions), listed
    )


def _low_score_statements(
    rules: Rules, listed: ColumnElement[bool]
) -> tuple[Executable | None, Executable | None]:
    # Two rows per candidate are enough for the rule: the last snapshot at or before the
    # cutoff (the score back then) and the highest score since.
    low_programs = [p for p in rules.nurture.programs if p.entry.trigger == "low_score"]
    if not low_programs:
        return None, None
    low_score = rules.scoring.thresholds.low_score
    stages = sorted({str(s) for p in low_programs for s in p.entry.stages})
    candidates = select(Contact.id).where(
        Contact.consent.is_(True),
        Contact.lifecycle_stage.in_(stages),
        Contact.score <= low_score,
        listed,
    )
    last_before = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("taken"))
        .where(ScoreSnapshot.contact_id.in_(candidates), ScoreSnapshot.as_of <= LOW_SCORE_CUTOFF)
        .group_by(ScoreSnapshot.contact_id)
        .subquery()
    )
    before = select(ScoreSnapshot.contact_id, ScoreSnapshot.as_of, ScoreSnapshot.score).join(
        last_before,
        and_(
            last_before.c.contact_id == ScoreSnapshot.contact_id,
            last_before.c.taken == ScoreSnapshot.as_of,
        ),
    )
    since = (
        select(
            ScoreSnapshot.contact_id,
            func.max(ScoreSnapshot.as_of).label("as_of"),
            func.max(ScoreSnapshot.score).label("score"),
        )
        .where(
            ScoreSnapshot.contact_id.in_(candidates),
            ScoreSnapshot.as_of > LOW_SCORE_CUTOFF,
            ScoreSnapshot.as_of <= AS_OF,
        )
        .group_by(ScoreSnapshot.contact_id)
    )
    return before, since
