"""leadflow's values as HubSpot's importer takes them (pure parts of the HubSpot export)."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from leadflow.paths import DEFAULT_RULES_PATH
from models.deal_rules import DealRules
from models.rules import RulesError, load_rules
from tasks.export.hubspot import CONTACT_HEADERS
from tasks.export.hubspot_industries import hubspot_industry
from tasks.export.hubspot_values import (
    deal_stage_ids,
    hubspot_lead_status,
    hubspot_stage,
    hubspot_time_zone,
    hubspot_times,
    record_id,
)
from tasks.imports.columns import layout_for

RULES = load_rules(DEFAULT_RULES_PATH)
STATUSES = RULES.lead_status.hubspot


def test_the_default_rules_give_every_lead_status_a_hubspot_value() -> None:
    assert {status.value: value for status, value in STATUSES.items()} == {
        "new": "NEW",
        "attempting": "ATTEMPTED_TO_CONTACT",
        "connected": "CONNECTED",
        "sales_ready": "OPEN_DEAL",
        "retry": "BAD_TIMING",
        "recycle": "OPEN",
        "unqualified": "UNQUALIFIED",
    }


def test_a_rules_file_whose_hubspot_map_misses_a_status_is_refused_naming_it(
    tmp_path: Path,
) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(text.replace("    recycle: OPEN\n", ""), encoding="utf-8")

    with pytest.raises(RulesError, match="hubspot must list every status; missing: recycle"):
        load_rules(rules)


@pytest.mark.parametrize(
    ("current", "sent", "sent_as", "expected"),
    [
        ("connected", "In Progress", "connected", "IN_PROGRESS"),
        ("connected", "IN_PROGRESS", "connected", "IN_PROGRESS"),
        ("connected", "Connected", "connected", "CONNECTED"),
        ("new", "Open", "new", "OPEN"),
        ("sales_ready", "IN_PROGRESS", "connected", "OPEN_DEAL"),  # leadflow moved it on
        (None, "Nurturing", None, "Nurturing"),  # the portal's own status, never mapped
        ("connected", "Nurturing", None, "CONNECTED"),
        ("sales_ready", "sales_ready", "sales_ready", "OPEN_DEAL"),  # a leadflow file
        ("connected", "BAD_TIMING", "connected", "CONNECTED"),  # inconsistent: not trusted
        ("retry", None, None, "BAD_TIMING"),
        (None, None, None, ""),
    ],
)
def test_a_lead_status_goes_back_as_hubspot_sent_it_while_it_still_holds(
    current: str | None, sent: str | None, sent_as: str | None, expected: str
) -> None:
    assert hubspot_lead_status(current, sent, sent_as, mapping=STATUSES) == expected


@pytest.mark.parametrize(
    ("current", "sent", "sent_as", "expected"),
    [
        ("mql", "Trial", "mql", "Trial"),
        ("sql", "Trial", "mql", "salesqualifiedlead"),
        ("mql", "Marketing Qualified Lead", "mql", "marketingqualifiedlead"),
        ("mql", "mql", "mql", "marketingqualifiedlead"),
        ("customer", None, None, "customer"),
        ("lost_renurture", None, None, ""),
        ("lost_renurture", "Recycled", "lost_renurture", "Recycled"),
    ],
)
def test_a_lifecycle_stage_goes_back_as_hubspot_sent_it_while_it_still_holds(
    current: str, sent: str | None, sent_as: str | None, expected: str
) -> None:
    assert hubspot_stage(current, sent, sent_as) == expected


def test_times_are_written_in_the_business_time_zone_to_the_minute() -> None:
    values = pd.Series([pd.Timestamp("2026-02-01T00:30:59Z"), None])

    written = hubspot_times(values, tz=ZoneInfo("Asia/Tokyo")).tolist()

    assert written == ["2026-02-01 09:30", ""]


def test_industries_are_hubspots_internal_values_when_hubspot_has_them() -> None:
    assert hubspot_industry("Information Technology and Services") == (
        "INFORMATION_TECHNOLOGY_AND_SERVICES"
    )
    assert hubspot_industry("Apparel & Fashion") == "APPAREL_FASHION"
    assert hubspot_industry("COMPUTER_SOFTWARE") == "COMPUTER_SOFTWARE"
    assert hubspot_industry("it") is None
    assert hubspot_industry("製造業") is None


def test_deal_stages_take_the_first_alias_the_rules_give_them() -> None:
    deals = DealRules(aliases={"closedwon": "won", "closedlost": "lost", "1234567": "paperwork",
                               "contractsent": "paperwork"})

    ids = deal_stage_ids(deals)

    assert (ids["won"], ids["lost"], ids["paperwork"]) == ("closedwon", "closedlost", "1234567")
    assert ids["value_agreed"] == "value_agreed"


def test_record_ids_are_hubspots_numbers_only_and_zones_hubspots_values() -> None:
    assert (record_id("9001"), record_id("deal-1"), record_id(None)) == ("9001", "", "")
    assert hubspot_time_zone("America/Los_Angeles") == "america_slash_los_angeles"
    assert hubspot_time_zone(None) == ""


def test_leadflows_importer_reads_every_column_of_the_hubspot_contacts_export() -> None:
    layout = layout_for(CONTACT_HEADERS, kind="contacts", source="export.csv")

    assert layout.hubspot
    assert layout.label("hubspot_id") == "Record ID"
    assert layout.label("owner") == "Contact owner"
    assert layout.label("became_mql_at") == "Became a Marketing Qualified Lead Date"
    # The score is leadflow's own; Time Zone is read once the importer knows the column.
    assert "leadflow Score" in layout.ignored
    assert set(layout.ignored) <= {"leadflow Score", "Time Zone"}
