"""Replaying many past hours of the lead cycle from the command line: the one wiring of
`leadflow backfill` (catch-up, live clock) and `leadflow simulate` (simulated clock).

Both run the `backfill` flow inside this process with a progress bar, resumably: an hour
is done when every step of the cycle recorded it (or a later hour) in the run ledger, so
a rerun after a crash starts at the first hour not done, and a rerun of a finished range
replays nothing. A simulation never reaches real people: for its duration, email goes to
`.eml` files and Slack to the console whatever the SMTP and Slack settings say.
"""

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from leadflow.runs import latest_applied_run
from leadflow.settings import Settings, get_settings
from tasks.cycle_outcome import STEP_FLOWS

# What a simulation enforces for its duration, as the environment `get_settings()` reads:
# no SMTP host (so `.eml` files in LEADFLOW_OUTBOX_DIR) and the console Slack sender.
SIMULATION_ENVIRONMENT: Mapping[str, str] = {
    "LEADFLOW_SMTP_HOST": "",
    "LEADFLOW_SLACK_CONSOLE": "true",
}


class SimulationUnsafe(RuntimeError):
    """The settings in force would let a simulation reach SMTP or Slack."""


@dataclass(frozen=True)
class ReplayPlan:
    """The hours of a range, split into those the ledger says are done and those left."""

    hours: list[datetime]
    done: list[datetime]
    last_completed: datetime | None

    @property
    def left(self) -> list[datetime]:
        """The hours still to replay, oldest first."""
        return self.hours[len(self.done) :]


def last_completed_hour(engine: Engine) -> datetime | None:
    """The latest hour every step of the cycle has applied (None: some step never ran).

    Each step supersedes hours at or before its own latest applied hour, so an hour at or
    before the earliest of them is a no-op for every step: done.
    """
    with engine.connect() as conn:
        latest = [latest_applied_run(conn, flow=name) for name in STEP_FLOWS.values()]
    if any(run is None for run in latest):
        return None
    return min(run.as_of for run in latest if run is not None)


def plan_replay(engine: Engine, hours: list[datetime]) -> ReplayPlan:
    """Split `hours` (oldest first) into the done ones and the ones left to replay."""
    last = last_completed_hour(engine)
    done = [hour for hour in hours if last is not None and hour <= last]
    return ReplayPlan(hours=hours, done=done, last_completed=last)


def reaches_people(settings: Settings) -> bool:
    """Whether email or Slack would leave this machine with these settings."""
    return bool(settings.smtp_host) or not settings.slack_console


@contextmanager
def simulated_delivery() -> Iterator[Settings]:
    """For the block: email to `.eml` files and Slack to the console, for every reader of
    `get_settings()` (the flow, its tasks, the failure hook); restored afterwards.

    Yields the settings in force. Raises SimulationUnsafe, before anything runs, if they
    would still reach people (e.g. an override this module does not know about).
    """
    saved = {name: os.environ.get(name) for name in SIMULATION_ENVIRONMENT}
    os.environ.update(SIMULATION_ENVIRONMENT)
    get_settings.cache_clear()
    try:
        settings = get_settings()
        if reaches_people(settings):
            raise SimulationUnsafe(
                "a simulation would reach SMTP or Slack with these settings; refusing to run it"
            )
        yield settings
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def totals(rows: list[dict[str, object]]) -> dict[str, int]:
    """Each headline count summed over the replayed hours (`as_of` left out)."""
    summed: dict[str, int] = {}
    for row in rows:
        for name, value in row.items():
            if isinstance(value, int) and not isinstance(value, bool):
                summed[name] = summed.get(name, 0) + value
    return summed


def replay_rows(result: Any) -> list[dict[str, object]]:
    """The per-hour rows of a finished backfill run, also when its dispatch stopped."""
    from flows.common import DispatchStopped

    if isinstance(result, DispatchStopped):
        rows = result.summary.get("hours", [])
        return list(rows) if isinstance(rows, list) else []
    if isinstance(result, BaseException):
        raise result
    return list(result) if isinstance(result, list) else []


class ProgressFactory(Protocol):
    """Opens a progress display for a replay of `total` hours of which `done` are done."""

    def __call__(self, *, total: int, done: int) -> AbstractContextManager[None]: ...


def no_progress(*, total: int, done: int) -> AbstractContextManager[None]:
    """No progress display (tests, quiet callers)."""
    return nullcontext()


class ReplayNotSafe(RuntimeError):
    """The replay was refused before anything ran (e.g. a simulation could reach people)."""


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did: its plan, each replayed hour's row, and how the run ended."""

    plan: ReplayPlan
    rows: list[dict[str, object]] = field(default_factory=list)
    completed: bool = True
    message: str | None = None

    def totals(self) -> dict[str, int]:
        """Each headline count summed over the replayed hours."""
        return totals(self.rows)


def run_replay(
    hours: list[datetime],
    *,
    simulate: bool,
    dry_run: bool = False,
    rules_path: str | None = None,
    progress: ProgressFactory = no_progress,
    check: Callable[[Settings], None] | None = None,
    announce: Callable[[ReplayPlan], None] | None = None,
) -> ReplayResult:
    """The one wiring of `leadflow simulate`, `leadflow backfill` and the demo: replay the
    hours of `hours` (oldest first, evenly spaced) not done yet through the `backfill` flow.

    `simulate`: a simulated clock (sends dated at each hour) and simulated delivery (.eml
    files, console Slack), refused with ReplayNotSafe if the settings would still reach
    people. Otherwise catch-up: the real transports, stamped with the real time.
    `check(settings)`, when given, vets the settings in force before anything runs (the
    CLI's "can we send?" check); `announce(plan)` is told the plan before any hour runs.
    Hours the run ledger says are done are skipped, so a rerun
    after a crash resumes and a rerun of a finished range replays nothing.
    """
    from flows.backfill import backfill
    from leadflow.db import ensure_database

    every_hours = _spacing(hours)
    try:
        delivery = simulated_delivery() if simulate else nullcontext(get_settings())
        with delivery as settings:
            if check is not None:
                check(settings)
            plan = plan_replay(ensure_database(settings.database_url), hours)
            if announce is not None:
                announce(plan)
            if not plan.left:
                return ReplayResult(plan=plan)
            with progress(total=len(plan.hours), done=len(plan.done)):
                state = backfill(
                    start=plan.left[0],
                    end=hours[-1],
                    every_hours=every_hours,
                    dry_run=dry_run,
                    rules_path=rules_path,
                    simulate_clock=simulate,
                    return_state=True,
                )
    except SimulationUnsafe as error:
        raise ReplayNotSafe(str(error)) from error
    rows = replay_rows(state.result(raise_on_failure=False))
    completed = bool(state.is_completed())
    message = None if completed else f"{state.name}: {state.message or 'the run did not complete'}"
    return ReplayResult(plan=plan, rows=rows, completed=completed, message=message)


def _spacing(hours: list[datetime]) -> int:
    """The whole hours between consecutive `hours` (1 for a single hour)."""
    if not hours:
        raise ValueError("nothing to replay: the range has no hours")
    if len(hours) == 1:
        return 1
    return int((hours[1] - hours[0]).total_seconds() // 3600)
