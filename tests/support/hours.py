"""Run many hours inside one Prefect flow run.

A Prefect task called outside a flow costs about 100 ms of orchestration, inside a flow
about 20 ms; a test that walks days hour by hour runs its hours inside one flow.
"""

import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from prefect import flow

T = TypeVar("T")
P = ParamSpec("P")
HOUR = timedelta(hours=1)


def hours_from(start: datetime, end: datetime, *, step: timedelta = HOUR) -> Iterator[datetime]:
    """`start`, `start + step`, ... up to and including `end`."""
    current = start
    while current <= end:
        yield current
        current += step


def in_one_flow(body: Callable[[], T], *, name: str = "test-hours") -> T:
    """Call `body()` inside one flow run, so the tasks it runs are cheap; return its result."""

    @flow(name=name, validate_parameters=False, persist_result=False)
    def one_flow() -> T:
        return body()

    return one_flow()


def run_hours(per_hour: Callable[[datetime], T], hours: Iterable[datetime]) -> list[T]:
    """Call `per_hour(hour)` for each hour, oldest first, inside one flow run."""
    return in_one_flow(lambda: [per_hour(hour) for hour in hours])


def inside_one_flow(test: Callable[P, None]) -> Callable[P, None]:
    """Decorator for a test that runs several hours: its whole body runs inside one flow run.

    Fixtures are injected as usual (the signature is kept); a failing assertion fails the
    flow run and reaches pytest unchanged.
    """

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        in_one_flow(lambda: test(*args, **kwargs), name=test.__name__.replace("_", "-"))

    return run
