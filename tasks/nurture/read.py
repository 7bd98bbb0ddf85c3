"""Read beat of nurture: the frames `decide_nurture` needs for one as_of.

Only what can matter is loaded: contacts that could enter a program or are in one, the
sends inside the frequency-cap window or of active enrollments, the events that trigger
programs or answer branch conditions, and (for low-score re-nurture) two score
aggregates per contact pushed down into SQL instead of every snapshot.

An incremental run (`tasks.nurture.read_scope`) reads the same frames for the contacts
whose decisions can have changed only: every statement then also lists the contacts.

The statements depend on the rules only; instants are bound parameters, so one process
running many hours (a backfill, a simulation) builds them once per rules object.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Executable,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
)

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
from tasks.nurture.decide import (
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
from tasks.nurture.read_scope import NurtureScope
from tasks.scoring.read import MAX_LISTED_CANDIDATES

BRANCH_EVENT_TYPES = (EventType.EMAIL_OPEN, EventType.EMAIL_CLICK, EventType.FORM_SUBMIT)


def _instant(name: str) -> BindParameter[datetime]:
    return bindparam(name, type_=UTCDateTime())


AS_OF = _instant("as_of")
CAP_START = _instant("cap_start")
EVENTS_SINCE = _instant("events_since")
LOW_SCORE_CUTOFF = _instant("low_score_cutoff")
SCOPE: BindParameter[int] = bindparam("scope", expanding=True)


def _since(program: str) -> BindParameter[datetime]:
    return _instant(f"since_{program}")


@dataclass(frozen=True)
class _Statements:
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


_BUILT: dict[tuple[int, bool], tuple[Rules, _Statements]] = {}


def _frame(
    conn: Connection, query: Executable, columns: list[str], params: dict[str, Any]
) -> pd.DataFrame:
    rows = [tuple(r) for r in conn.execute(query, params)]
    return pd.DataFrame(rows, columns=columns)


def _parameters(rules: Rules, as_of: datetime) -> dict[str, Any]:
    programs = rules.nurture.programs
    params: dict[str, Any] = {
        "as_of": as_of,
        "cap_start": as_of - timedelta(days=rules.nurture.frequency_cap.days + 1),
        "low_score_cutoff": as_of - timedelta(days=rules.scoring.thresholds.low_score_days),
    }
    for program in programs:
        params[f"since_{program.name}"] = as_of - timedelta(days=program.entry.within_days)
    event_windows = [p.entry.within_days for p in programs if p.entry.trigger == "event"]
    params["events_since"] = as_of - timedelta(days=max(event_windows, default=0))
    return params


def read_nurture_frames(
    conn: Connection, *, rules: Rules, as_of: datetime, scope: NurtureScope | None = None
) -> NurtureFrames:
    """Load every frame the nurture decision needs at `as_of`, for every contact or only
    for the contacts `scope` lists (their rows are the same as in a full read)."""
    ids = scope.contacts if scope is not None and not scope.full else None
    listed = ids is not None and len(ids) <= MAX_LISTED_CANDIDATES
    key = (id(rules), listed)
    built = _BUILT.get(key)
    if built is None or built[0] is not rules:
        if len(_BUILT) >= 8:
            # A long-lived worker loads the rules afresh for every run: keep a few only.
            _BUILT.clear()
        built = (rules, _build(rules, listed=listed))
        _BUILT[key] = built
    statements = built[1]
    params = _parameters(rules, as_of)
    if listed:
        params["scope"] = ids
    wanted = None if ids is None or listed else set(ids)

    def frame(query: Executable, columns: list[str]) -> pd.DataFrame:
        if ids is not None and not ids:
            return pd.DataFrame(columns=columns)
        read = _frame(conn, query, columns, params)
        if wanted is None or read.empty:
            return read
        # Too many contacts to list in SQL: read as a full run does, keep theirs.
        return read[read["contact_id"].isin(wanted)].reset_index(drop=True)

    low = [
        f
        for f in (
            frame(statements.low_before, SNAPSHOT_COLUMNS)
            if statements.low_before is not None
            else None,
            frame(statements.low_since, SNAPSHOT_COLUMNS)
            if statements.low_since is not None
            else None,
        )
        if f is not None and not f.empty
    ]
    return NurtureFrames(
        contacts=frame(statements.contacts, CONTACT_COLUMNS),
        enrollments=frame(statements.enrollments, ENROLLMENT_COLUMNS),
        sends=frame(statements.sends, SEND_COLUMNS),
        events=frame(statements.events, EVENT_COLUMNS),
        activities=frame(statements.activities, ACTIVITY_COLUMNS),
        stage_entries=frame(statements.stage_entries, STAGE_ENTRY_COLUMNS),
        suppressions=frame(statements.suppressions, SUPPRESSION_COLUMNS),
        snapshots=(
            pd.concat(low, ignore_index=True) if low else pd.DataFrame(columns=SNAPSHOT_COLUMNS)
        ),
    )


def _build(rules: Rules, *, listed: bool) -> _Statements:
    def only(column: Any) -> ColumnElement[bool]:
        # The listed contacts of an incremental run, or every row.
        return column.in_(SCOPE) if listed else true()

    programs = rules.nurture.programs
    active_keys = select(NurtureEnrollment.enrollment_key).where(NurtureEnrollment.status == ACTIVE)
    active_contacts = select(NurtureEnrollment.contact_id).where(NurtureEnrollment.status == ACTIVE)
    candidates = _entry_candidates(rules)
    outcomes = sorted({str(o) for p in programs for o in p.exit.activity_outcomes})
    entered = [_stage_entered(p.entry) for p in programs if p.entry.trigger == "stage_entered"]
    low_before, low_since = _low_score_statements(rules, only(Contact.id))
    return _Statements(
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
                NurtureEnrollment.contact_id.in_(select(Contact.id).where(candidates)),
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
