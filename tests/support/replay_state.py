"""What replayed hours left behind, in comparable form: the database's decisions and
histories (`replay_state`) and the emails they sent (`email_summary`, `eml_messages`)."""

from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select

from leadflow.db import ensure_database
from models.tables import (
    EmailSend,
    LeadStatusHistory,
    NurtureEnrollment,
    NurtureHistory,
    Outbox,
    OwnerAssignment,
    ScoreSnapshot,
    SlaClock,
    SlaEscalation,
    StageHistory,
)


def replay_state(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """What the replayed hours decided, as sorted tuples without ids, run ids or wall-clock
    bookkeeping (created_at, updated_at, claims): histories, scores, owners, the outbox
    with each message's recipient and send time, SLA clocks and escalations, nurture."""
    with ensure_database(url).connect() as conn:

        def rows(*columns: Any) -> list[tuple[Any, ...]]:
            return sorted(
                (tuple(row) for row in conn.execute(select(*columns))),
                key=lambda row: tuple((value is None, str(value)) for value in row),
            )

        outbox = [
            (key, channel, kind, contact_id, status, sent_at, _recipient(payload),
             payload.get("template"))
            for key, channel, kind, contact_id, status, sent_at, payload in rows(
                Outbox.idempotency_key, Outbox.channel, Outbox.kind, Outbox.contact_id,
                Outbox.status, Outbox.sent_at, Outbox.payload,
            )
        ]
        return {
            "stage_history": rows(StageHistory.contact_id, StageHistory.from_stage,
                                  StageHistory.to_stage, StageHistory.at, StageHistory.rule,
                                  StageHistory.kind, StageHistory.reason),
            "lead_status_history": rows(
                LeadStatusHistory.contact_id, LeadStatusHistory.from_status,
                LeadStatusHistory.to_status, LeadStatusHistory.at, LeadStatusHistory.source,
                LeadStatusHistory.reason,
            ),
            "scores": rows(ScoreSnapshot.contact_id, ScoreSnapshot.as_of, ScoreSnapshot.score),
            "owner_assignments": rows(OwnerAssignment.contact_id, OwnerAssignment.owner_id,
                                      OwnerAssignment.team, OwnerAssignment.at,
                                      OwnerAssignment.reason),
            "outbox": outbox,
            "sla_clocks": rows(SlaClock.contact_id, SlaClock.cycle, SlaClock.policy,
                               SlaClock.started_at, SlaClock.due_at, SlaClock.satisfied_at,
                               SlaClock.breached_at, SlaClock.closed_at, SlaClock.level,
                               SlaClock.owner_id),
            "sla_escalations": rows(SlaEscalation.contact_id, SlaEscalation.cycle,
                                    SlaEscalation.policy, SlaEscalation.level,
                                    SlaEscalation.due_at, SlaEscalation.at,
                                    SlaEscalation.action, SlaEscalation.owner_id),
            "nurture_enrollments": rows(
                NurtureEnrollment.enrollment_key, NurtureEnrollment.program,
                NurtureEnrollment.step, NurtureEnrollment.status, NurtureEnrollment.entered_at,
                NurtureEnrollment.next_step_at, NurtureEnrollment.last_sent_at,
                NurtureEnrollment.exit_reason,
            ),
            "nurture_history": rows(NurtureHistory.enrollment_key, NurtureHistory.at,
                                    NurtureHistory.action, NurtureHistory.step,
                                    NurtureHistory.detail),
            "email_sends": rows(EmailSend.email_id, EmailSend.template, EmailSend.locale,
                                EmailSend.queued_at),
        }


def _recipient(payload: dict[str, Any]) -> str | None:
    """Who a message goes to: an email address, a Slack channel or a Slack user."""
    for field in ("to", "channel", "user"):
        if payload.get(field):
            return str(payload[field])
    return None


def parse_email(raw: bytes) -> EmailMessage:
    """One message, parsed with the modern email policy."""
    return cast(EmailMessage, message_from_bytes(raw, policy=default))


def email_summary(message: EmailMessage) -> tuple[str, str, str, datetime, str]:
    """(recipient, what it is, Message-ID, Date, plain text) of a sent message.

    What it is: the nurture email id's program/step for marketing email, else the subject
    (internal email: hand-off, SLA reminders).
    """
    mail_id = message.get("X-Leadflow-Email-Id")
    what = str(message["Subject"])
    if mail_id:
        # nurture:<program>:<contact>:<entered>:<step> → program/step
        parts = str(mail_id).split(":")
        what = f"{parts[1]}/{parts[-1]}"
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return (
        message["To"].addresses[0].addr_spec,
        what,
        str(message["Message-ID"]),
        parsedate_to_datetime(str(message["Date"])),
        str(text),
    )


def eml_messages(folder: Path) -> list[tuple[str, str, str, datetime, str]]:
    """Every `.eml` file a run wrote into `folder`, summarised by `email_summary`, sorted."""
    return sorted(email_summary(parse_email(path.read_bytes())) for path in folder.glob("*.eml"))
