"""The promotion run's summary: counts for the run ledger and the markdown artifact."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.artifacts import superseded_note
from tasks.dispatch import DispatchSummary, dispatch_problem
from tasks.outbox_admin import failed_markdown
from tasks.promotion.apply import AppliedPromotions
from tasks.promotion.decide import PromotionDecisions

MAX_LISTED = 50
# Keys of `PromotionDecisions.counts()` that are not stages.
OWNER_COUNTS = (
    "hot", "assigned", "unassigned", "late_assigned", "handed_over", "awaiting_owner"
)


@dataclass(frozen=True)
class PromotionOutcome:
    """One promotion run, decided and (unless dry) applied and dispatched."""

    run_id: str
    as_of: datetime
    dry_run: bool
    candidates: int
    decisions: PromotionDecisions
    messages: int
    applied: AppliedPromotions | None
    dispatch: DispatchSummary | None
    beat_seconds: dict[str, float] = field(default_factory=dict)
    superseded_by: str | None = None
    emails: int = 0
    email_dispatch: DispatchSummary | None = None

    def dispatch_problem(self) -> str | None:
        """Why this run's Slack or internal-email dispatch could not work, or None.

        It could not when messages wait for Slack and it is not configured (no token; a
        run with nothing to post needs none), when SMTP login was refused without TLS, or
        when messages were due and every attempt failed for a reason that may pass
        (network, 5xx, revoked token). The messages stay pending either way.
        """
        return dispatch_problem(
            [("Slack", self.dispatch), ("Internal email", self.email_dispatch)],
            pending_only=True,
        )

    def summary(self) -> dict[str, Any]:
        """Flat counts for the run ledger, the CLI and the flow's return value."""
        decided = self.decisions.counts()
        by_stage = self.applied.by_stage() if self.applied else {}
        result: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "decided": decided,
            "promoted": by_stage,
            "hot": self.applied.hot if self.applied else 0,
            "assigned": self.applied.assigned if self.applied else 0,
            "late_assigned": self.applied.late_assigned if self.applied else 0,
            "handed_over": self.applied.handed_over if self.applied else 0,
            "messages_decided": self.messages,
            "messages_enqueued": self.applied.enqueued if self.applied else 0,
            "emails_decided": self.emails,
            "emails_enqueued": self.applied.emails_enqueued if self.applied else 0,
            "quarantined": self.decisions.bad_rows,
            "beat_seconds": self.beat_seconds,
            "superseded_by": self.superseded_by,
        }
        if self.dispatch is not None:
            result.update(
                {
                    "messages_sent": self.dispatch.sent,
                    "messages_pending": self.dispatch.pending,
                    "messages_failed": self.dispatch.failed,
                    "dispatch_error": self.dispatch.error,
                }
            )
        if self.email_dispatch is not None:
            result.update(
                {
                    "emails_sent": self.email_dispatch.sent,
                    "emails_pending": self.email_dispatch.pending,
                    "emails_failed": self.email_dispatch.failed,
                    "email_dispatch_error": self.email_dispatch.error,
                }
            )
        return result


def promotion_markdown(outcome: PromotionOutcome) -> str:
    """The run artifact: promotions by stage, hot leads, owners (late ones too), Slack
    messages and the owners' hand-off emails."""
    as_of = outcome.as_of.strftime("%Y-%m-%d %H:%M UTC")
    title = f"# mql-promotion {as_of}" + (" (dry run: nothing written)" if outcome.dry_run else "")
    lines = [
        title,
        "",
        *superseded_note(outcome.superseded_by),
        f"Run `{outcome.run_id}` read {outcome.candidates} candidate contacts; "
        f"{outcome.decisions.bad_rows} quarantined.",
        "",
    ]
    problem = outcome.dispatch_problem()
    if problem:
        lines[1:1] = ["", f"**Dispatch stopped:** {problem}"]
    decided = outcome.decisions.counts()
    applied = outcome.applied.by_stage() if outcome.applied else {}
    stages = [k for k in decided if k not in OWNER_COUNTS]
    lines += ["## Promotions by stage", "", "| stage | decided | applied |", "|---|---:|---:|"]
    if not stages:
        lines.append("| (none) | 0 | 0 |")
    for stage in stages:
        lines.append(f"| {stage} | {decided[stage]} | {applied.get(stage, 0)} |")
    late_applied = outcome.applied.late_assigned if outcome.applied else 0
    handed_applied = outcome.applied.handed_over if outcome.applied else 0
    lines += [
        "",
        "| hot leads | owners assigned | no active owner | late assignments (applied) "
        "| handed to the stage's team (applied) | still awaiting an owner |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {decided['hot']} | {decided['assigned']} | {decided['unassigned']} "
        f"| {decided['late_assigned']} ({late_applied}) "
        f"| {decided['handed_over']} ({handed_applied}) | {decided['awaiting_owner']} |",
    ]
    lines += _dispatch_section(
        "Slack messages",
        decided=outcome.messages,
        enqueued=outcome.applied.enqueued if outcome.applied else 0,
        dispatch=outcome.dispatch,
    )
    lines += _dispatch_section(
        "Internal emails (hand-off to the owner)",
        decided=outcome.emails,
        enqueued=outcome.applied.emails_enqueued if outcome.applied else 0,
        dispatch=outcome.email_dispatch,
    )
    transitions = outcome.applied.transitions if outcome.applied else outcome.decisions.transitions
    if transitions:
        lines += ["", "## Transitions", "", "| contact | from | to | rule |", "|---:|---|---|---|"]
        for t in transitions[:MAX_LISTED]:
            lines.append(f"| {t.contact_id} | {t.from_stage or '-'} | {t.to_stage} | {t.rule} |")
        if len(transitions) > MAX_LISTED:
            lines.append(f"| … | | | {len(transitions) - MAX_LISTED} more |")
    return "\n".join(lines) + "\n"


def _dispatch_section(
    title: str, *, decided: int, enqueued: int, dispatch: DispatchSummary | None
) -> list[str]:
    shown = dispatch or DispatchSummary()
    lines = [
        "",
        f"## {title}",
        "",
        "| decided | new in outbox | sent | pending | failed |",
        "|---:|---:|---:|---:|---:|",
        f"| {decided} | {enqueued} | {shown.sent} | {shown.pending} | {shown.failed} |",
    ]
    if shown.errors:
        lines += ["", "Unsent this run:", ""]
        lines += [f"- {error}" for error in shown.errors[:MAX_LISTED]]
    return lines + failed_markdown(shown.failures, limit=MAX_LISTED)
