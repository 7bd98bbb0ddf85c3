"""Draining the outbox from any hour: the Slack and internal-email dispatch beats.

Promotion, SLA escalation and recycling all decide messages in their apply beat and
drain them here, so every flow sends through the same two beats and reports the same
`DispatchSummary`. A channel that cannot be used (no Slack token, SMTP login refused
without TLS) is reported, and its messages stay pending for the next run.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prefect import get_run_logger
from sqlalchemy import Engine

from leadflow.adapters.email import PlainAuthRefused, transport_from_settings
from leadflow.adapters.slack import SlackNotConfigured, slack_sender
from leadflow.db import ensure_database
from leadflow.settings import Settings
from leadflow.timeutil import utc_now
from models.rules import Rules
from tasks.beats import opaque, plain_beat
from tasks.clock import Clock, effective_now
from tasks.internal_email import INTERNAL_EMAIL_CHANNEL, dispatch_internal_emails
from tasks.outbox import DispatchReport, FailedMessage, count_pending, dispatch
from tasks.promotion.handoff import SLACK_CHANNEL

INTERNAL_EMAIL_LIMIT = 500


@dataclass(frozen=True)
class DispatchSummary:
    """What one dispatcher did, and what is still waiting in the outbox for its channel."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    pending: int = 0
    error: str | None = None
    errors: list[str] = field(default_factory=list)
    failures: list[FailedMessage] = field(default_factory=list)


def _pending(engine: Engine, channel: str) -> int:
    with engine.connect() as conn:
        return count_pending(conn, channel=channel)


def _summary(engine: Engine, report: DispatchReport) -> DispatchSummary:
    channel = report.channel
    logger = get_run_logger()
    for line in report.errors:
        logger.warning("%s: %s", channel, line)
    return DispatchSummary(
        sent=report.sent,
        retried=report.retried,
        failed=report.failed,
        deferred=report.deferred,
        pending=_pending(engine, channel),
        errors=report.errors,
        failures=report.failures,
    )


@plain_beat("dispatch-slack")
def dispatch_slack(
    settings: Settings, limit: int, now: datetime | None = None
) -> DispatchSummary:
    """Drain Slack messages due at `now` (default: the wall clock) from the outbox; what
    fails stays pending for the next run."""
    engine = ensure_database(settings.database_url)
    try:
        sender = slack_sender(settings)
    except SlackNotConfigured as missing:
        get_run_logger().error(str(missing))
        return DispatchSummary(pending=_pending(engine, SLACK_CHANNEL), error=str(missing))
    report = dispatch(
        engine, channel=SLACK_CHANNEL, sender=sender, now=now or utc_now(), limit=limit
    )
    return _summary(engine, report)


@plain_beat("dispatch-internal-emails")
def dispatch_internal_emails_beat(
    settings: Settings, now: datetime | None = None, limit: int = INTERNAL_EMAIL_LIMIT
) -> DispatchSummary:
    """Drain due internal emails (hand-offs, SLA reminders) over SMTP or into `.eml` files.

    Messages not yet due at `now` (default: the wall clock) wait; what fails stays
    pending for the next run.
    """
    engine = ensure_database(settings.database_url)
    try:
        transport = transport_from_settings(settings)
    except PlainAuthRefused as refused:
        get_run_logger().error(str(refused))
        return DispatchSummary(
            pending=_pending(engine, INTERNAL_EMAIL_CHANNEL), error=str(refused)
        )
    report = dispatch_internal_emails(
        engine, transport=transport, email_from=settings.email_from, now=now or utc_now(),
        limit=limit,
    )
    return _summary(engine, report)


def drain_staff_messages(
    settings: Settings, rules: Rules, *, as_of: datetime, clock: Clock
) -> tuple[DispatchSummary, DispatchSummary]:
    """After an hour's apply: drain the Slack and the internal-email outbox, dated by the
    clock (`tasks.clock`); returns (slack, email)."""
    sent_at = effective_now(as_of, clock=clock, now=utc_now())
    slack = dispatch_slack(opaque(settings), rules.promotion.slack.max_messages_per_run, sent_at)
    return slack, dispatch_internal_emails_beat(opaque(settings), sent_at)


def dispatch_problem(
    channels: Sequence[tuple[str, DispatchSummary | None]], *, pending_only: bool = False
) -> str | None:
    """Why a run's dispatch could not work, or None: a channel that cannot be used (no
    Slack token, SMTP login refused) or one where every due message failed again.

    `pending_only`: an unusable channel counts only while messages wait for it. The
    messages stay pending in the outbox either way.
    """
    problems: list[str] = []
    for name, summary in channels:
        if summary is None:
            continue
        if summary.error and (summary.pending or not pending_only):
            waiting = f" ({summary.pending} messages pending)" if summary.pending else ""
            problems.append(f"{name} dispatch could not run: {summary.error}{waiting}")
        elif summary.sent == 0 and summary.retried > 0:
            first = f"; first error: {summary.errors[0]}" if summary.errors else ""
            problems.append(
                f"{name} dispatch sent nothing: {summary.retried} messages failed and stay "
                f"pending ({summary.pending} in the outbox){first}"
            )
    return "; ".join(problems) or None
