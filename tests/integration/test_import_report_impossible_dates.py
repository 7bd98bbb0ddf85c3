"""An ISO-shaped date that is not on the calendar is reported as such, not as a format problem.

Through the real `leadflow import` on SQLite and PostgreSQL, as a new user meets it.
"""

from pathlib import Path

from tests.support.import_cli import FIXTURES, Cli, cli

__all__ = ["cli"]

IMPOSSIBLE = ["2026-02-30", "2026-13-01 09:00", "2026-03-05 24:00"]


def test_an_impossible_iso_date_says_the_date_does_not_exist_naming_file_row_and_field(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli("import", "contacts", FIXTURES / "contacts.csv")[0] == 0
    good = [f"2026-03-05 {hour:02d}:00" for hour in range(8, 20)]  # 3 bad of 15: the 20 % limit
    rows = [
        f"ev-{number},hanako@acme.co.jp,page_view,pricing,{when}"
        for number, when in enumerate([*IMPOSSIBLE, *good], start=1)
    ]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(["event_id,email,type,detail,occurred_at", *rows]) + "\n")

    code, output = cli("import", "events", path)

    assert code == 0, output
    assert "landed: 12 inserted" in output
    assert (
        f"  {path}:2 field=occurred_at the date does not exist: "
        "February 2026 has 28 days, not 30 (2026-02-30)\n"
    ) in output
    assert f"  {path}:3 field=occurred_at the date does not exist: there is no month 13" in output
    assert f"  {path}:4 field=occurred_at the time does not exist (24:00)" in output
    # The day-first / month-first hint is for 05/03/2024, not for a date that is not there.
    assert "--date-format" not in output
