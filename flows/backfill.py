"""Deployment `backfill`: replay many hours of the lead cycle inside one flow run.

One flow run per hour costs about a second of orchestration; a backfill runs each
hour's scoring, promotion, recycling, nurture and SLA escalation as tasks of a single
run instead, so a month replays in a minute (demo, catch-up after an outage, what-if
runs under other rules). Each hour is `tasks.cycle.run_cycle_hour`, the same wiring the
scheduled `lead-cycle` flow runs.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run

from flows.common import (
    decision_table,
    decisions_artifact_key,
    dispatch_stopped,
    publish_decisions,
    resolve_as_of,
    resolve_rules,
    scored_contacts,
)
from flows.notify import notify_failure
from leadflow.settings import get_settings
from tasks.clock import Clock
from tasks.cycle import run_cycle_hour
from tasks.cycle_outcome import CycleStep
from tasks.cycle_report import cycle_decision_rows


def backfill_hours(start: datetime, end: datetime, every_hours: int) -> list[datetime]:
    """The hours from `start` to `end` inclusive, both floored to the hour, `every_hours` apart."""
    if every_hours < 1:
        raise ValueError("every_hours must be at least 1")
    first, last = resolve_as_of(start), resolve_as_of(end)
    if last < first:
        raise ValueError(f"end {last.isoformat()} is before start {first.isoformat()}")
    hours = []
    current = first
    while current <= last:
        hours.append(current)
        current += timedelta(hours=every_hours)
    return hours


BackfillProgress = Callable[[int, int, datetime], None]
"""Told after each replayed hour: (hours done, hours in total, the hour just done)."""

_progress: ContextVar[BackfillProgress | None] = ContextVar("backfill_progress", default=None)


BeforeHour = Callable[[datetime | None, datetime], None]
"""Called before each replayed hour with (the previous hour or None, this hour)."""

_before_hour: ContextVar[BeforeHour | None] = ContextVar("backfill_before_hour", default=None)


@contextmanager
def before_each_hour(hook: BeforeHour) -> Iterator[None]:
    """Run `hook` before every hour the backfills in this block replay — e.g. the demo's
    simulated sales team logging the touches that happened since the previous hour."""
    token = _before_hour.set(hook)
    try:
        yield
    finally:
        _before_hour.reset(token)


@contextmanager
def reporting_progress(listener: BackfillProgress) -> Iterator[None]:
    """Tell `listener` about every hour the backfills run in this block replay (e.g. a bar).

    A context, not a flow parameter: a callback cannot be a deployment parameter.
    """
    token = _progress.set(listener)
    try:
        yield
    finally:
        _progress.reset(token)


def progress_line(done: int, total: int, hour: datetime) -> str | None:
    """The log line after hour `done` of `total`: about every tenth of the way, and the last."""
    step = max(total // 10, 1)
    if done != total and done % step:
        return None
    return f"{done}/{total} hours replayed (up to {hour:%Y-%m-%dT%H:%MZ})"


def backfill_run_name() -> str:
    """Flow run name carrying the range, e.g. `backfill 2026-11-01T00:00Z → 2026-11-02T00:00Z`
    (`simulate …` under the simulated clock)."""
    parameters: dict[str, Any] = flow_run.parameters or {}
    start, end = parameters.get("start"), parameters.get("end")
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return "backfill"
    suffix = " dry-run" if parameters.get("dry_run") else ""
    first, last = resolve_as_of(start), resolve_as_of(end)
    # A simulation (the demo, `leadflow simulate`) must not look like an outage catch-up.
    kind = "simulate" if parameters.get("simulate_clock") else "backfill"
    return f"{kind} {first:%Y-%m-%dT%H:%MZ} → {last:%Y-%m-%dT%H:%MZ}{suffix}"


@flow(
    name="backfill",
    flow_run_name=backfill_run_name,
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def backfill(
    start: datetime,
    end: datetime,
    every_hours: int = 1,
    dry_run: bool = False,
    rules_path: str | None = None,
    promote: bool = True,
    nurture: bool = True,
    simulate_clock: bool = False,
    recycle: bool = True,
    sla: bool = True,
) -> list[dict[str, object]] | State[Any]:
    """Run the lead cycle (scoring → promotion → recycling → nurture → SLA escalation)
    for every hour, oldest first.

    Each hour is recorded in the run ledger like a scheduled run, so the next scheduled
    run continues incrementally from the last replayed hour. Logs its progress about
    every tenth of the range. Ends Failed, with the reason as its state message, when
    the Slack or email dispatch could not work in some hour (its messages stay pending).

    Args:
        start: The first hour to run (a time without a UTC offset is business time).
        end: The last hour to run, inclusive.
        every_hours: Run every N-th hour (1 = every hour).
        dry_run: Decide only: write and send nothing. Each hour's row then carries its
            decisions (`decisions`: rows with `as_of`), all of them also in the
            `backfill-dry-run-decisions` artifact.
        rules_path: A rules YAML file to use instead of the configured default.
        promote: Run MQL promotion, late owner assignment and the hand-off (Slack and
            the owner's email) each hour.
        nurture: Run the nurture programs each hour.
        simulate_clock: Treat every replayed hour as the present: sends are stamped at
            the hour (demos, what-if replays). Off: what is due goes out now, stamped
            with the real time.
        recycle: Run lead recycling (unreachable leads, recycle/unqualified statuses,
            lost deals, retry reminders) each hour.
        sla: Run the sales SLA clocks and escalations each hour.
    """
    rules = resolve_rules(rules_path)
    settings = get_settings()
    clock = Clock.SIMULATED if simulate_clock else Clock.LIVE
    steps = {CycleStep.SCORING} | {
        step
        for step, wanted in (
            (CycleStep.PROMOTION, promote),
            (CycleStep.RECYCLING, recycle),
            (CycleStep.NURTURE, nurture),
            (CycleStep.SLA, sla),
        )
        if wanted
    }
    rows: list[dict[str, object]] = []
    decided: list[dict[str, object]] = []
    problems: list[str] = []
    hours = backfill_hours(start, end, every_hours)
    listener, hook = _progress.get(), _before_hour.get()
    for done, hour in enumerate(hours, start=1):
        if hook is not None:
            hook(hours[done - 2] if done > 1 else None, hour)
        outcome = run_cycle_hour(
            settings=settings, rules=rules, as_of=hour, dry_run=dry_run, clock=clock, steps=steps
        )
        if outcome.problems():
            problems.append(f"{hour:%Y-%m-%dT%H:%MZ} " + "; ".join(outcome.problems()))
        row = outcome.row()
        if dry_run:
            table = decision_table(
                partial(cycle_decision_rows, outcome),
                as_of=hour,
                scored=scored_contacts(outcome.scoring),
                stamp_as_of=True,
            )
            row["decisions"] = table.rows
            decided += table.artifact
        rows.append(row)
        if listener is not None:
            listener(done, len(hours), hour)
        line = progress_line(done, len(hours), hour)
        if line:
            print(line)
    problem = (
        f"Dispatch stopped in {len(problems)} of {len(rows)} hours; first: {problems[0]}"
        if problems
        else None
    )
    span = f"Backfill {rows[0]['as_of']} → {rows[-1]['as_of']}" if rows else "Backfill"
    create_table_artifact(
        key="backfill-summary",
        table=[{k: v for k, v in row.items() if k != "decisions"} for row in rows],
        description=(f"{problem} — " if problem else "") + span,
    )
    if dry_run:
        publish_decisions(
            key=decisions_artifact_key("backfill"),
            records=decided,
            description=f"{span}: decisions of a dry run, not applied",
        )
    return dispatch_stopped(problem, {"hours": rows}) if problem else rows
