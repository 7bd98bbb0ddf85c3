"""Apply beat of nurture: write decisions in one transaction, keyed by natural keys.

Enrollments are keyed by `enrollment_key`, history lines by (enrollment, action, step,
at), sends and outbox rows by the email id: a rerun of the same hour inserts nothing it
already inserted, and the outbox never holds the same email twice.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, update

from leadflow.db import insert_ignoring_conflicts
from models.messages import OutboxMessage
from models.tables import EmailSend, EmailSuppression, NurtureEnrollment, NurtureHistory
from tasks.nurture.decide import NurtureDecisions
from tasks.outbox import enqueue
from tasks.quarantine import store_quarantine

EMAIL_CHANNEL = "email"
NURTURE_KIND = "nurture_email"


@dataclass(frozen=True)
class AppliedNurture:
    """How many rows apply really wrote (reruns write fewer)."""

    enrolled: int
    updated: int
    history: int
    sends: int
    enqueued: int
    suppressions: int
    quarantined: int = 0


def apply_nurture(
    conn: Connection, decisions: NurtureDecisions, *, run_id: str | None, now: datetime
) -> AppliedNurture:
    """Write enrollments, history, sends, suppressions and outbox rows (caller commits)."""
    enrollments = NurtureEnrollment.__table__
    new_rows = [
        {
            "enrollment_key": e.enrollment_key,
            "contact_id": e.contact_id,
            "program": e.program,
            "step": e.step,
            "status": e.status,
            "entered_at": e.entered_at,
            "next_step_at": e.next_step_at,
            "last_sent_at": e.last_sent_at,
            "exit_reason": e.exit_reason,
            "updated_at": now,
            "run_id": run_id,
        }
        for e in decisions.enrollments
        if e.is_new
    ]
    enrolled = insert_ignoring_conflicts(conn, enrollments, new_rows, keys=["enrollment_key"])  # type: ignore[arg-type]
    updated = 0
    for e in decisions.enrollments:
        if e.is_new:
            continue
        result = conn.execute(
            update(NurtureEnrollment)
            .where(NurtureEnrollment.enrollment_key == e.enrollment_key)
            .values(
                step=e.step,
                status=e.status,
                next_step_at=e.next_step_at,
                last_sent_at=e.last_sent_at,
                exit_reason=e.exit_reason,
                updated_at=now,
                run_id=run_id,
            )
        )
        updated += result.rowcount or 0
    history = insert_ignoring_conflicts(
        conn,
        NurtureHistory.__table__,  # type: ignore[arg-type]
        [{**h.__dict__, "run_id": run_id} for h in decisions.history],
        # (enrollment, action, coalesce(step, ''), at) is an expression index.
        keys=None,
    )
    sends = insert_ignoring_conflicts(
        conn,
        EmailSend.__table__,  # type: ignore[arg-type]
        [
            {
                "email_id": m.email_id,
                "enrollment_key": m.enrollment_key,
                "contact_id": m.contact_id,
                "program": m.program,
                "step": m.step,
                "template": m.template,
                "locale": m.locale,
                "queued_at": decisions.as_of,
                "run_id": run_id,
            }
            for m in decisions.emails
        ],
        keys=["email_id"],
    )
    enqueued = enqueue(
        conn,
        [
            OutboxMessage(
                idempotency_key=m.email_id,
                channel=EMAIL_CHANNEL,
                kind=NURTURE_KIND,
                contact_id=m.contact_id,
                payload=m.payload(),
                not_before=decisions.as_of,
            )
            for m in decisions.emails
        ],
        run_id=run_id,
        now=now,
    )
    suppressions = insert_ignoring_conflicts(
        conn,
        EmailSuppression.__table__,  # type: ignore[arg-type]
        [{**s.__dict__, "created_at": decisions.as_of} for s in decisions.suppressions],
        keys=["contact_id", "reason"],
    )
    quarantined = store_quarantine(conn, decisions.quarantined, run_id=run_id, now=now)
    return AppliedNurture(enrolled, updated, history, sends, enqueued, suppressions, quarantined)


def record_suppression(
    conn: Connection,
    *,
    contact_id: int,
    email: str,
    reason: str,
    source: str,
    detail: str | None,
    at: datetime,
) -> bool:
    """Record an unsubscribe or bounce once; True when it was new."""
    return (
        insert_ignoring_conflicts(
            conn,
            EmailSuppression.__table__,  # type: ignore[arg-type]
            [
                {
                    "contact_id": contact_id,
                    "email": email,
                    "reason": reason,
                    "source": source,
                    "detail": detail,
                    "created_at": at,
                }
            ],
            keys=["contact_id", "reason"],
        )
        == 1
    )
