"""`leadflow import …` and `leadflow quarantine list` through the real CLI on a SQLite file."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import app.cli
from leadflow.settings import get_settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose LEADFLOW_DATABASE_URL is a fresh SQLite file."""
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("LEADFLOW_MAX_BAD_ROW_SHARE", raising=False)
    get_settings.cache_clear()
    app.cli._register_commands()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(runner: CliRunner, *args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app.cli.app, [str(a) for a in args])
    return result.exit_code, result.output


def test_import_prints_what_landed_and_a_second_run_lands_nothing_new(cli: CliRunner) -> None:
    code, output = invoke(cli, "import", "owners", FIXTURES / "owners.csv")
    assert code == 0, output
    assert "landed: 4 inserted, 0 updated, 0 unchanged" in output
    code, output = invoke(cli, "import", "owners", FIXTURES / "owners.csv")
    assert code == 0, output
    assert "landed: 0 inserted, 0 updated, 4 unchanged" in output


def test_too_many_bad_rows_exit_1_with_reasons_and_the_good_rows_still_land(
    cli: CliRunner,
) -> None:
    assert invoke(cli, "import", "contacts", FIXTURES / "contacts.csv")[0] == 0
    path = FIXTURES / "events_malformed.csv"
    code, output = invoke(cli, "import", "events", path)
    assert code == 1
    assert "landed: 3 inserted" in output
    assert "quarantined: 7 rows (70.0%, limit 20%)" in output
    assert f"{path}:4 field=email not a valid email address" in output
    assert f"{path}:6 field=email no contact with this email" in output
    assert "FAILED" in output

    code, output = invoke(cli, "quarantine", "list", "--source", path)
    assert code == 0
    assert f"{path}:5 field=occurred_at value='yesterday' not an ISO 8601 timestamp" in output
    assert len(output.strip().splitlines()) == 7


def test_a_custom_stage_is_reported_and_a_stage_map_lands_it(cli: CliRunner) -> None:
    path = FIXTURES / "hubspot_contacts.csv"
    code, output = invoke(cli, "import", "contacts", path)
    assert code == 0, output  # 1 bad row of 5 is exactly the 20 % limit
    assert "(HubSpot export)" in output
    assert "unknown lifecycle stage 'トライアル中': 1 row quarantined" in output
    code, output = invoke(cli, "import", "contacts", path, "--stage-map", "トライアル中=lead")
    assert code == 0, output
    assert "landed: 1 inserted, 0 updated, 4 unchanged" in output


def test_a_missing_column_names_the_file_and_the_column(cli: CliRunner) -> None:
    path = FIXTURES / "events.csv"
    code, output = invoke(cli, "import", "deals", path)
    assert code == 1
    assert f"{path}: missing required column 'deal_id'" in output


def test_a_missing_file_is_one_clear_error(cli: CliRunner, tmp_path: Path) -> None:
    code, output = invoke(cli, "import", "events", tmp_path / "nope.csv")
    assert code == 1
    assert f"{tmp_path / 'nope.csv'}: no such file" in output
    assert "Traceback" not in output


def test_a_bad_stage_map_names_the_entry(cli: CliRunner) -> None:
    code, output = invoke(
        cli, "import", "contacts", FIXTURES / "contacts.csv", "--stage-map", "Trial"
    )
    assert code == 1
    assert "--stage-map 'Trial': write it as CUSTOM=stage" in output


def test_a_database_that_cannot_be_reached_is_one_clear_error(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder where the SQLite file should be: the database cannot be opened.
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", f"sqlite:///{FIXTURES}")
    get_settings.cache_clear()
    code, output = invoke(cli, "import", "events", FIXTURES / "events.csv")
    assert code == 1
    assert "the database refused the import, nothing was written" in output
    assert "Traceback" not in output
