"""What one hour of the lead cycle did: its steps, in order, and each step's outcome.

The cycle's vocabulary (`CycleStep`, `STEP_FLOWS`) and `CycleOutcome`, which the runner
(`tasks.cycle`), its report (`tasks.cycle_report`) and the flows share.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tasks.nurture.hour import FLOW_NAME as NURTURE_FLOW
from tasks.nurture.report import NurtureOutcome
from tasks.promotion.hour import FLOW_NAME as PROMOTION_FLOW
from tasks.promotion.report import PromotionOutcome
from tasks.recycling.hour import FLOW_NAME as RECYCLING_FLOW
from tasks.recycling.report import RecyclingOutcome
from tasks.scoring.hour import FLOW_NAME as SCORING_FLOW
from tasks.scoring.report import ScoringOutcome
from tasks.sla.hour import FLOW_NAME as SLA_FLOW
from tasks.sla.report import SlaOutcome


class CycleStep(StrEnum):
    """A step of the hourly cycle; the members are in the order the cycle runs them."""

    SCORING = "scoring"
    PROMOTION = "promotion"
    RECYCLING = "recycling"
    NURTURE = "nurture"
    SLA = "sla"


ALL_STEPS: frozenset[CycleStep] = frozenset(CycleStep)

# Each step's own flow: its run-ledger name, and its artifact key `<flow>-summary`.
STEP_FLOWS: dict[CycleStep, str] = {
    CycleStep.SCORING: SCORING_FLOW,
    CycleStep.PROMOTION: PROMOTION_FLOW,
    CycleStep.RECYCLING: RECYCLING_FLOW,
    CycleStep.NURTURE: NURTURE_FLOW,
    CycleStep.SLA: SLA_FLOW,
}

StepOutcome = ScoringOutcome | PromotionOutcome | RecyclingOutcome | NurtureOutcome | SlaOutcome


@dataclass(frozen=True)
class StepReport:
    """One step of a cycle hour as the cycle reports it."""

    step: CycleStep
    headline: dict[str, int]
    beat_seconds: dict[str, float]
    problem: str | None
    superseded_by: str | None


@dataclass(frozen=True)
class CycleOutcome:
    """What one cycle hour did: each step's own outcome (None for a step not run)."""

    as_of: datetime
    dry_run: bool
    scoring: ScoringOutcome | None = None
    promotion: PromotionOutcome | None = None
    recycling: RecyclingOutcome | None = None
    nurture: NurtureOutcome | None = None
    sla: SlaOutcome | None = None
    # A dry run's steps whose hour is decided already (step → latest applied hour): a real
    # run would do nothing in them, so the dry run did not decide them either.
    already_decided: Mapping[CycleStep, str] = field(default_factory=dict)

    def outcomes(self) -> list[tuple[CycleStep, StepOutcome]]:
        """The steps that ran, in cycle order, with their outcomes."""
        found = [(step, getattr(self, step.value)) for step in CycleStep]
        return [(step, outcome) for step, outcome in found if outcome is not None]

    def reports(self) -> list[StepReport]:
        """Headline counts, beat times and dispatch problem of each step that ran."""
        return [
            StepReport(
                step=step,
                headline=_headline(outcome),
                beat_seconds=dict(outcome.beat_seconds),
                problem=None if isinstance(outcome, ScoringOutcome) else outcome.dispatch_problem(),
                superseded_by=getattr(outcome, "superseded_by", None),
            )
            for step, outcome in self.outcomes()
        ]

    def problems(self) -> list[str]:
        """Each step's dispatch problem, named by its step (empty when all could dispatch)."""
        return [f"{r.step.value}: {r.problem}" for r in self.reports() if r.problem]

    def dispatch_problem(self) -> str | None:
        """Why some step's dispatch could not work this hour, or None."""
        problems = self.problems()
        return "Dispatch stopped in " + "; ".join(problems) if problems else None

    def superseded_by(self) -> str | None:
        """The latest applied hour when every step that remembers one had decided this
        hour already (a rerun: nothing was written or sent), else None."""
        latest = [r.superseded_by for r in self.reports() if r.step is not CycleStep.SCORING]
        latest += list(self.already_decided.values())
        if not latest or None in latest:
            return None
        return max(str(hour) for hour in latest)

    def row(self) -> dict[str, object]:
        """The hour as one flat row: `as_of` and every step's headline counts."""
        row: dict[str, object] = {"as_of": self.as_of.isoformat()}
        for _step, outcome in self.outcomes():
            row.update(_headline(outcome))
        return row

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: each step's headline counts, problems and `superseded_by`."""
        summary: dict[str, Any] = {"as_of": self.as_of.isoformat(), "dry_run": self.dry_run}
        for report in self.reports():
            summary[report.step.value] = report.headline
        for step, hour in self.already_decided.items():
            summary[step.value] = {"already_decided": hour}
        summary["dispatch_problems"] = self.problems()
        summary["superseded_by"] = self.superseded_by()
        return summary


def _headline(outcome: StepOutcome) -> dict[str, int]:
    """A step's headline counts (the columns of the backfill table, the cycle summary)."""
    if isinstance(outcome, ScoringOutcome):
        return {
            "scored": outcome.scored,
            "snapshots": outcome.snapshots_written,
            "quarantined": len(outcome.quarantined),
        }
    if isinstance(outcome, PromotionOutcome):
        applied, slack, email = outcome.applied, outcome.dispatch, outcome.email_dispatch
        return {
            "promoted": sum(applied.by_stage().values()) if applied else 0,
            "late_assigned": applied.late_assigned if applied else 0,
            "slack_sent": slack.sent if slack else 0,
            "slack_pending": slack.pending if slack else 0,
            "handoff_emails_sent": email.sent if email else 0,
        }
    if isinstance(outcome, RecyclingOutcome):
        recycled = outcome.applied.recycled_by_reason() if outcome.applied else {}
        return {"recycled": sum(recycled.values())}
    if isinstance(outcome, NurtureOutcome):
        return {
            "enrolled": outcome.decisions.counts()["enrolled"],
            "emails_sent": outcome.dispatch.sent if outcome.dispatch else 0,
        }
    return {
        "sla_breached": sum(outcome.decisions.by_policy("breached").values()),
        "escalations": sum(outcome.decisions.escalations_by_level().values()),
    }
