"""What a nurture hour reports: the outcome's counts and the markdown artifact."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.artifacts import superseded_note
from tasks.nurture.apply import AppliedNurture
from tasks.nurture.decide import NurtureDecisions, NurtureFrames
from tasks.outbox import DispatchReport
from tasks.outbox_admin import failed_markdown


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
    beat_seconds: dict[str, float] = field(default_factory=dict)
    superseded_by: str | None = None

    def dispatch_problem(self) -> str | None:
        """Why this hour's email dispatch could not work, or None when it could.

        It could not when emails were due and none went out because every attempt failed
        for a reason that may pass (SMTP server unreachable, refused login, 4xx replies):
        that is the transport, not one bad address. The emails stay pending.
        """
        report = self.dispatch
        if report is None or report.sent or not report.retried:
            return None
        first = f"; first error: {report.errors[0]}" if report.errors else ""
        return (
            f"Email dispatch sent nothing via {self.transport or 'the transport'}: "
            f"{report.retried} due emails failed and stay pending{first}"
        )

    def summary(self) -> dict[str, Any]:
        """JSON-able counts for the run ledger and the flow result."""
        result: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "read": self.read,
            "decided": self.decisions.counts(),
            "beat_seconds": self.beat_seconds,
            "superseded_by": self.superseded_by,
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


def frame_sizes(frames: NurtureFrames) -> dict[str, int]:
    """Rows per frame, for the run summary."""
    return {name: len(getattr(frames, name)) for name in NurtureFrames.__dataclass_fields__}


CONTACT_NOTE = (
    "Contacts are listed by id: artifacts carry no personal data. "
    "`leadflow explain --id <id>` shows who it is and why they score what they do."
)


def contact_ref(contact_id: int) -> str:
    """A contact in an artifact: its id and the command that looks it up."""
    return f"{contact_id} (`leadflow explain --id {contact_id}`)"


def nurture_markdown(outcome: NurtureOutcome) -> str:
    """The keyed run artifact: what was read, decided, applied and sent."""
    counts = outcome.decisions.counts()
    lines = [
        f"# nurture-scheduler at {outcome.as_of:%Y-%m-%d %H:%M} UTC"
        + (" (dry run: nothing written or sent)" if outcome.dry_run else ""),
        "",
        *superseded_note(outcome.superseded_by),
        "| read | rows |",
        "|---|---|",
        *(f"| {name} | {size} |" for name, size in outcome.read.items()),
        "",
        "| decided | count |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in counts.items()),
    ]
    problem = outcome.dispatch_problem()
    if problem:
        lines[1:1] = ["", f"**Dispatch stopped:** {problem}"]
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
        lines += failed_markdown(report.failures)
    emails = outcome.decisions.emails
    if emails:
        lines += ["", CONTACT_NOTE, "", "| email | contact | template | locale |",
                  "|---|---|---|---|"]
        lines += [
            f"| `{m.email_id}` | {contact_ref(m.contact_id)} | {m.template} | {m.locale} |"
            for m in emails[:50]
        ]
    held = [h for h in outcome.decisions.history if h.action in ("held", "exited")]
    if held:
        lines += ["", "| enrollment | action | step | detail |", "|---|---|---|---|"]
        lines += [
            f"| `{h.enrollment_key}` | {h.action} | {h.step or ''} | {h.detail or ''} |"
            for h in held[:50]
        ]
    return "\n".join(lines) + "\n"
