"""How one hour of the lead cycle is shown: dry-run decision rows and the artifacts."""

from dataclasses import dataclass

from tasks.cycle_outcome import STEP_FLOWS, CycleOutcome, CycleStep, StepOutcome
from tasks.decision_rows import (
    DecisionNames,
    DecisionRow,
    nurture_rows,
    promotion_rows,
    recycling_rows,
    scoring_rows,
    sla_rows,
)
from tasks.narration import already_decided_words
from tasks.nurture.report import NurtureOutcome, nurture_markdown
from tasks.promotion.report import PromotionOutcome, promotion_markdown
from tasks.recycling.report import RecyclingOutcome, recycling_markdown
from tasks.scoring.report import ScoringOutcome, scoring_markdown
from tasks.sla.report import sla_markdown


@dataclass(frozen=True)
class StepArtifact:
    """A step's own markdown artifact, keyed like its single flow's (`<flow>-summary`)."""

    key: str
    markdown: str
    description: str


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


def step_artifact(step: CycleStep, outcome: StepOutcome, *, context: str = "") -> StepArtifact:
    """A step's own markdown artifact, `<flow>-summary`; `context` ends its description."""
    flow_name = STEP_FLOWS[step]
    return StepArtifact(
        key=f"{flow_name}-summary",
        markdown=_step_markdown(outcome),
        description=f"{flow_name} at {outcome.as_of.isoformat()}{context}",
    )


def step_artifacts(outcome: CycleOutcome) -> list[StepArtifact]:
    """Each step's own artifact, the same markdown its single flow writes."""
    return [
        step_artifact(step, result, context=" (lead cycle)") for step, result in outcome.outcomes()
    ]


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
        lines += [f"**Already decided:** {already_decided_words(outcome.summary())}", ""]
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
    for step, hour in outcome.already_decided.items():
        lines.append(
            f"| {step.value} | already decided: latest {hour}; not decided again | - | ok |"
        )
    problems = outcome.problems()
    lines += ["", "## Dispatch problems", ""]
    lines += [f"- {_one_line(problem)}" for problem in problems] or ["None."]
    lines += [
        "",
        "Each step's own artifact has the details: "
        + ", ".join(f"`{STEP_FLOWS[step]}-summary`" for step, _ in outcome.outcomes())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
