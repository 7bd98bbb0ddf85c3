"""What every leadflow flow shares: parameter defaults, run names, retry policy."""

from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from sqlalchemy.exc import DBAPIError, OperationalError

from leadflow.settings import get_settings
from leadflow.timeutil import floor_to_hour, to_utc, utc_now
from models.rules import Rules, load_rules

T = TypeVar("T")


def opaque(value: T) -> T:
    """Pass `value` to a task without Prefect walking inside it.

    Prefect visits every field of task arguments looking for futures; for the rules model
    and frames that walk costs more than the task itself.
    """
    return cast(T, quote(value))


def resolve_as_of(as_of: datetime | None) -> datetime:
    """The hour a run covers: the given instant floored to the hour, or now; always UTC."""
    return floor_to_hour(utc_now() if as_of is None else to_utc(as_of))


def resolve_rules(rules_path: str | None) -> Rules:
    """Load the rules file given, or the configured default."""
    return load_rules(Path(rules_path) if rules_path else get_settings().rules_path)


def run_name_with_as_of() -> str:
    """Flow run name carrying the hour, e.g. `hourly-scoring 2026-11-22T09:00Z`."""
    parameters: dict[str, Any] = flow_run.parameters or {}
    as_of = resolve_as_of(parameters.get("as_of"))
    suffix = " dry-run" if parameters.get("dry_run") else ""
    return f"{flow_run.flow_name} {as_of:%Y-%m-%dT%H:%MZ}{suffix}"


def is_transient_db_error(_task: object, _task_run: object, state: Any) -> bool:
    """Retry only when the database said something transient (lost connection, lock)."""
    try:
        state.result()
    except OperationalError:
        return True
    except DBAPIError as error:
        return bool(error.connection_invalidated)
    except Exception:
        return False
    return False
