"""Shared fixtures: real databases (SQLite file and PostgreSQL) with migrations applied.

PostgreSQL comes from LEADFLOW_TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test). Each test gets its own schema, so
tests never see each other's rows. Without the variable the PostgreSQL cases skip with a
message; under CI=true a missing PostgreSQL is an error, never a silent skip.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from leadflow.db import make_engine, upgrade

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

POSTGRES_URL_ENV = "LEADFLOW_TEST_DATABASE_URL"


def postgres_base_url() -> str | None:
    """The PostgreSQL URL for tests, or None when none is configured (fails under CI)."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url and os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but {POSTGRES_URL_ENV} is not set: PostgreSQL tests must run")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: a SQLite file, then a private PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leadflow.db'}"
        upgrade(url)
        yield url
        return
    base = postgres_base_url()
    if not base:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_ENV} to run this case")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    try:
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated test database (SQLite and PostgreSQL)."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a migrated SQLite file, for tests that need only one store."""
    url = f"sqlite:///{tmp_path / 'leadflow.db'}"
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()
