"""One Prefect test harness for the whole session: a temporary server costs ~10 s."""

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(autouse=True, scope="session")
def prefect_harness() -> Iterator[None]:
    """Run every flow test against one temporary Prefect API."""
    with prefect_test_harness(server_startup_timeout=120):
        yield
