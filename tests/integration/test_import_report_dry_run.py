"""A dry run with too many bad rows says nothing was written and names each failure once.

Through the real `leadflow import` on SQLite and PostgreSQL.
"""

from sqlalchemy import func, select

from models.tables import Event, Quarantine
from tests.support.import_cli import FIXTURES, Cli, cli

__all__ = ["cli"]


def test_a_failed_dry_run_says_nothing_was_written_and_prints_each_failure_once(cli: Cli) -> None:
    assert cli("import", "contacts", FIXTURES / "contacts.csv")[0] == 0
    path = FIXTURES / "events_malformed.csv"

    code, output = cli("import", "events", path, "--dry-run")

    assert code == 1, output
    assert f"dry run, nothing written — {path}: 10 rows of events" in output
    assert (
        "FAILED: 70.0% of rows are bad, more than the 20% allowed (dry run: nothing was written)"
        in output
    )
    assert "still imported" not in output
    assert output.count("FAILED") == 1
    assert output.count("failed validation") == 0
    assert output.count(f"{path}:3 field=type") == 1
    with cli.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Event)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(Quarantine)).scalar_one() == 0


def test_a_failed_real_import_says_the_good_rows_landed_once(cli: Cli) -> None:
    assert cli("import", "contacts", FIXTURES / "contacts.csv")[0] == 0

    code, output = cli("import", "events", FIXTURES / "events_malformed.csv")

    assert code == 1, output
    assert output.count("FAILED") == 1
    assert "(good rows were still imported)" in output
    assert output.count("failed validation") == 0
