"""Read and validate beats of the importer: pure functions over files and frames."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from models.enums import Stage
from tasks.imports import ImportFileError, ImportKind, parse_stage_map
from tasks.imports.columns import is_hubspot_export, layout_for
from tasks.imports.convert import parse_timestamps
from tasks.imports.normalise import map_stage_names
from tasks.imports.prepare import Prepared, prepare_rows, unknown_stages
from tasks.imports.read import iter_csv_chunks, read_header

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
TOKYO = ZoneInfo("Asia/Tokyo")


def prepare(path: Path, kind: ImportKind, stage_map: dict[str, Stage] | None = None) -> Prepared:
    layout = layout_for(read_header(path), kind=kind, source=str(path))
    (chunk,) = iter_csv_chunks(path, layout=layout)
    return prepare_rows(chunk, layout=layout, naive_tz=TOKYO, stage_map=stage_map or {})


def write(tmp_path: Path, text: str, *, name: str = "file.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_naive_timestamps_are_read_in_asia_tokyo_and_returned_in_utc() -> None:
    values = pd.Series(["2026-04-01 09:30", "2026-04-01", "2026-04-01T09:30:15.5"], dtype="str")
    parsed = parse_timestamps(values, naive_tz=TOKYO)
    assert parsed.tolist() == [
        datetime(2026, 4, 1, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 31, 15, 0, tzinfo=UTC),
        datetime(2026, 4, 1, 0, 30, 15, 500000, tzinfo=UTC),
    ]


def test_timestamps_with_an_offset_keep_their_instant_whatever_the_business_zone() -> None:
    values = pd.Series(["2026-04-01T09:30:00+09:00", "2026-04-01T00:30:00Z", None], dtype="str")
    parsed = parse_timestamps(values, naive_tz=TOKYO)
    assert parsed.iloc[0] == parsed.iloc[1] == datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
    assert pd.isna(parsed.iloc[2])


def test_hubspot_internal_names_display_labels_and_leadflow_names_map_to_one_stage() -> None:
    names = pd.Series(
        ["marketingqualifiedlead", "Marketing Qualified Lead", "MQL", "salesqualifiedlead"],
        dtype="str",
    )
    assert map_stage_names(names, {}).tolist() == ["mql", "mql", "mql", "sql"]


def test_a_stage_map_entry_maps_a_custom_stage_and_unknown_ones_stay_as_written() -> None:
    mapping = parse_stage_map(["Trial=marketingqualifiedlead", "商談中=sql"])
    names = pd.Series(["trial", "商談中", "Onboarding"], dtype="str")
    assert map_stage_names(names, mapping).tolist() == ["mql", "sql", "Onboarding"]


def test_a_stage_map_with_an_unknown_target_names_the_entry() -> None:
    with pytest.raises(ValueError, match=r"--stage-map 'Trial=hot': 'hot' is not a stage"):
        parse_stage_map(["Trial=hot"])


def test_a_hubspot_export_is_recognised_by_its_display_labels() -> None:
    assert is_hubspot_export(read_header(FIXTURES / "hubspot_contacts.csv"))
    assert not is_hubspot_export(read_header(FIXTURES / "contacts.csv"))


def test_hubspot_export_columns_map_and_extra_columns_are_ignored() -> None:
    layout = layout_for(
        read_header(FIXTURES / "hubspot_contacts.csv"), kind="contacts", source="hs.csv"
    )
    assert layout.hubspot
    assert layout.label("lifecycle_stage") == "Lifecycle Stage"
    assert layout.label("hubspot_id") == "Record ID"
    assert "Phone Number" in layout.ignored


def test_an_unknown_custom_stage_is_quarantined_with_a_reason_that_says_how_to_map_it() -> None:
    prepared = prepare(FIXTURES / "hubspot_contacts.csv", "contacts")
    (record,) = prepared.quarantine.to_dict("records")
    assert record["row_number"] == 4
    assert record["field"] == "Lifecycle Stage"
    assert record["value"] == "トライアル中"
    assert "unknown lifecycle stage 'トライアル中'" in record["reason"]
    assert "--stage-map 'トライアル中=<stage>'" in record["reason"]
    assert unknown_stages(prepared.quarantine) == {"トライアル中": 1}
    assert len(prepared.rows) == 4


def test_a_mapped_custom_stage_lands_with_the_mapped_stage() -> None:
    prepared = prepare(
        FIXTURES / "hubspot_contacts.csv", "contacts", parse_stage_map(["トライアル中=lead"])
    )
    assert prepared.quarantine.empty
    stages = dict(zip(prepared.rows["email"], prepared.rows["lifecycle_stage"], strict=True))
    assert stages["misaki@sakura-soft.jp"] == "lead"
    assert stages["hanako@acme.co.jp"] == "mql"
    assert stages["ken.kobayashi@hikari-denki.co.jp"] == "sql"


def test_hubspot_lead_statuses_map_by_internal_name_and_by_label() -> None:
    prepared = prepare(FIXTURES / "hubspot_contacts.csv", "contacts")
    statuses = dict(zip(prepared.rows["email"], prepared.rows["lead_status"], strict=True))
    assert statuses["hanako@acme.co.jp"] == "connected"
    assert statuses["ichiro.sasaki@hikari-denki.co.jp"] == "new"
    assert statuses["ken.kobayashi@hikari-denki.co.jp"] == "attempting"
    assert statuses["emily@globex.com"] == "sales_ready"


def test_line_numbers_count_the_header_as_line_one_and_follow_cells_that_span_lines() -> None:
    prepared = prepare(FIXTURES / "activities.csv", "activities")
    assert prepared.rows["line"].tolist() == [2, 3, 5, 6]
    assert prepared.quarantine.to_dict("records") == [
        {
            "row_number": 7,
            "field": "type",
            "value": "visit",
            "reason": "must be one of call, email, meeting",
        }
    ]


def test_every_bad_cell_of_a_malformed_file_is_reported_with_its_line_and_field() -> None:
    prepared = prepare(FIXTURES / "events_malformed.csv", "events")
    found = {(r["row_number"], r["field"]) for r in prepared.quarantine.to_dict("records")}
    assert found == {
        (3, "type"),
        (4, "email"),
        (5, "occurred_at"),
        (7, "event_id"),
        (8, "detail"),
        (9, "*"),
    }
    assert prepared.total == 10
    assert prepared.rows["event_id"].tolist() == ["ev-10", "ev-14", "ev-18", "ev-19"]


def test_a_record_with_too_many_fields_is_quarantined_as_a_whole_row(tmp_path: Path) -> None:
    path = write(tmp_path, "domain,name\nacme.co.jp,Acme,extra\nglobex.com,Globex\n")
    prepared = prepare(path, "companies")
    (record,) = prepared.quarantine.to_dict("records")
    assert record["row_number"] == 2
    assert record["field"] == "*"
    assert record["reason"] == "has 3 fields, the header has 2"
    assert prepared.rows["domain"].tolist() == ["globex.com"]


def test_a_key_twice_in_one_file_quarantines_the_later_row(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\na@x.jp,A\nb@x.jp,B\nA@X.jp,A2\n")
    prepared = prepare(path, "owners")
    (record,) = prepared.quarantine.to_dict("records")
    assert record["row_number"] == 4
    assert record["reason"] == "duplicate email in this file (first on line 2)"


def test_page_view_and_form_submit_details_must_come_from_their_vocabulary(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "event_id,email,type,detail,occurred_at\n"
        "e1,a@x.jp,page_view,Case Study,2026-04-01\n"
        "e2,a@x.jp,page_view,careers,2026-04-01\n"
        "e3,a@x.jp,form_submit,Demo-Request,2026-04-01\n"
        "e4,a@x.jp,email_open,,2026-04-01\n",
    )
    prepared = prepare(path, "events")
    assert prepared.rows["detail"].tolist() == ["case_study", "demo_request"]
    reasons = dict(
        zip(prepared.quarantine["row_number"], prepared.quarantine["reason"], strict=True)
    )
    assert reasons[3].startswith("a page_view's detail must be a page category")
    assert reasons[5] == "is required"


def test_owner_values_are_checked_and_folded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,team,active,weight\nA@X.JP,IS,Yes,2\nb@x.jp,sales,maybe,0\n",
    )
    prepared = prepare(path, "owners")
    row = prepared.rows.iloc[0]
    assert (row["email"], row["team"], bool(row["active"]), row["weight"]) == (
        "a@x.jp",
        "is",
        True,
        2.0,
    )
    fields = sorted(prepared.quarantine["field"])
    assert fields == ["active", "team", "weight"]


def test_a_missing_required_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, "email,type,detail,occurred_at\na@x.jp,email_open,m1,2026-04-01\n")
    with pytest.raises(ImportFileError, match=r"file\.csv: missing required column 'event_id'"):
        layout_for(read_header(path), kind="events", source=str(path))


def test_a_hubspot_export_without_email_names_the_email_label(tmp_path: Path) -> None:
    path = write(tmp_path, "Record ID,First Name\n1,花子\n")
    with pytest.raises(ImportFileError, match="missing required column 'Email'"):
        layout_for(read_header(path), kind="contacts", source=str(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match=r"nope\.csv: no such file"):
        read_header(tmp_path / "nope.csv")


def test_a_shift_jis_file_from_excel_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "domain,name\r\nacme.co.jp,株式会社アクメ\r\n",
        encoding="cp932",
    )
    prepared = prepare(path, "companies")
    assert prepared.rows["name"].tolist() == ["株式会社アクメ"]
