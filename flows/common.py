"""What every leadflow flow shares: parameter resolution and run names."""

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Failed

from leadflow.settings import get_settings
from leadflow.timeutil import floor_to_hour, to_utc, utc_now
from models.rules import Rules, load_rules

AS_OF_HELP = (
    "The hour to run, floored to the hour. Empty means now. A time without a UTC offset "
    "is read in the business time zone (LEADFLOW_BUSINESS_TIMEZONE, default Asia/Tokyo); "
    "the UI's date picker sends UTC."
)


def resolve_as_of(as_of: datetime | None) -> datetime:
    """The hour a run covers: `as_of` floored to the hour, or now; always UTC.

    A naive `as_of` is business time, the same rule as the CLI's `--as-of`.
    """
    if as_of is None:
        return floor_to_hour(utc_now())
    return floor_to_hour(to_utc(as_of, naive_tz=get_settings().tz))


def resolve_rules(rules_path: str | None) -> Rules:
    """Load the rules file given, or the configured default."""
    return load_rules(Path(rules_path) if rules_path else get_settings().rules_path)


def run_name_with_as_of() -> str:
    """Flow run name carrying the hour, e.g. `hourly-scoring 2026-11-22T09:00Z`."""
    parameters: dict[str, Any] = flow_run.parameters or {}
    as_of = resolve_as_of(parameters.get("as_of"))
    suffix = " dry-run" if parameters.get("dry_run") else ""
    return f"{flow_run.flow_name} {as_of:%Y-%m-%dT%H:%MZ}{suffix}"


class DispatchStopped(RuntimeError):
    """A run did its work but could not dispatch its messages; carries the run's summary.

    The flow ends `Failed` with this as its result, so the UI shows the run as not OK with
    the reason as its state message; calling the flow directly raises it.
    """

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.summary: dict[str, Any] = summary or {}


def dispatch_stopped(problem: str, summary: dict[str, Any]) -> State[Any]:
    """A `Failed` final state saying why dispatch stopped, carrying the run's summary."""
    return Failed(message=problem, data=DispatchStopped(problem, summary))


def finish(summary: dict[str, Any], *, problem: str | None) -> dict[str, Any] | State[Any]:
    """The flow's return value: `summary`, or a `Failed` state saying why dispatch stopped."""
    return summary if problem is None else dispatch_stopped(problem, summary)
