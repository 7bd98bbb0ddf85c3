"""Every manual run refuses an hour after now with one line naming the latest hour allowed.

Through the real `leadflow run …` commands on a SQLite file; nothing is recorded.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import app.cli
from leadflow.db import make_engine
from leadflow.settings import get_settings
from leadflow.timeutil import floor_to_hour, utc_now
from models.tables import Run


@pytest.fixture
def database(sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at a migrated SQLite file, business time Asia/Tokyo."""
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", sqlite_database_url)
    monkeypatch.delenv("LEADFLOW_BUSINESS_TIMEZONE", raising=False)
    monkeypatch.setenv("LEADFLOW_DEVELOPMENT", "true")
    get_settings.cache_clear()
    app.cli._register_commands()
    yield sqlite_database_url
    get_settings.cache_clear()


@pytest.mark.parametrize("flow", ["nurture", "scoring", "promotion", "recycling", "sla", "cycle"])
def test_a_run_for_an_hour_after_now_is_refused_with_the_latest_allowed_hour(
    database: str, flow: str
) -> None:
    future = floor_to_hour(utc_now()) + timedelta(hours=3)

    result = CliRunner().invoke(app.cli.app, ["run", flow, "--as-of", future.isoformat()])

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "is in the future: an hour after now cannot be run" in lines[0]
    latest = floor_to_hour(utc_now()).astimezone(get_settings().tz).isoformat()
    assert f"the latest hour that can is {latest}" in lines[0]
    engine = make_engine(database)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar_one() == 0
    engine.dispose()
