"""One hour of the lead cycle — scoring → promotion → recycling → nurture → SLA escalation.

The one wiring of the cycle: the `lead-cycle` flow (the scheduled deployment) and the
`backfill` flow (each of its hours) both call `run_cycle_hour`, which calls each
capability's own hour function in turn, each after the previous one finished. Recycling
runs before nurture so a lead recycled this hour is enrolled in nurture this hour.
"""

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from leadflow.db import ensure_database
from leadflow.memory import release_free_memory
from leadflow.runs import latest_applied_run
from leadflow.settings import Settings
from models.rules import Rules
from tasks.clock import Clock
from tasks.cycle_outcome import (
    ALL_STEPS,
    STEP_FLOWS,
    CycleOutcome,
    CycleStep,
    StepOutcome,
    StepReport,
)
from tasks.cycle_report import (
    StepArtifact,
    cycle_decision_rows,
    cycle_markdown,
    step_artifacts,
    step_decision_rows,
)
from tasks.nurture.hour import nurture_hour
from tasks.promotion.hour import promote_hour
from tasks.recycling.hour import recycle_hour
from tasks.scoring.hour import score_hour
from tasks.sla.hour import sla_hour

# Re-exported: tests and benchmarks import the cycle's vocabulary and report from here.
__all__ = [
    "ALL_STEPS",
    "STEP_FLOWS",
    "CycleOutcome",
    "CycleStep",
    "StepArtifact",
    "StepOutcome",
    "StepReport",
    "cycle_decision_rows",
    "cycle_markdown",
    "decided_steps",
    "run_cycle_hour",
    "step_artifacts",
    "step_decision_rows",
]


def run_cycle_hour(
    *,
    settings: Settings,
    rules: Rules,
    as_of: datetime,
    dry_run: bool = False,
    clock: Clock = Clock.LIVE,
    steps: Collection[CycleStep] = ALL_STEPS,
    after_step: Callable[[CycleStep, StepOutcome], None] | None = None,
    on_decided: Callable[[CycleStep, str], None] | None = None,
) -> CycleOutcome:
    """Run the given steps of the cycle for one hour, in cycle order, each after the
    previous one finished.

    Each step is its capability's own hour function, recorded in the run ledger under its
    own flow name, so a step already applied for this hour (or a later one) does nothing.
    A dispatch problem does not stop the cycle: the later steps still run, and the
    outcome's `dispatch_problem()` says what could not go out. `clock` stamps every
    step's sends (`tasks.clock`): simulated, they are dated at the hour. `after_step` is
    told each step's outcome as soon as it finished (the flow logs it then).

    A dry run skips the steps whose hour is decided already (`decided_steps`): a real run
    would decide, write and send nothing in them, so listing decisions would mislead.
    `on_decided` is told each such step and the latest applied hour.
    """
    decided = decided_steps(settings, as_of=as_of, steps=steps) if dry_run else {}
    hours: dict[CycleStep, Callable[[], StepOutcome]] = {
        CycleStep.SCORING: lambda: score_hour(
            settings=settings,
            rules=rules,
            as_of=as_of,
            dry_run=dry_run,
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
        if step in decided:
            if on_decided is not None:
                on_decided(step, decided[step])
        elif step in steps:
            done[step.value] = hours[step]()
            # The next step starts from what is alive, not from this step's freed peak.
            release_free_memory()
            if after_step is not None:
                after_step(step, done[step.value])
    return CycleOutcome(as_of=as_of, dry_run=dry_run, already_decided=decided, **done)


def decided_steps(
    settings: Settings, *, as_of: datetime, steps: Collection[CycleStep]
) -> dict[CycleStep, str]:
    """The steps whose flow applied `as_of` or a later hour already, with that latest hour.

    A real run of such an hour decides, writes and sends nothing in them (scoring has no
    such rule: it writes a past hour's snapshots once, so it is never listed).
    """
    engine = ensure_database(settings.database_url)
    found: dict[CycleStep, str] = {}
    with engine.connect() as conn:
        for step in CycleStep:
            if step is CycleStep.SCORING or step not in steps:
                continue
            latest = latest_applied_run(conn, flow=STEP_FLOWS[step])
            if latest is not None and as_of <= latest.as_of:
                found[step] = latest.as_of.isoformat()
    return found
