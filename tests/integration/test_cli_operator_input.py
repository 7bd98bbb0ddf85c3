"""What an operator types: bad input gets one clear line, a fresh folder just works."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.settings import Settings
from tests.support.seeding import Seeder

LEADFLOW = Path(sys.executable).parent / "leadflow"


def leadflow(*arguments: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `leadflow` command in `cwd`, without the caller's LEADFLOW_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    env.update(environment)
    return subprocess.run(
        [str(LEADFLOW), *arguments], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )


def test_the_default_database_is_created_with_its_folder_in_a_fresh_directory(
    tmp_path: Path,
) -> None:
    result = leadflow("db", "upgrade", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "is up to date" in result.stdout
    assert (tmp_path / ".leadflow" / "leadflow.db").is_file()


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31T23:00", "1970-01-01T00:00Z"])
def test_an_as_of_outside_the_supported_years_is_refused_with_one_clear_line(
    as_of: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    _register_commands()
    for command in (["run", "scoring"], ["run", "promotion"], ["run", "nurture"],
                    ["run", "recycling"], ["run", "sla"]):
        result = CliRunner().invoke(app, [*command, "--as-of", as_of])

        assert result.exit_code == 1
        assert isinstance(result.exception, SystemExit)
        assert f"--as-of {as_of!r} is out of range" in result.output
        assert "between 2000 and 2100" in result.output
    assert not (tmp_path / "unused.db").exists()


def test_an_as_of_that_is_not_a_timestamp_is_refused_with_an_example(tmp_path: Path) -> None:
    _register_commands()
    result = CliRunner().invoke(app, ["run", "scoring", "--as-of", "yesterday"])

    assert result.exit_code == 1
    assert "is not an ISO 8601 timestamp (e.g. 2026-11-22T09:00+09:00)" in result.output


@pytest.mark.parametrize("command", ["scoring", "promotion", "nurture", "recycling", "sla"])
def test_a_bad_rules_file_stops_a_run_with_one_message_and_no_traceback(
    command: str, tmp_path: Path
) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text("name: broken\nscoring: [not, a, mapping]\n", encoding="utf-8")

    result = leadflow(
        "run", command, "--rules", str(rules), cwd=tmp_path,
        LEADFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'leadflow.db'}",
    )

    assert result.returncode == 1
    assert str(rules) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "prefect" not in (result.stderr + result.stdout).lower()


def test_a_missing_rules_file_names_the_file(tmp_path: Path) -> None:
    _register_commands()
    result = CliRunner().invoke(app, ["run", "scoring", "--rules", str(tmp_path / "nope.yaml")])

    assert result.exit_code == 1
    assert "nope.yaml: cannot read rules file" in result.output


def test_explain_finds_a_contact_by_the_id_artifacts_list(
    seed: Seeder, settings: Settings, use_settings: Callable[[Settings], Settings]
) -> None:
    use_settings(settings)
    contact = seed.contact(email="yamada@example.co.jp", job_title="部長")
    _register_commands()

    by_id = CliRunner().invoke(app, ["explain", "--id", str(contact)])
    unknown = CliRunner().invoke(app, ["explain", "--id", "999999"])
    neither = CliRunner().invoke(app, ["explain"])

    assert by_id.exit_code == 0, by_id.output
    assert "yamada@example.co.jp" in by_id.output
    assert (unknown.exit_code, neither.exit_code) == (1, 1)
    assert "no contact with id 999999" in unknown.output
    assert "EMAIL or --id" in neither.output
