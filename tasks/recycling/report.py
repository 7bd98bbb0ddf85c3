"""The recycling run's summary: counts for the run ledger and the markdown artifact."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.lifecycle import TransitionKind
from tasks.artifacts import superseded_note
from tasks.dispatch import DispatchSummary, dispatch_problem
from tasks.outbox_admin import failed_markdown
from tasks.recycling.apply import AppliedRecycling
from tasks.recycling.decisions import RecyclingDecisions

MAX_LISTED = 50


@dataclass(frozen=True)
class RecyclingOutcome:
    """One recycling run, decided and (unless dry) applied and dispatched."""

    run_id: str
    as_of: datetime
    dry_run: bool
    candidates: int
    decisions: RecyclingDecisions
    messages: int
    applied: AppliedRecycling | None
    slack: DispatchSummary | None
    email: DispatchSummary | None
    beat_seconds: dict[str, float] = field(default_factory=dict)
    superseded_by: str | None = None

    def dispatch_problem(self) -> str | None:
        """Why messages waiting to go could not be dispatched this run, or None.

        A channel that cannot be used (no Slack token, SMTP login refused) is a problem
        only while messages wait for it; they stay pending in the outbox either way.
        """
        return dispatch_problem(
            [("Slack", self.slack), ("Internal email", self.email)], pending_only=True
        )

    def summary(self) -> dict[str, Any]:
        """Flat counts for the run ledger, the CLI and the flow's return value."""
        applied = self.applied
        result: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "decided": self.decisions.counts(),
            "recycled": applied.recycled_by_reason() if applied else {},
            "disqualified": applied.moved(TransitionKind.DISQUALIFY) if applied else 0,
            "renurtured": applied.moved(TransitionKind.RENURTURE) if applied else 0,
            "owners_to_marketing": applied.to_marketing() if applied else 0,
            "reminders_decided": self.messages,
            "reminders_enqueued": applied.enqueued if applied else 0,
            "quarantined": self.decisions.bad_rows,
            "beat_seconds": self.beat_seconds,
            "superseded_by": self.superseded_by,
        }
        for name, dispatch in (("slack", self.slack), ("email", self.email)):
            if dispatch is not None:
                result[f"{name}_sent"] = dispatch.sent
                result[f"{name}_pending"] = dispatch.pending
                result[f"{name}_failed"] = dispatch.failed
                result[f"{name}_error"] = dispatch.error
        return result


def recycling_markdown(outcome: RecyclingOutcome) -> str:
    """The run artifact: recycles by reason, disqualifications, re-nurtures, reminders."""
    as_of = outcome.as_of.strftime("%Y-%m-%d %H:%M UTC")
    title = f"# lead-recycling {as_of}" + (
        " (dry run: nothing written)" if outcome.dry_run else ""
    )
    decided = outcome.decisions.counts()
    applied = outcome.applied
    lines = [
        title,
        "",
        *superseded_note(outcome.superseded_by),
        f"Run `{outcome.run_id}` read {outcome.candidates} candidate contacts; "
        f"{outcome.decisions.bad_rows} input rows quarantined.",
        "",
    ]
    problem = outcome.dispatch_problem()
    if problem:
        lines[1:1] = ["", f"**Dispatch stopped:** {problem}"]
    lines += ["## Recycled (back to lead) by reason", "", "| reason | decided | applied |",
              "|---|---:|---:|"]
    by_reason = outcome.decisions.recycled_by_reason()
    done = applied.recycled_by_reason() if applied else {}
    if not by_reason:
        lines.append("| (none) | 0 | 0 |")
    for reason, count in by_reason.items():
        lines.append(f"| {_cell(reason)} | {count} | {done.get(reason, 0)} |")
    lines += [
        "",
        "| | decided | applied |",
        "|---|---:|---:|",
        f"| disqualified (→ other) | {decided['disqualified']} | "
        f"{applied.moved(TransitionKind.DISQUALIFY) if applied else 0} |",
        f"| re-nurtured (lost deal → lost_renurture) | {decided['renurtured']} | "
        f"{applied.moved(TransitionKind.RENURTURE) if applied else 0} |",
        f"| handed to a marketing owner | | {applied.to_marketing() if applied else 0} |",
        "",
        "## Retry reminders",
        "",
        "| due today | no owner to remind | messages decided | new in outbox |",
        "|---:|---:|---:|---:|",
        f"| {decided['retry_reminders']} | {decided['retry_without_owner']} | "
        f"{outcome.messages} | {applied.enqueued if applied else 0} |",
        "",
        "## Dispatch",
        "",
        "| channel | sent | pending | failed |",
        "|---|---:|---:|---:|",
    ]
    failures = []
    for name, dispatch in (("Slack", outcome.slack), ("internal email", outcome.email)):
        shown = dispatch or DispatchSummary()
        lines.append(f"| {name} | {shown.sent} | {shown.pending} | {shown.failed} |")
        failures += shown.failures
    lines += failed_markdown(failures, limit=MAX_LISTED)
    moves = applied.transitions if applied else _decided_moves(outcome.decisions)
    if moves:
        lines += ["", "## Stage moves", "", "| contact | from | to | kind | reason |",
                  "|---:|---|---|---|---|"]
        for t in moves[:MAX_LISTED]:
            lines.append(
                f"| {t.contact_id} | {t.from_stage or '-'} | {t.to_stage} | {t.kind} | "
                f"{_cell(t.reason or '')} |"
            )
        if len(moves) > MAX_LISTED:
            lines.append(f"| … | | | | {len(moves) - MAX_LISTED} more |")
    return "\n".join(lines) + "\n"


def _decided_moves(decisions: RecyclingDecisions) -> list[Any]:
    # A dry run shows the moves the status writer would make for the recycles too.
    return [
        *(
            _RecycleRow(c.contact_id, c.reason or "")
            for c in decisions.recycles
        ),
        *decisions.transitions,
    ]


@dataclass(frozen=True)
class _RecycleRow:
    contact_id: int
    reason: str
    from_stage: str = "(sales)"
    to_stage: str = "lead"
    kind: str = TransitionKind.RECYCLE.value


def _cell(text: str) -> str:
    # Reasons are free text: keep them on one table row.
    return text.replace("|", "\\|").replace("\n", " ")[:200]
