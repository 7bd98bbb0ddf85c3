"""One hour of the lead cycle — scoring → promotion → recycling → nurture → SLA escalation.

The one wiring of the cycle: the `lead-cycle` flow (the scheduled deployment) and the
`backfill` flow (each of its hours) both call `run_cycle_hour`, which calls each
capability's own hour function in turn, each after the previous one finished. Recycling
runs before nurture so a lead recycled this hour is enrolled in nurture this hour.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from leadflow.settings import Settings
from models.rules import Rules
from tasks.clock import Clock
from tasks.decision_rows import (
    DecisionNames,
    DecisionRow,
    nurture_rows,
    promotion_rows,
    recycling_rows,
    scoring_rows,
    sla_rows,
)
from tasks.nurture.hour import FLOW_NAME as NURTURE_FLOW
from tasks.nurture.hour import nurture_hour
from tasks.nurture.report import NurtureOutcome, nurture_markdown
from tasks.promotion.hour import FLOW_NAME as PROMOTION_FLOW
from tasks.promotion.hour import promote_hour
from tasks.promotion.report import PromotionOutcome, promotion_markdown
from tasks.recycling.hour import FLOW_NAME as RECYCLING_FLOW
from tasks.recycling.hour import recycle_hour
from tasks.recycling.report import RecyclingOutcome, recycling_markdown
from tasks.scoring.hour import FLOW_NAME as SCORING_FLOW
from tasks.scoring.hour import score_hour
from tasks.scoring.report import ScoringOutcome, scoring_markdown
from tasks.sla.hour import FLOW_NAME as SLA_FLOW
from tasks.sla.hour import sla_hour
from tasks.sla.report import SlaOutcome, sla_markdown


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
class StepArtifact:
    """A step's own markdown artifact, keyed like its single flow's (`<flow>-summary`)."""

    key: str
    markdown: str
    description: str


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
        summary["dispatch_problems"] = self.problems()
        summary["superseded_by"] = self.superseded_by()
        return summary


def run_cycle_hour(
    *,
    settings: Settings,
    rules: Rules,
    as_of: datetime,
    dry_run: bool = False,
    clock: Clock = Clock.LIVE,
    steps: Collection[CycleStep] = ALL_STEPS,
    after_step: Callable[[CycleStep, StepOutcome], None] | None = None,
) -> CycleOutcome:
    """Run the given steps of the cycle for one hour, in cycle order, each after the
    previous one finished.

    Each step is its capability's own hour function, recorded in the run ledger under its
    own flow name, so a step already applied for this hour (or a later one) does nothing.
    A dispatch problem does not stop the cycle: the later steps still run, and the
    outcome's `dispatch_problem()` says what could not go out. `clock` stamps every
    step's sends (`tasks.clock`): simulated, they are dated at the hour. `after_step` is
    told each step's outcome as soon as it finished (the flow logs it then).
    """
    hours: dict[CycleStep, Callable[[], StepOutcome]] = {
        CycleStep.SCORING: lambda: score_hour(
            settings=settings, rules=rules, as_of=as_of, dry_run=dry_run,
            shards=settings.scoring_shards,
        ),
        CycleStep.PROMOTION: lambda: promote_hour(
            settings=settings, rules=rules, as_of=as_of, dry_run=dry_run, clock=clock
        ),
        CycleStep.RECYCLING: lambda: recycle_hour(
            settings=settings, rules=rules, as_of=as_of, dry_run=dry_run, clock=clock
        ),
        CycleStep.NURTURE: lambda: nurture_hour(
            settings=settings, rules=rules, as_of=as_of, dry_run=dry_run, clock=clock
        ),
        CycleStep.SLA: lambda: sla_hour(
            settings=settings, rules=rules, as_of=as_of, dry_run=dry_run, clock=clock
        ),
    }
    done: dict[str, Any] = {}
    for step in CycleStep:  # members are in cycle order
        if step in steps:
            done[step.value] = hours[step]()
            if after_step is not None:
                after_step(step, done[step.value])
    return CycleOutcome(as_of=as_of, dry_run=dry_run, **done)


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


def step_decision_rows(outcome: StepOutcome, names: DecisionNames) -> list[DecisionRow]:
    """A step's decisions as rows of the dry-run decision table (`tasks.decision_rows`)."""
    if isinstance(outcome, ScoringOutcome):
        return scoring_rows(outcome.changed, names)
    if isinstance(outcome, PromotionOutcome):
        return promotion_rows(outcome.decisions, names)
    if isinstance(outcome, RecyclingOutcome):
        return recycling_rows(outcome.decisions, names)
    if isinstance(outcome, NurtureOutcome):
        return nurture_rows(outcome.decisions)
    return sla_rows(outcome.decisions, outcome.reassignments, names)


def cycle_decision_rows(outcome: CycleOutcome, names: DecisionNames) -> list[DecisionRow]:
    """Every step's decision rows, in cycle order (scoring first, SLA last)."""
    return [row for _, result in outcome.outcomes() for row in step_decision_rows(result, names)]


def step_artifacts(outcome: CycleOutcome) -> list[StepArtifact]:
    """Each step's own artifact, the same markdown its single flow writes."""
    hour = outcome.as_of.isoformat()
    artifacts = []
    for step, result in outcome.outcomes():
        markdown = _step_markdown(result)
        artifacts.append(
            StepArtifact(
                key=f"{STEP_FLOWS[step]}-summary",
                markdown=markdown,
                description=f"{STEP_FLOWS[step]} at {hour} (lead cycle)",
            )
        )
    return artifacts


def _step_markdown(outcome: StepOutcome) -> str:
    if isinstance(outcome, ScoringOutcome):
        return scoring_markdown(outcome)
    if isinstance(outcome, PromotionOutcome):
        return promotion_markdown(outcome)
    if isinstance(outcome, RecyclingOutcome):
        return recycling_markdown(outcome)
    if isinstance(outcome, NurtureOutcome):
        return nurture_markdown(outcome)
    return sla_markdown(outcome)


def cycle_markdown(outcome: CycleOutcome) -> str:
    """The combined artifact: per step its headline counts and beat times, then the
    dispatch problems."""
    mode = " (dry run: nothing written or sent)" if outcome.dry_run else ""
    lines = [f"# lead-cycle {outcome.as_of:%Y-%m-%d %H:%M} UTC{mode}", ""]
    latest = outcome.superseded_by()
    if latest:
        lines += [
            f"**Already decided:** the latest applied hour is {latest}, so this rerun "
            "decided, wrote and sent nothing; what is due goes out with the next new hour.",
            "",
        ]
    lines += [
        "| step | headline | beats (seconds) | dispatch |",
        "|---|---|---|---|",
    ]
    for report in outcome.reports():
        counts = ", ".join(f"{name} {value}" for name, value in report.headline.items())
        if report.superseded_by:
            counts += f" (already decided: latest {report.superseded_by})"
        beats = ", ".join(f"{name} {seconds:.2f}" for name, seconds in report.beat_seconds.items())
        lines.append(
            f"| {report.step.value} | {counts} | {beats or '-'} | "
            f"{'**stopped**' if report.problem else 'ok'} |"
        )
    problems = outcome.problems()
    lines += ["", "## Dispatch problems", ""]
    lines += [f"- {_one_line(problem)}" for problem in problems] or ["None."]
    lines += ["", "Each step's own artifact has the details: "
              + ", ".join(f"`{STEP_FLOWS[step]}-summary`" for step, _ in outcome.outcomes())
              + "."]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
