"""`leadflow export contacts|companies|deals --hubspot`: files HubSpot's importer takes as
they are; without --hubspot, leadflow's own columns that its importer reads back."""

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.tables import Base, Company, Contact, Deal
from tasks.imports import ImportKind, import_file
from tests.support.seeding import Seeder

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
TOKYO = ZoneInfo("Asia/Tokyo")
CREATED = datetime(2026, 2, 1, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
MQL_AT = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo

CONTACT_HEADER = [
    "Record ID", "Email", "First Name", "Last Name", "Company Name", "Job Title", "Industry",
    "Number of Employees", "State/Region", "Time Zone", "Lifecycle Stage", "Lead Status",
    "Contact owner", "Create Date", "Became a Subscriber Date", "Became a Lead Date",
    "Became a Marketing Qualified Lead Date", "Became a Sales Qualified Lead Date",
    "Became an Opportunity Date", "Became a Customer Date", "Became an Evangelist Date",
    "Became a Other Lifecycle Date", "leadflow Score",
]
COMPANY_HEADER = [
    "Record ID", "Company name", "Company Domain Name", "Industry", "Number of Employees",
    "State/Region", "Lifecycle Stage", "Create Date",
]
DEAL_HEADER = [
    "Record ID", "Deal Name", "Pipeline", "Deal Stage", "Amount", "Close Date", "Create Date",
    "Closed Lost Reason", "Associated Contact IDs", "Associated Company IDs", "Email",
    "Company Domain Name", "leadflow Deal ID",
]


def export(tmp_path: Path, kind: str, *options: str) -> tuple[list[str], list[dict[str, str]]]:
    """Run `leadflow export KIND -o FILE [options]`; the header and the rows read back."""
    _register_commands()
    output = tmp_path / f"{kind}.csv"
    result = CliRunner().invoke(app, ["export", kind, "-o", str(output), *options])
    assert result.exit_code == 0, result.output + repr(result.exception)
    with output.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def by(rows: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    return {row[key]: row for row in rows}


@pytest.fixture
def world(seed: Seeder, settings: Settings, use_settings: Callable[[Settings], Settings]) -> None:
    """Contacts from HubSpot (record ids, the values HubSpot sent) and born in leadflow."""
    use_settings(settings)
    owner = seed.owner(email="is@example.com")
    acme = seed.company(
        domain="acme.co.jp", name="株式会社アクメ", industry="Computer Software",
        employee_count=1200, region="Tokyo", lifecycle_stage="sql",
    )
    seed.company(domain="globex.com", name="Globex", industry="it")
    hanako = seed.contact(
        email="hanako@acme.co.jp", hubspot_id="101", first_name="花子", last_name="高橋",
        company_id=acme, job_title="営業部長", industry="Machinery", employee_count=1200,
        region="Tokyo", timezone="Asia/Tokyo", lifecycle_stage="mql", lead_status="connected",
        hubspot_lifecycle_stage="Marketing Qualified Lead", hubspot_lifecycle_stage_as="mql",
        hubspot_lead_status="In Progress", hubspot_lead_status_as="connected",
        owner_id=owner, score=55, created_at=CREATED,
    )
    for from_stage, to_stage, at in ((None, "lead", CREATED), ("lead", "mql", MQL_AT)):
        seed.stage_change(
            contact_id=hanako, from_stage=from_stage, to_stage=to_stage, at=at, rule="import"
        )
    seed.contact(
        email="ichiro@acme.co.jp", hubspot_id="102", company_id=acme, lifecycle_stage="mql",
        lead_status="connected", hubspot_lead_status="CONNECTED",
        hubspot_lead_status_as="connected",
    )
    # Imported as IN_PROGRESS and Trial; leadflow has moved both on since.
    seed.contact(
        email="ken@acme.co.jp", hubspot_id="103", lifecycle_stage="sql",
        lead_status="sales_ready", hubspot_lead_status="IN_PROGRESS",
        hubspot_lead_status_as="connected", hubspot_lifecycle_stage="Trial",
        hubspot_lifecycle_stage_as="mql",
    )
    seed.contact(
        email="misaki@sakura-soft.jp", hubspot_id="104", lifecycle_stage="mql",
        hubspot_lifecycle_stage="Trial", hubspot_lifecycle_stage_as="mql",
        hubspot_lead_status="Nurturing",
    )
    for status in ("new", "attempting", "retry", "recycle", "unqualified"):
        seed.contact(email=f"{status}@example.com", lifecycle_stage="lead", lead_status=status)
    seed.contact(email="renurture@example.com", lifecycle_stage="lost_renurture")


@pytest.mark.usefixtures("world")
def test_the_contacts_export_for_hubspot_has_hubspots_labels_as_its_header(
    tmp_path: Path,
) -> None:
    header, rows = export(tmp_path, "contacts", "--hubspot")

    assert header == CONTACT_HEADER
    assert len(rows) == 10


@pytest.mark.usefixtures("world")
def test_leadflow_stages_and_statuses_are_written_as_hubspots_internal_values(
    tmp_path: Path,
) -> None:
    rows = by(export(tmp_path, "contacts", "--hubspot")[1], "Email")

    statuses = {email: row["Lead Status"] for email, row in rows.items() if "@example" in email}
    assert statuses == {
        "new@example.com": "NEW",
        "attempting@example.com": "ATTEMPTED_TO_CONTACT",
        "retry@example.com": "BAD_TIMING",
        "recycle@example.com": "OPEN",
        "unqualified@example.com": "UNQUALIFIED",
        "renurture@example.com": "",
    }
    assert rows["new@example.com"]["Lifecycle Stage"] == "lead"
    assert rows["hanako@acme.co.jp"]["Lifecycle Stage"] == "marketingqualifiedlead"
    # HubSpot has no lost_renurture stage: an empty cell leaves HubSpot's stage as it is.
    assert rows["renurture@example.com"]["Lifecycle Stage"] == ""


@pytest.mark.usefixtures("world")
def test_in_progress_and_connected_from_hubspot_come_back_as_themselves(
    tmp_path: Path,
) -> None:
    rows = by(export(tmp_path, "contacts", "--hubspot")[1], "Email")

    assert rows["hanako@acme.co.jp"]["Lead Status"] == "IN_PROGRESS"
    assert rows["ichiro@acme.co.jp"]["Lead Status"] == "CONNECTED"
    # A status HubSpot sent that leadflow does not know goes back as the portal wrote it.
    assert rows["misaki@sakura-soft.jp"]["Lead Status"] == "Nurturing"


@pytest.mark.usefixtures("world")
def test_once_leadflow_moved_a_contact_its_own_stage_and_status_are_mapped(
    tmp_path: Path,
) -> None:
    rows = by(export(tmp_path, "contacts", "--hubspot")[1], "Email")

    assert rows["ken@acme.co.jp"]["Lead Status"] == "OPEN_DEAL"
    assert rows["ken@acme.co.jp"]["Lifecycle Stage"] == "salesqualifiedlead"
    # Still in the stage its custom stage was mapped to: the custom stage goes back.
    assert rows["misaki@sakura-soft.jp"]["Lifecycle Stage"] == "Trial"


@pytest.mark.usefixtures("world")
def test_leadflow_born_contacts_have_an_empty_record_id_and_hubspots_keep_theirs(
    tmp_path: Path,
) -> None:
    rows = by(export(tmp_path, "contacts", "--hubspot")[1], "Email")

    assert rows["new@example.com"]["Record ID"] == ""
    assert rows["hanako@acme.co.jp"]["Record ID"] == "101"


@pytest.mark.usefixtures("world")
def test_a_hubspot_contact_row_carries_its_attributes_owner_times_and_score(
    tmp_path: Path,
) -> None:
    hanako = by(export(tmp_path, "contacts", "--hubspot")[1], "Email")["hanako@acme.co.jp"]

    assert hanako == {
        "Record ID": "101", "Email": "hanako@acme.co.jp", "First Name": "花子",
        "Last Name": "高橋", "Company Name": "株式会社アクメ", "Job Title": "営業部長",
        "Industry": "Machinery", "Number of Employees": "1200", "State/Region": "Tokyo",
        "Time Zone": "asia_slash_tokyo", "Lifecycle Stage": "marketingqualifiedlead",
        "Lead Status": "IN_PROGRESS", "Contact owner": "is@example.com",
        "Create Date": "2026-02-01 09:30", "Became a Subscriber Date": "",
        "Became a Lead Date": "2026-02-01 09:30",
        "Became a Marketing Qualified Lead Date": "2026-03-10 10:00",
        "Became a Sales Qualified Lead Date": "", "Became an Opportunity Date": "",
        "Became a Customer Date": "", "Became an Evangelist Date": "",
        "Became a Other Lifecycle Date": "", "leadflow Score": "55",
    }


@pytest.mark.usefixtures("world")
def test_a_rules_file_can_send_recycle_to_a_portals_own_lead_status(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    assert "    recycle: OPEN\n" in text
    rules.write_text(text.replace("    recycle: OPEN\n", "    recycle: RECYCLED\n"), "utf-8")

    rows = by(export(tmp_path, "contacts", "--hubspot", "--rules", str(rules))[1], "Email")

    assert rows["recycle@example.com"]["Lead Status"] == "RECYCLED"


@pytest.mark.usefixtures("world")
def test_the_companies_export_for_hubspot_writes_industries_as_hubspots_values(
    tmp_path: Path,
) -> None:
    header, rows = export(tmp_path, "companies", "--hubspot")

    assert header == COMPANY_HEADER
    companies = by(rows, "Company Domain Name")
    assert companies["acme.co.jp"] == {
        "Record ID": "", "Company name": "株式会社アクメ", "Company Domain Name": "acme.co.jp",
        "Industry": "COMPUTER_SOFTWARE", "Number of Employees": "1200",
        "State/Region": "Tokyo", "Lifecycle Stage": "salesqualifiedlead",
        "Create Date": "2026-01-01 09:00",
    }
    # "it" is leadflow's word, not one of HubSpot's industries: left for HubSpot to keep.
    assert companies["globex.com"]["Industry"] == ""


@pytest.fixture
def deals(world: None, seed: Seeder, engine: Engine) -> None:
    """A won deal from HubSpot (record id 9001), a lost and an open one born in leadflow."""
    with engine.connect() as conn:
        ids = {email: i for email, i in conn.execute(select(Contact.email, Contact.id))}
        acme = conn.execute(select(Company.id).where(Company.domain == "acme.co.jp")).scalar_one()
    won = seed.deal(
        contact_id=ids["hanako@acme.co.jp"], company_id=acme, stage="won", name="Acme rollout",
        amount=1200000.0, closed_at=datetime(2026, 4, 1, 6, 0, tzinfo=UTC),
    )
    with engine.begin() as conn:
        conn.execute(update(Deal).where(Deal.id == won).values(source_deal_id="9001"))
    seed.deal(
        contact_id=ids["new@example.com"], stage="lost", name="=HYPERLINK(\"x\")",
        amount=1234.5, closed_at=datetime(2026, 4, 2, 6, 0, tzinfo=UTC), lost_reason="budget",
    )
    seed.deal(contact_id=None, company_id=acme, stage="value_agreed", name="Acme phase 2")


@pytest.mark.usefixtures("deals")
def test_the_deals_export_for_hubspot_writes_stage_ids_pipeline_and_associations(
    tmp_path: Path,
) -> None:
    header, rows = export(tmp_path, "deals", "--hubspot", "--pipeline", "12345")

    assert header == DEAL_HEADER
    deals = by(rows, "leadflow Deal ID")
    assert deals["9001"] == {
        "Record ID": "9001", "Deal Name": "Acme rollout", "Pipeline": "12345",
        "Deal Stage": "closedwon", "Amount": "1200000", "Close Date": "2026-04-01 15:00",
        "Create Date": "2026-01-01 09:00", "Closed Lost Reason": "",
        "Associated Contact IDs": "101", "Associated Company IDs": "", "Email": "hanako@acme.co.jp",
        "Company Domain Name": "acme.co.jp", "leadflow Deal ID": "9001",
    }
    lost = next(row for row in rows if row["Deal Stage"] == "closedlost")
    assert (lost["Record ID"], lost["Amount"]) == ("", "1234.5")
    assert lost["Closed Lost Reason"] == "budget"
    assert (lost["Associated Contact IDs"], lost["Email"]) == ("", "new@example.com")
    open_deal = next(row for row in rows if row["Deal Name"] == "Acme phase 2")
    assert (open_deal["Deal Stage"], open_deal["Email"]) == ("value_agreed", "")


@pytest.mark.usefixtures("deals")
def test_every_hubspot_export_writes_hostile_text_as_text(
    tmp_path: Path, seed: Seeder
) -> None:
    seed.contact(email="x@example.com", job_title="=cmd|' /C calc'!A0", first_name="+1",
                 score=-5)
    seed.company(domain="evil.example", name="@SUM(1+1)")

    contact = by(export(tmp_path, "contacts", "--hubspot")[1], "Email")["x@example.com"]
    company = by(export(tmp_path, "companies", "--hubspot")[1], "Company Domain Name")
    deals = export(tmp_path, "deals", "--hubspot")[1]
    deal = next(row for row in deals if row["Deal Stage"] == "closedlost")

    assert (contact["Job Title"], contact["First Name"]) == ("'=cmd|' /C calc'!A0", "'+1")
    assert contact["leadflow Score"] == "-5"
    assert company["evil.example"]["Company name"] == "'@SUM(1+1)"
    assert deal["Deal Name"] == "'=HYPERLINK(\"x\")"


def _import(engine: Engine, kind: ImportKind, path: Path, now: datetime) -> tuple[int, int, int]:
    summary = import_file(
        engine, kind=kind, path=path, naive_tz=TOKYO, now=now, max_bad_row_share=1.0
    )
    return summary.inserted, summary.updated, summary.quarantined_rows


def test_leadflows_own_exports_are_read_back_by_its_importer_unchanged(
    engine: Engine, settings: Settings, use_settings: Callable[[Settings], Settings],
    tmp_path: Path,
) -> None:
    use_settings(settings)
    first = datetime(2026, 5, 1, 3, tzinfo=UTC)
    for kind in ("owners", "companies", "contacts", "deals"):
        _import(engine, kind, FIXTURES / f"{kind}.csv", first)  # type: ignore[arg-type]
    with engine.connect() as conn:
        before = {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
                  for t in Base.metadata.sorted_tables}
    files = {kind: tmp_path / kind for kind in ("companies", "contacts", "deals")}
    for kind, folder in files.items():
        folder.mkdir()
        assert export(folder, kind)[1], kind

    later = datetime(2026, 5, 2, 3, tzinfo=UTC)
    for kind in ("companies", "contacts", "deals"):
        landed = _import(engine, kind, files[kind] / f"{kind}.csv", later)  # type: ignore[arg-type]
        assert landed == (0, 0, 0), kind
    with engine.connect() as conn:
        after = {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
                 for t in Base.metadata.sorted_tables}
    assert after == before
