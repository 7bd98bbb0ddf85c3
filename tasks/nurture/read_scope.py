"""Which contacts one nurture run reads: every one, or only those whose decisions can
have changed since the previous applied run.

Nurture decides per contact: its active enrollments (exit, advance, send) and, when it
has none left, whether it enters a program. An enrollment moves only when it is due this
hour (and not waiting on its email, queued but not delivered: that walk changes
nothing), finished, or must exit now; the SQL below finds exactly those (an exit
condition holds: an exit stage, an exit activity since entry, a suppression, the
contact or the program gone). A contact that entered nothing at the previous run can enter now only
if its data changed since (a trigger event, a stage move, its row, a score) or the clock
crossed something: a trigger instant dated inside the hour, a re-enrollment pause
ending, the low-score cut-off passing a snapshot. Windows (`within_days`, the cap) that
only move with the clock shrink what matches. Every frame is then read for those
contacts only, the same rows a full read holds for them.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    literal,
    or_,
    select,
    union,
)

from leadflow.runs import PreviousRun, previous_run
from leadflow.timeutil import floor_to_hour
from models.nurture_rules import END
from models.rules import Rules
from models.tables import (
    Activity,
    Contact,
    EmailSend,
    EmailSuppression,
    Event,
    LeadStatusHistory,
    NurtureEnrollment,
    Outbox,
    Run,
    ScoreSnapshot,
    StageHistory,
)
from tasks.nurture.frames import ACTIVE, FAILED, SENT
from tasks.promotion.read_scope import decided_since


@dataclass(frozen=True)
class NurtureScope:
    """Which contacts a nurture run reads: all (`full`), else the listed ones (sorted)."""

    full: bool
    reason: str
    contacts: list[int] | None


FULL = NurtureScope(True, "requested", None)


def nurture_rules_hash(rules: Rules) -> str:
    """The rules hash a nurture run records: its own section and scoring's, whose
    thresholds (the low-score line and its days) entry uses too."""
    both = rules.fingerprint("nurture") + rules.fingerprint("scoring")
    return hashlib.sha256(both.encode()).hexdigest()[:16]


def moving_enrollments_query(rules: Rules, as_of: datetime) -> Select[Any]:
    """Contacts with an active enrollment that is due this hour, finished, or must exit."""
    enrollment = NurtureEnrollment
    programs = rules.nurture.programs
    exits: list[ColumnElement[bool]] = [
        enrollment.program.not_in([p.name for p in programs]),
        ~exists().where(Contact.id == enrollment.contact_id),
        exists().where(
            EmailSuppression.contact_id == enrollment.contact_id,
            EmailSuppression.created_at <= as_of,
        ),
    ]
    for program in programs:
        stages = [str(s) for s in program.exit.stages]
        if stages:
            exits.append(
                and_(
                    enrollment.program == program.name,
                    exists().where(
                        Contact.id == enrollment.contact_id, Contact.lifecycle_stage.in_(stages)
                    ),
                )
            )
        outcomes = [str(o) for o in program.exit.activity_outcomes]
        if outcomes:
            exits.append(
                and_(
                    enrollment.program == program.name,
                    exists().where(
                        Activity.contact_id == enrollment.contact_id,
                        Activity.outcome.in_(outcomes),
                        Activity.occurred_at >= enrollment.entered_at,
                        Activity.occurred_at <= as_of,
                    ),
                )
            )
    # Due: the walk floors next_step_at to the hour (a step due at 00:00:03 is 00:00's).
    # A send step whose email is queued and neither failed nor sent by as_of waits on it:
    # its walk changes nothing (an outbox that cannot deliver must not make every hour
    # full, nor must a past hour run after its emails went out, as a backfill does).
    hour_end = floor_to_hour(as_of) + timedelta(hours=1)
    email = literal("nurture:") + enrollment.enrollment_key + ":" + enrollment.step
    waiting = and_(
        exists().where(EmailSend.email_id == email, EmailSend.queued_at <= as_of),
        ~exists().where(
            Outbox.idempotency_key == email,
            or_(Outbox.status == FAILED, and_(Outbox.status == SENT, Outbox.sent_at <= as_of)),
        ),
    )
    due = or_(
        and_(
            or_(enrollment.next_step_at.is_(None), enrollment.next_step_at < hour_end),
            ~waiting,
        ),
        enrollment.step.is_(None),
        enrollment.step == END,
    )
    return select(enrollment.contact_id).where(
        enrollment.status == ACTIVE, enrollment.entered_at <= as_of, or_(due, *exits)
    )


def changed_ids_query(
    rules: Rules, as_of: datetime, previous: PreviousRun, *, started: datetime
) -> Select[Any]:
    """Contacts that may enter a program now though they entered none at `previous`
    (which started at `started`), plus every contact with a moving enrollment.

    Each branch is a separate SELECT so every one can use its own index.
    """
    since = previous.as_of
    recent_runs = select(Run.id).where(Run.started_at >= started)
    programs = rules.nurture.programs
    event_types = sorted(
        {str(t) for p in programs if p.entry.trigger == "event" for t in p.entry.events or []}
    )
    parts: list[Select[Any]] = [moving_enrollments_query(rules, as_of)]
    if event_types:
        parts += [
            select(Event.contact_id).where(
                Event.occurred_at > since, Event.occurred_at <= as_of, Event.type.in_(event_types)
            ),
            select(Event.contact_id).where(
                Event.ingested_at > started, Event.type.in_(event_types)
            ),
        ]
    parts += [
        # Stage moves (runs, imports and the CLI): no index serves these, one pass.
        select(StageHistory.contact_id).where(
            or_(
                StageHistory.run_id.in_(recent_runs),
                and_(StageHistory.at > since, StageHistory.at <= as_of),
            )
        ),
        select(LeadStatusHistory.contact_id).where(LeadStatusHistory.created_at >= started),
        # The row (consent, stage, a new contact) changed, or an instant of it entry
        # reads (creation, the last update) is dated inside the hour.
        select(Contact.id).where(
            or_(
                Contact.updated_at >= started,
                and_(Contact.updated_at > since, Contact.updated_at <= as_of),
                and_(Contact.created_at > since, Contact.created_at <= as_of),
            )
        ),
    ]
    pauses = [
        and_(
            NurtureEnrollment.program == p.name,
            NurtureEnrollment.entered_at > since - timedelta(days=p.reenroll.after_days),
            NurtureEnrollment.entered_at <= as_of - timedelta(days=p.reenroll.after_days),
        )
        for p in programs
        if p.reenroll != "never"
    ]
    if pauses:
        parts.append(select(NurtureEnrollment.contact_id).where(or_(*pauses)))
    if any(p.entry.trigger == "low_score" for p in programs):
        days = timedelta(days=rules.scoring.thresholds.low_score_days)
        parts += [
            # New scores, and snapshots the low-score cut-off passed in the hour.
            select(ScoreSnapshot.contact_id).where(
                or_(
                    and_(ScoreSnapshot.as_of > since, ScoreSnapshot.as_of <= as_of),
                    and_(ScoreSnapshot.as_of > since - days, ScoreSnapshot.as_of <= as_of - days),
                )
            ),
            # A scoring rerun of an earlier hour: only the hours runs since then scored.
            select(ScoreSnapshot.contact_id).where(
                ScoreSnapshot.as_of.in_(select(Run.as_of).where(Run.started_at >= started)),
                ScoreSnapshot.as_of <= as_of,
                ScoreSnapshot.run_id.in_(recent_runs),
            ),
        ]
    return union(*parts)  # type: ignore[return-value]


def nurture_scope(
    conn: Connection, *, flow: str, rules: Rules, as_of: datetime, full: bool = False
) -> NurtureScope:
    """Full or incremental since `flow`'s previous applied run, and why; an incremental
    run lists its contacts (sorted)."""
    if full:
        return FULL
    previous = previous_run(conn, flow=flow, before=as_of)
    if previous is None:
        return NurtureScope(True, "no run of an earlier hour", None)
    if previous.rules_hash != nurture_rules_hash(rules):
        return NurtureScope(True, "rules changed since the previous run", None)
    started = decided_since(conn, flow=flow, previous=previous)
    query = changed_ids_query(rules, as_of, previous, started=started)
    contacts = sorted(int(cid) for cid in conn.execute(query).scalars())
    return NurtureScope(False, f"incremental since {previous.as_of.isoformat()}", contacts)
