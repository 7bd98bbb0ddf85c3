"""A HubSpot contacts file keeps each lifecycle stage and lead status as HubSpot wrote it,
with the leadflow value it was read as; `export --hubspot` sends it back while it holds.

Through the real `leadflow import contacts` and `leadflow export contacts --hubspot` on
SQLite and PostgreSQL.
"""

import csv
from pathlib import Path

from sqlalchemy import select

from models.tables import Contact
from tests.support.import_cli import OWNERS, Cli, cli, edited

__all__ = ["cli"]

ROUND_TRIP = Path(__file__).parents[1] / "fixtures" / "export" / "hubspot_contacts_round_trip.csv"
STAGE_MAP = ("--stage-map", "Trial=mql")
Sent = tuple[str | None, str | None, str | None, str | None]


def sent_values(cli: Cli) -> dict[str, Sent]:
    """Per email: (stage as sent, stage it became, status as sent, status it became)."""
    with cli.engine.connect() as conn:
        rows = conn.execute(
            select(
                Contact.email,
                Contact.hubspot_lifecycle_stage,
                Contact.hubspot_lifecycle_stage_as,
                Contact.hubspot_lead_status,
                Contact.hubspot_lead_status_as,
            )
        ).all()
    return {email: tuple(values) for email, *values in rows}


def ours(cli: Cli, email: str) -> tuple[str, str | None]:
    with cli.engine.connect() as conn:
        row = conn.execute(
            select(Contact.lifecycle_stage, Contact.lead_status).where(Contact.email == email)
        ).one()
    return row[0], row[1]


def import_contacts(cli: Cli, path: Path, *options: str) -> str:
    code, output = cli("import", "contacts", path, *STAGE_MAP, *options)
    assert code == 0, output
    return output


def export_hubspot(cli: Cli, tmp_path: Path) -> dict[str, dict[str, str]]:
    path = tmp_path / "exported.csv"
    code, output = cli("export", "contacts", "--hubspot", "-o", path)
    assert code == 0, output
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return {row["Email"]: row for row in csv.DictReader(handle)}


def imported(cli: Cli) -> str:
    assert cli("import", "owners", OWNERS)[0] == 0
    return import_contacts(cli, ROUND_TRIP)


def test_each_stage_and_status_is_kept_as_written_with_the_value_it_became(cli: Cli) -> None:
    output = imported(cli)

    assert "note: unknown lead status 'Nurturing' left empty (1 row)" in output
    sent = sent_values(cli)
    assert sent["hanako@acme.co.jp"] == (
        "marketingqualifiedlead", "mql", "IN_PROGRESS", "connected"
    )
    assert sent["ichiro@hikari-denki.co.jp"] == (
        "Sales Qualified Lead", "sql", "Connected", "connected"
    )
    # A custom stage with its --stage-map target; no lead status given.
    assert sent["misaki@sakura-soft.jp"] == ("Trial", "mql", None, None)
    assert sent["ken@hikari-denki.co.jp"] == ("Lead", "lead", "Attempted to contact", "attempting")
    assert sent["john@initech.jp"] == ("lead", "lead", "Open", "new")
    # An unknown status is kept as sent, and stands for no leadflow status.
    assert sent["mari@newco.jp"] == ("lead", "lead", "Nurturing", None)
    assert ours(cli, "mari@newco.jp") == ("lead", None)


def test_importing_the_same_file_again_changes_nothing(cli: Cli) -> None:
    imported(cli)
    before = sent_values(cli)

    output = import_contacts(cli, ROUND_TRIP)

    assert "landed: 0 inserted, 0 updated, 9 unchanged" in output
    assert sent_values(cli) == before


def test_a_blank_cell_or_the_same_value_spelt_otherwise_keeps_what_is_stored(
    cli: Cli, tmp_path: Path
) -> None:
    imported(cli)
    before = sent_values(cli)
    later = edited(
        ROUND_TRIP,
        tmp_path,
        ("marketingqualifiedlead,IN_PROGRESS,山田 太郎,2026-02-01", "marketingqualifiedlead,,"
         "山田 太郎,2026-02-01"),
        (",Lead,Attempted to contact,", ",LEAD,ATTEMPTED_TO_CONTACT,"),
        (",Trial,,", ",trial,,"),
    )

    output = import_contacts(cli, later)

    assert "landed: 0 inserted, 0 updated, 9 unchanged" in output
    assert sent_values(cli) == before


def test_a_later_file_replaces_the_pair_and_the_export_follows_leadflows_value(
    cli: Cli, tmp_path: Path
) -> None:
    imported(cli)
    later = edited(
        ROUND_TRIP,
        tmp_path,
        # A known status after an unknown one.
        (",lead,Nurturing,", ",lead,Bad Timing,"),
        # HubSpot moved the trial on; our stage follows (forward).
        (",Trial,,", ",Sales Qualified Lead,,"),
        # HubSpot moved hanako back to lead: our stage stays mql (forward only).
        ("marketingqualifiedlead,IN_PROGRESS,山田 太郎,2026-02-01",
         "lead,Nurturing,山田 太郎,2026-02-01"),
    )

    output = import_contacts(cli, later)

    assert "landed: 0 inserted, 3 updated, 6 unchanged" in output
    sent = sent_values(cli)
    assert sent["misaki@sakura-soft.jp"] == ("Sales Qualified Lead", "sql", None, None)
    assert sent["hanako@acme.co.jp"] == ("lead", "lead", "Nurturing", None)
    assert sent["mari@newco.jp"] == ("lead", "lead", "Bad Timing", "retry")
    assert ours(cli, "hanako@acme.co.jp") == ("mql", "connected")
    back = export_hubspot(cli, tmp_path)
    assert back["misaki@sakura-soft.jp"]["Lifecycle Stage"] == "salesqualifiedlead"
    # leadflow's stage and status no longer equal what the file's cells became: ours go out.
    assert back["hanako@acme.co.jp"]["Lifecycle Stage"] == "marketingqualifiedlead"
    assert back["hanako@acme.co.jp"]["Lead Status"] == "CONNECTED"
    assert back["mari@newco.jp"]["Lead Status"] == "BAD_TIMING"


def test_a_native_file_leaves_what_hubspot_sent_alone(cli: Cli, tmp_path: Path) -> None:
    imported(cli)
    before = sent_values(cli)
    native = tmp_path / "native.csv"
    native.write_text(
        "email,lifecycle_stage,lead_status\nhanako@acme.co.jp,sql,sales_ready\n", encoding="utf-8"
    )

    output = import_contacts(cli, native)

    assert "landed: 0 inserted, 1 updated, 0 unchanged" in output
    assert sent_values(cli) == before
    back = export_hubspot(cli, tmp_path)["hanako@acme.co.jp"]
    assert (back["Lifecycle Stage"], back["Lead Status"]) == ("salesqualifiedlead", "OPEN_DEAL")


def test_a_lead_status_longer_than_its_column_is_not_kept_and_the_summary_says_so(
    cli: Cli, tmp_path: Path
) -> None:
    long_status = "Waiting " * 20
    path = tmp_path / "hubspot_long_status.csv"
    path.write_text(
        "Record ID,Email,Lifecycle Stage,Lead Status\n"
        f"1,long@example.jp,lead,{long_status}\n"
        "2,short@example.jp,lead,In Progress\n",
        encoding="utf-8",
    )

    output = import_contacts(cli, path)

    assert "landed: 2 inserted, 0 updated, 0 unchanged" in output
    assert (
        "note: Lead Status 'Waiting Waiting Waiting Waiting Waiting…' is longer than 100 "
        "characters: not kept for export --hubspot (1 row)"
    ) in output
    sent = sent_values(cli)
    assert sent["long@example.jp"] == ("lead", "lead", None, None)
    assert sent["short@example.jp"] == ("lead", "lead", "In Progress", "connected")
