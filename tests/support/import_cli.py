"""`leadflow import …` through the real CLI on the test database (SQLite and PostgreSQL).

Import the `cli` fixture into a test module to use it; `invoke` runs one command and
returns its exit code and output; `edited` writes a changed copy of a fixture.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import app.cli
from leadflow.db import make_engine
from leadflow.settings import get_settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
HUBSPOT_ALL = FIXTURES / "hubspot_all_contacts.csv"
HUBSPOT_US = FIXTURES / "hubspot_us_export.csv"
OWNERS = FIXTURES / "owners.csv"


class Cli:
    """A CLI runner bound to one migrated test database, and an engine to look inside it."""

    def __init__(self, runner: CliRunner, engine: Engine) -> None:
        self.runner = runner
        self.engine = engine

    def __call__(self, *args: str | Path) -> tuple[int, str]:
        """Run `leadflow ARGS…`; returns (exit code, stdout and stderr)."""
        result = self.runner.invoke(app.cli.app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The real `leadflow` command on the test database (SQLite, then PostgreSQL), with the
    default settings: business time Asia/Tokyo, rules/default.yaml, 20 % bad rows."""
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", database_url)
    for name in ("LEADFLOW_MAX_BAD_ROW_SHARE", "LEADFLOW_BUSINESS_TIMEZONE", "LEADFLOW_RULES_PATH"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    app.cli._register_commands()
    engine = make_engine(database_url)
    yield Cli(CliRunner(), engine)
    engine.dispose()
    get_settings.cache_clear()


def edited(source: Path, folder: Path, *replacements: tuple[str, str], name: str = "") -> Path:
    """A copy of `source` in `folder` with each (old, new) replaced; each old must occur."""
    text = source.read_text(encoding="utf-8-sig")
    for old, new in replacements:
        assert old in text, f"{old!r} is not in {source.name}"
        text = text.replace(old, new)
    path = folder / (name or source.name)
    path.write_text(text, encoding="utf-8")
    return path
