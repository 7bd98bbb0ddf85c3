"""How a beat becomes a Prefect task: one preset for database beats, one for pure ones.

Every capability's hour runs its beats (read → decide → apply → dispatch) as coarse
Prefect tasks, so the UI shows each beat with its duration and retries. Database beats
retry only on transient errors (lost connection, lock); pure beats and dispatchers never
retry — a dispatcher's own retries live in the outbox, per message.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from sqlalchemy.exc import DBAPIError, OperationalError

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

DB_RETRIES = 2
DB_RETRY_DELAY_SECONDS = 5


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


def database_beat(name: str) -> Callable[[Callable[P, R]], Any]:
    """Decorator: a beat that reads or writes the database (retried on transient errors)."""

    def wrap(function: Callable[P, R]) -> Any:
        return task(
            name=name,
            cache_policy=NO_CACHE,
            retries=DB_RETRIES,
            retry_delay_seconds=DB_RETRY_DELAY_SECONDS,
            retry_condition_fn=is_transient_db_error,
        )(function)

    return wrap


def plain_beat(name: str) -> Callable[[Callable[P, R]], Any]:
    """Decorator: a pure or dispatching beat (never retried by Prefect)."""

    def wrap(function: Callable[P, R]) -> Any:
        return task(name=name, cache_policy=NO_CACHE)(function)

    return wrap


def opaque(value: T) -> T:
    """Pass `value` to a task without Prefect walking inside it.

    Prefect visits every field of task arguments looking for futures; for the rules model
    and frames that walk costs more than the task itself.
    """
    return cast(T, quote(value))


class BeatTimer:
    """Wall seconds per beat of one hour, for the run summary and the benchmarks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def beat(self, name: str) -> Iterator[None]:
        """Time the block as beat `name` (added up when a beat runs more than once)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 3)
