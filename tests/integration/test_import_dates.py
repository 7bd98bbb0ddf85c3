"""Dates as spreadsheets write them: YYYY/MM/DD always, day- or month-first only when told.

Through the real `leadflow import` on SQLite and PostgreSQL; naive times are business time
(Asia/Tokyo), stored as UTC.
"""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from models.tables import Contact, Event, Quarantine, StageHistory
from tests.support.import_cli import FIXTURES, HUBSPOT_ALL, HUBSPOT_US, Cli, cli

__all__ = ["cli"]

NO_FORMAT_HINT = (
    "nor 2026/04/01 09:30; for 05/03/2024 rerun with --date-format dmy (day first) or "
    "--date-format mdy (month first)"
)


def created(cli: Cli) -> dict[str, datetime]:
    with cli.engine.connect() as conn:
        return dict(conn.execute(select(Contact.email, Contact.created_at)).tuples().all())


def quarantined(cli: Cli) -> list[tuple[int, str, str | None, str]]:
    with cli.engine.connect() as conn:
        rows = conn.execute(
            select(Quarantine.row_number, Quarantine.field, Quarantine.value, Quarantine.reason)
            .order_by(Quarantine.row_number, Quarantine.field)
        ).tuples()
        return list(rows.all())


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_year_first_dates_from_excel_in_japan_land_as_business_time(cli: Cli) -> None:
    code, output = cli("import", "contacts", HUBSPOT_ALL)
    assert code == 0, output
    assert "quarantined: 0 rows" in output
    stored = created(cli)
    assert stored["hanako@acme.co.jp"] == datetime(2024, 3, 5, 1, 12, tzinfo=UTC)  # 10:12 JST
    assert stored["ichiro.sasaki@hikari-denki.co.jp"] == datetime(2024, 3, 6, 0, 5, tzinfo=UTC)
    assert stored["lucas@nuvem.com.br"] == datetime(2024, 3, 11, 13, 45, tzinfo=UTC)
    with cli.engine.connect() as conn:
        mql = conn.execute(
            select(StageHistory.at)
            .join(Contact, Contact.id == StageHistory.contact_id)
            .where(Contact.email == "hanako@acme.co.jp", StageHistory.to_stage == "mql")
        ).scalar_one()
    assert mql == datetime(2024, 3, 20, 0, 0, tzinfo=UTC)  # 2024/03/20 09:00 JST


def test_us_dates_are_quarantined_without_date_format_naming_file_row_field_and_forms(
    cli: Cli,
) -> None:
    code, output = cli("import", "contacts", HUBSPOT_US)
    assert code == 1  # every row is bad: more than the 20 % allowed
    assert "3 rows of contacts (HubSpot export)" in output
    assert "landed: 0 inserted, 0 updated, 0 unchanged" in output
    assert "quarantined: 3 rows (100.0%, limit 20%)" in output
    records = quarantined(cli)
    assert records[0][:3] == (2, "Became a Lead Date", "03/05/2024 10:12 AM")
    assert (2, "Create Date", "03/05/2024 10:12 AM") in [r[:3] for r in records]
    assert all(
        r[3].startswith("not an ISO 8601 timestamp (e.g. 2026-04-01 09:30") for r in records
    )
    assert all(r[3].endswith(NO_FORMAT_HINT) for r in records)

    code, listed = cli("quarantine", "list", "--source", HUBSPOT_US)
    assert code == 0
    assert (
        f"{HUBSPOT_US}:2 field=Create Date value='03/05/2024 10:12 AM' not an ISO 8601 "
        "timestamp"
    ) in listed


def test_month_first_dates_with_am_and_pm_land_with_date_format_mdy(cli: Cli) -> None:
    code, output = cli("import", "contacts", HUBSPOT_US, "--date-format", "mdy")
    assert code == 0, output
    assert "landed: 3 inserted, 0 updated, 0 unchanged" in output
    stored = created(cli)
    assert stored["amy.baker@contoso.com"] == datetime(2024, 3, 5, 1, 12, tzinfo=UTC)
    assert stored["bob.chen@fabrikam.com"] == datetime(2023, 12, 31, 14, 59, tzinfo=UTC)
    # 12:05 AM is five past midnight.
    assert stored["carla@tailspin.io"] == datetime(2024, 3, 31, 15, 5, tzinfo=UTC)
    with cli.engine.connect() as conn:
        history = conn.execute(
            select(StageHistory.to_stage, StageHistory.at)
            .join(Contact, Contact.id == StageHistory.contact_id)
            .where(Contact.email == "amy.baker@contoso.com")
            .order_by(StageHistory.at)
        ).tuples()
        assert list(history.all()) == [
            ("lead", datetime(2024, 3, 5, 1, 12, tzinfo=UTC)),
            ("mql", datetime(2024, 3, 28, 7, 45, tzinfo=UTC)),  # 4:45 PM JST
        ]


def test_the_same_slash_date_is_day_first_with_dmy_and_month_first_with_mdy(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli("import", "contacts", FIXTURES / "contacts.csv")[0] == 0
    header = "event_id,email,type,detail,occurred_at"
    row = "hanako@acme.co.jp,email_open,{mail},05/03/2024 10:00"
    day_first = write(tmp_path, "dmy.csv", [header, "ev-d," + row.format(mail="m1")])
    month_first = write(tmp_path, "mdy.csv", [header, "ev-m," + row.format(mail="m2")])
    assert cli("import", "events", day_first, "--date-format", "dmy")[0] == 0
    assert cli("import", "events", month_first, "--date-format", "MDY")[0] == 0
    with cli.engine.connect() as conn:
        when = dict(conn.execute(select(Event.source_event_id, Event.occurred_at)).tuples().all())
    assert when == {
        "ev-d": datetime(2024, 3, 5, 1, 0, tzinfo=UTC),
        "ev-m": datetime(2024, 5, 3, 1, 0, tzinfo=UTC),
    }


def test_hostile_dates_are_quarantined_with_the_value_as_the_file_has_it(
    cli: Cli, tmp_path: Path
) -> None:
    cells = {
        "feb30@example.jp": "2024/02/30",
        "month13@example.jp": "2024/13/01",
        "mdy13@example.jp": "13/05/2024 10:00",
        "pm13@example.jp": "03/05/2024 13:00 PM",
        "am0@example.jp": "03/05/2024 0:30 AM",
        "hour24@example.jp": "2024/03/05 24:00",
        "sec61@example.jp": "2024/03/05 10:12:61",
        "wide@example.jp": "２０２４/03/05",
        "year24@example.jp": "0024/01/01",
        "formula@example.jp": "=NOW()",
        "twodigit@example.jp": "3/5/24",
        "midnight@example.jp": "03/05/2024 12:30 AM",
        "noon@example.jp": "03/05/2024 12:30 p.m.",
        "short@example.jp": "2024/3/5",
        "letter@example.jp": "2024/03/05T10:12",
        "iso@example.jp": "2024-03-05 10:12",
        "dots@example.jp": "05.03.2024",
    }
    lines = ["email,created_at", *(f"{email},{value}" for email, value in cells.items())]
    path = write(tmp_path, "contacts_dates.csv", lines)

    code, output = cli("import", "contacts", path, "--date-format", "mdy")
    assert code == 1, output  # 11 of 17 rows are bad
    assert "17 rows of contacts" in output
    assert "landed: 6 inserted, 0 updated, 0 unchanged" in output
    assert "quarantined: 11 rows" in output
    reasons = {value: reason for _, field, value, reason in quarantined(cli)}
    assert set(reasons) == set(list(cells.values())[:11])
    assert {field for _, field, _, _ in quarantined(cli)} == {"created_at"}
    # A real date in a year nobody means is out of range, as an ISO one would be.
    assert reasons.pop("0024/01/01").startswith("out of range: the year must be between")
    # Read as a date or a time that is not on the calendar or the clock: said so, no hint.
    dates = ("2024/02/30", "2024/13/01", "13/05/2024 10:00")
    assert all(reasons.pop(v).startswith("the date does not exist") for v in dates)
    times = ("03/05/2024 13:00 PM", "03/05/2024 0:30 AM", "2024/03/05 24:00", "2024/03/05 10:12:61")
    assert all(reasons.pop(v).startswith("the time does not exist") for v in times)
    assert set(reasons) == {"２０２４/03/05", "=NOW()", "3/5/24"}
    assert all(reason.startswith("not an ISO 8601 timestamp") for reason in reasons.values())
    assert all("--date-format mdy reads it" in reason for reason in reasons.values())
    assert created(cli) == {
        "midnight@example.jp": datetime(2024, 3, 4, 15, 30, tzinfo=UTC),
        "noon@example.jp": datetime(2024, 3, 5, 3, 30, tzinfo=UTC),
        "short@example.jp": datetime(2024, 3, 4, 15, 0, tzinfo=UTC),
        "letter@example.jp": datetime(2024, 3, 5, 1, 12, tzinfo=UTC),
        "iso@example.jp": datetime(2024, 3, 5, 1, 12, tzinfo=UTC),
        "dots@example.jp": datetime(2024, 5, 2, 15, 0, tzinfo=UTC),
    }


def test_a_future_stage_date_in_slash_form_is_reported_as_written(
    cli: Cli, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "future.csv",
        ["email,lifecycle_stage,became_mql_at", "soon@example.jp,mql,2199/01/01 10:00"],
    )
    code, _ = cli("import", "contacts", path)
    assert code == 1
    ((row, field, value, reason),) = quarantined(cli)
    assert (row, field, value) == (2, "became_mql_at", "2199/01/01 10:00")
    assert reason.startswith("in the future: after the time of the import")


def test_an_unknown_date_format_is_one_clear_error(cli: Cli) -> None:
    code, output = cli("import", "contacts", HUBSPOT_US, "--date-format", "ymd")
    assert code == 1
    assert "--date-format 'ymd': use dmy (31/12/2026) or mdy (12/31/2026)" in output
    assert created(cli) == {}
