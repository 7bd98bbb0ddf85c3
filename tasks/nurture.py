"""The nurture beats as plain functions (read → decide → apply → dispatch) and the report.

The `nurture-scheduler` flow wraps each beat in a Prefect task; `run_nurture_hour`
composes the same functions in-process, which is what a time-travel through weeks of
simulated hours uses.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from leadflow.adapters.email import EmailTransport
from leadflow.email_render import EmailRenderer, TrackingLinks
from leadflow.settings import Settings
from models.rules import Rules
from tasks.nurture_apply import EMAIL_CHANNEL, AppliedNurture, apply_nurture
from tasks.nurture_decide import (
    NurtureDecisions,
    NurtureFrames,
    decide_nurture,
    validate_planned_emails,
)
from tasks.nurture_read import read_nurture_frames
from tasks.nurture_send import make_nurture_sender
from tasks.outbox import DispatchReport, dispatch

FLOW_NAME = "nurture-scheduler"


@dataclass
class NurtureOutcome:
    """What one nurture hour read, decided, applied and sent."""

    as_of: datetime
    dry_run: bool
    run_id: str | None
    read: dict[str, int]
    decisions: NurtureDecisions
    applied: AppliedNurture | None = None
    dispatch: DispatchReport | None = None
    transport: str = ""
    deliveries: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-able counts for the run ledger and the flow result."""
        result: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "read": self.read,
            "decided": self.decisions.counts(),
        }
        if self.applied is not None:
            result["applied"] = self.applied.__dict__
        if self.dispatch is not None:
            result["dispatch"] = {
                "sent": self.dispatch.sent,
                "retried": self.dispatch.retried,
                "failed": self.dispatch.failed,
                "errors": self.dispatch.errors[:20],
            }
            result["transport"] = self.transport
        return result


def read_nurture(engine: Engine, *, rules: Rules, as_of: datetime) -> NurtureFrames:
    """Read every frame the decision needs, in one connection."""
    with engine.connect() as conn:
        return read_nurture_frames(conn, rules=rules, as_of=as_of)


def decide(
    frames: NurtureFrames, *, rules: Rules, as_of: datetime, settings: Settings
) -> NurtureDecisions:
    """The pure decision, then planned emails validated (bad ones set aside as quarantine)."""
    decisions = decide_nurture(
        frames,
        rules=rules.nurture,
        thresholds=rules.scoring.thresholds,
        as_of=as_of,
        business_timezone=settings.business_timezone,
    )
    return validate_planned_emails(
        decisions, locales=rules.nurture.locales, max_bad_row_share=settings.max_bad_row_share
    )


def apply(
    engine: Engine, decisions: NurtureDecisions, *, run_id: str | None, now: datetime
) -> AppliedNurture:
    """Write all decisions in one transaction."""
    with engine.begin() as conn:
        return apply_nurture(conn, decisions, run_id=run_id, now=now)


def dispatch_emails(
    engine: Engine,
    *,
    rules: Rules,
    settings: Settings,
    transport: EmailTransport,
    now: datetime,
    deliveries: dict[str, str] | None = None,
    batch: int = 200,
) -> DispatchReport:
    """Drain every due marketing email from the outbox through `transport` at `now`."""
    renderer = EmailRenderer(
        links=rules.nurture.links,
        tracking=TrackingLinks(base_url=settings.public_base_url, secret=settings.signing_secret),
    )
    sink = deliveries if deliveries is not None else {}
    sender = make_nurture_sender(
        engine,
        transport=transport,
        renderer=renderer,
        rules=rules.nurture,
        email_from=settings.email_from,
        business_timezone=settings.business_timezone,
        now=now,
        delivered=sink.__setitem__,
    )
    total = DispatchReport(channel=EMAIL_CHANNEL)
    # Drain in batches until nothing due is left: a big enrollment wave must not trickle
    # out 200 emails per hour. Failed and retried rows are not due again at `now`.
    while True:
        report = dispatch(engine, channel=EMAIL_CHANNEL, sender=sender, now=now, limit=batch)
        for name in ("claimed", "sent", "retried", "failed", "deferred"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.errors.extend(report.errors)
        if report.claimed < batch or report.deferred:
            return total


def frame_sizes(frames: NurtureFrames) -> dict[str, int]:
    """Rows per frame, for the run summary."""
    return {name: len(getattr(frames, name)) for name in NurtureFrames.__dataclass_fields__}


def run_nurture_hour(
    engine: Engine,
    *,
    rules: Rules,
    settings: Settings,
    transport: EmailTransport,
    as_of: datetime,
    send_at: datetime | None = None,
    dry_run: bool = False,
    run_id: str | None = None,
) -> NurtureOutcome:
    """One whole nurture hour in this process: read, decide, apply, dispatch at `send_at`."""
    frames = read_nurture(engine, rules=rules, as_of=as_of)
    decisions = decide(frames, rules=rules, as_of=as_of, settings=settings)
    outcome = NurtureOutcome(
        as_of=as_of, dry_run=dry_run, run_id=run_id, read=frame_sizes(frames), decisions=decisions
    )
    if dry_run:
        return outcome
    now = send_at or as_of
    outcome.applied = apply(engine, decisions, run_id=run_id, now=now)
    outcome.dispatch = dispatch_emails(
        engine,
        rules=rules,
        settings=settings,
        transport=transport,
        now=now,
        deliveries=outcome.deliveries,
    )
    outcome.transport = transport.description
    return outcome


def nurture_markdown(outcome: NurtureOutcome) -> str:
    """The keyed run artifact: what was read, decided, applied and sent."""
    counts = outcome.decisions.counts()
    lines = [
        f"# nurture-scheduler at {outcome.as_of:%Y-%m-%d %H:%M} UTC"
        + (" (dry run: nothing written or sent)" if outcome.dry_run else ""),
        "",
        "| read | rows |",
        "|---|---|",
        *(f"| {name} | {size} |" for name, size in outcome.read.items()),
        "",
        "| decided | count |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in counts.items()),
    ]
    if outcome.applied is not None:
        lines += ["", "| applied | rows |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in outcome.applied.__dict__.items()]
    if outcome.dispatch is not None:
        report = outcome.dispatch
        lines += [
            "",
            f"Sent **{report.sent}**, retried {report.retried}, failed {report.failed} "
            f"via {outcome.transport}.",
        ]
        lines += [f"- {error}" for error in report.errors[:20]]
    emails = outcome.decisions.emails
    if emails:
        lines += ["", "| email | contact | template | locale |", "|---|---|---|---|"]
        lines += [
            f"| `{m.email_id}` | {m.contact_id} | {m.template} | {m.locale} |" for m in emails[:50]
        ]
    held = [h for h in outcome.decisions.history if h.action in ("held", "exited")]
    if held:
        lines += ["", "| enrollment | action | step | detail |", "|---|---|---|---|"]
        lines += [
            f"| `{h.enrollment_key}` | {h.action} | {h.step or ''} | {h.detail or ''} |"
            for h in held[:50]
        ]
    return "\n".join(lines) + "\n"
