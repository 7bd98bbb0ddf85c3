"""Issue 12, item 6: a HubSpot export → import → export --hubspot → import again changes
nothing, and what HubSpot sent that leadflow models comes back with the same value."""

import csv
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.db import make_engine
from leadflow.settings import Settings
from models.tables import Base, Company, Contact, LeadStatusHistory, Owner, StageHistory
from tasks.imports import ImportKind, ImportSummary, import_file, parse_stage_map

FIXTURES = Path(__file__).parents[1] / "fixtures"
HUBSPOT_FILE = FIXTURES / "export" / "hubspot_contacts_round_trip.csv"
OWNERS = FIXTURES / "import" / "owners.csv"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
STAGE_MAP = ["Trial=mql"]
# What leadflow models of a contact, compared between a database that imported HubSpot's
# file and one that imported leadflow's export of it. The values as HubSpot spelt them
# (hubspot_lifecycle_stage, hubspot_lead_status) differ in spelling between the two and are
# checked by test_in_progress_open_a_custom_stage_and_an_unknown_status_come_back_as_sent.
MODELLED = [
    "hubspot_id", "first_name", "last_name", "job_title", "industry", "employee_count",
    "region", "lead_source", "consent", "timezone", "created_at", "lifecycle_stage",
    "lead_status", "hubspot_lifecycle_stage_as", "hubspot_lead_status_as", "updated_at",
]


def run(engine: Engine, kind: ImportKind, path: Path, *, now: datetime = NOW) -> ImportSummary:
    return import_file(
        engine, kind=kind, path=path, naive_tz=TOKYO, now=now,
        stage_map=parse_stage_map(STAGE_MAP), max_bad_row_share=0.2,
    )


def export_hubspot(tmp_path: Path, name: str) -> Path:
    """`leadflow export contacts --hubspot` on the configured database."""
    _register_commands()
    output = tmp_path / name
    result = CliRunner().invoke(app, ["export", "contacts", "--hubspot", "-o", str(output)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return output


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return {row["Email"]: row for row in csv.DictReader(handle)}


def whole_database(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def modelled_contacts(engine: Engine) -> dict[str, dict[str, Any]]:
    """Per email: the modelled columns, owner, company, stage and lead-status history."""
    with engine.connect() as conn:
        modelled = [getattr(Contact, column) for column in MODELLED]
        rows = conn.execute(
            select(Contact.email, Owner.email, Company.domain, Company.name, *modelled)
            .outerjoin(Owner, Owner.id == Contact.owner_id)
            .outerjoin(Company, Company.id == Contact.company_id)
        ).all()
        stages = conn.execute(
            select(Contact.email, StageHistory.from_stage, StageHistory.to_stage, StageHistory.at)
            .join(StageHistory, StageHistory.contact_id == Contact.id)
        ).all()
        statuses = conn.execute(
            select(Contact.email, LeadStatusHistory.from_status, LeadStatusHistory.to_status)
            .join(LeadStatusHistory, LeadStatusHistory.contact_id == Contact.id)
        ).all()
    out: dict[str, dict[str, Any]] = {}
    for email, owner, domain, company, *values in rows:
        out[email] = {
            **dict(zip(MODELLED, values, strict=True)),
            "owner": owner,
            "company": (domain, company),
            "stages": [],
            "statuses": [],
        }
    for email, *move in stages:
        out[email]["stages"].append(tuple(move))
    for email, *move in statuses:
        out[email]["statuses"].append(tuple(move))
    for values in out.values():
        values["stages"].sort(key=repr)
        values["statuses"].sort(key=repr)
    return out


@pytest.fixture
def imported(
    engine: Engine, settings: Settings, use_settings: Callable[[Settings], Settings]
) -> Engine:
    """The HubSpot file imported (with its owners); the CLI points at the same database."""
    use_settings(settings)
    run(engine, "owners", OWNERS)
    summary = run(engine, "contacts", HUBSPOT_FILE)
    assert (summary.inserted, summary.quarantined_rows) == (9, 0), summary.lines()
    return engine


def test_importing_leadflows_hubspot_export_again_changes_nothing(
    imported: Engine, tmp_path: Path
) -> None:
    before = whole_database(imported)
    exported = export_hubspot(tmp_path, "contacts.csv")

    summary = run(imported, "contacts", exported, now=NOW + timedelta(hours=1))

    assert summary.hubspot
    assert (summary.rows, summary.inserted, summary.updated) == (9, 0, 0), summary.lines()
    assert summary.quarantined_rows == 0
    assert whole_database(imported) == before
    # And the export of the re-imported data is the same file.
    assert read_rows(export_hubspot(tmp_path, "again.csv")) == read_rows(exported)


def test_the_export_lands_in_a_fresh_database_exactly_as_hubspots_file_did(
    imported: Engine, tmp_path: Path, sqlite_template: Path
) -> None:
    exported = export_hubspot(tmp_path, "contacts.csv")
    fresh_path = tmp_path / "fresh.db"
    shutil.copyfile(sqlite_template, fresh_path)
    fresh = make_engine(f"sqlite:///{fresh_path}")
    try:
        run(fresh, "owners", OWNERS)
        summary = run(fresh, "contacts", exported)
        assert (summary.inserted, summary.quarantined_rows) == (9, 0), summary.lines()
        assert modelled_contacts(fresh) == modelled_contacts(imported)
    finally:
        fresh.dispose()


def test_every_column_hubspot_sent_that_leadflow_models_comes_back_with_its_value(
    imported: Engine, tmp_path: Path
) -> None:
    sent = read_rows(HUBSPOT_FILE)
    back = read_rows(export_hubspot(tmp_path, "contacts.csv"))

    assert sorted(back) == sorted(sent)
    same = [
        "Record ID", "First Name", "Last Name", "Company Name", "Job Title", "Industry",
        "State/Region", "Create Date", "Became a Lead Date",
        "Became a Marketing Qualified Lead Date", "Became a Sales Qualified Lead Date",
        "Became an Opportunity Date", "Became a Customer Date", "Became a Other Lifecycle Date",
    ]
    for email, row in sent.items():
        assert {c: back[email][c] for c in same} == {c: row[c] for c in same}, email
        employees = row["Number of Employees"].replace(",", "")
        assert back[email]["Number of Employees"] == employees, email
    owners = {"山田 太郎": "yamada@example.co.jp", "佐藤一郎": "sato@example.co.jp"}
    for email, row in sent.items():
        owner = row["Contact owner"]
        assert back[email]["Contact owner"] == owners.get(owner, owner), email
    assert back["hanako@acme.co.jp"]["Time Zone"] == "asia_slash_tokyo"
    assert back["emily@globex.com"]["Time Zone"] == "america_slash_los_angeles"
    stages = {email: row["Lifecycle Stage"] for email, row in back.items()}
    assert stages["ichiro@hikari-denki.co.jp"] == "salesqualifiedlead"
    assert stages["ken@hikari-denki.co.jp"] == "lead"
    assert stages["taichi@competitor.example"] == "other"
    statuses = {email: row["Lead Status"] for email, row in back.items()}
    assert statuses["ichiro@hikari-denki.co.jp"] == "CONNECTED"
    assert statuses["ken@hikari-denki.co.jp"] == "ATTEMPTED_TO_CONTACT"
    assert statuses["sakura@acme.co.jp"] == "BAD_TIMING"
    assert statuses["taichi@competitor.example"] == "UNQUALIFIED"


def test_in_progress_open_a_custom_stage_and_an_unknown_status_come_back_as_sent(
    imported: Engine, tmp_path: Path
) -> None:
    back = read_rows(export_hubspot(tmp_path, "contacts.csv"))

    assert back["hanako@acme.co.jp"]["Lead Status"] == "IN_PROGRESS"
    assert back["john@initech.jp"]["Lead Status"] == "OPEN"
    assert back["mari@newco.jp"]["Lead Status"] == "Nurturing"
    assert back["misaki@sakura-soft.jp"]["Lifecycle Stage"] == "Trial"
