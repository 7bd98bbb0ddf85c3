"""Shared fixtures: real databases (SQLite file and PostgreSQL) with migrations applied.

PostgreSQL comes from LEADFLOW_TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test). The schema is migrated once per
session and emptied before each test, so tests never see each other's rows. Without the
variable the PostgreSQL cases skip with a message; under CI=true a missing PostgreSQL is
an error, never a silent skip.
"""

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from leadflow.db import make_engine, upgrade
from leadflow.settings import Settings, get_settings
from tests.support.seeding import Seeder
from tests.support.settings import environment_for, settings_for
from tests.support.slack_api import FakeSlackApi
from tests.support.smtp import LoopbackSmtpServer

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# The session's temporary Prefect API keeps its state in SQLite: on a busy 2-core machine
# a week of replayed hours can hold its lock past the 10 s default and surface as a 503.
os.environ.setdefault("PREFECT_SERVER_DATABASE_TIMEOUT", "60")
os.environ.setdefault("PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT", "30")
os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")

POSTGRES_URL_ENV = "LEADFLOW_TEST_DATABASE_URL"


def postgres_base_url() -> str | None:
    """The PostgreSQL URL for tests, or None when none is configured (fails under CI)."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url and os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but {POSTGRES_URL_ENV} is not set: PostgreSQL tests must run")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "leadflow.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str | None]:
    """A private PostgreSQL schema migrated once per session (None without PostgreSQL)."""
    base = postgres_base_url()
    if not base:
        yield None
        return
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


def _empty_all_tables(url: str) -> None:
    from models.tables import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_schema_url: str | None,
) -> str:
    """A migrated, empty database URL: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "leadflow.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    if postgres_schema_url is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_ENV} to run this case")
    _empty_all_tables(postgres_schema_url)
    return postgres_schema_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated test database (SQLite and PostgreSQL)."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty SQLite file, for tests that need only one store."""
    path = tmp_path / "leadflow-sqlite.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_engine(sqlite_database_url: str) -> Iterator[Engine]:
    """An engine on the SQLite-only test database."""
    eng = make_engine(sqlite_database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for the whole session (starting one costs ~10 s).

    Requested by every test that runs an hour or a flow; unit tests never start it.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def seed(engine: Engine) -> Seeder:
    """The seeder on the parametrised (SQLite and PostgreSQL) test database."""
    return Seeder(engine)


@pytest.fixture
def sqlite_seed(sqlite_engine: Engine) -> Seeder:
    """The seeder on the SQLite-only test database."""
    return Seeder(sqlite_engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings on the parametrised test database; email goes to `.eml` files in tmp_path."""
    return settings_for(database_url, outbox_dir=tmp_path / "outbox")


@pytest.fixture
def use_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Settings], Settings]]:
    """Make `get_settings()` (what flows and the CLI read) return the given settings."""

    def use(settings: Settings) -> Settings:
        for name, value in environment_for(settings).items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return settings

    yield use
    get_settings.cache_clear()


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    """A fake Slack Web API listening on 127.0.0.1 for the duration of a test."""
    api = FakeSlackApi()
    yield api
    api.close()


@pytest.fixture
def smtp_server() -> Iterator[LoopbackSmtpServer]:
    """A real SMTP server listening on loopback for the duration of a test."""
    server = LoopbackSmtpServer()
    yield server
    server.close()
