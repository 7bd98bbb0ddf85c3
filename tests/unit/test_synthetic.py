"""The synthetic dataset: deterministic, consistent, and shaped like real lead data."""

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from app.synthetic import SyntheticDataset, generate_dataset, write_csv
from models.enums import FORM_KINDS, PAGE_CATEGORIES, EventType, Team

END = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def dataset() -> SyntheticDataset:
    return generate_dataset(contacts=3000, events=90_000, days=180, end=END, seed=11)


def _behaviour_points(dataset: SyntheticDataset) -> pd.Series:
    """Default-rules behaviour points (DOMAIN.md), computed independently of the scorer."""
    events = dataset.events
    kind = events["type"].astype(str)
    detail = events["detail"].astype(str)
    recent = events["occurred_at"] > pd.Timestamp(dataset.end) - pd.Timedelta(days=30)

    def once(mask: pd.Series, points: int) -> pd.Series:
        return pd.Series(points, index=events.loc[mask, "contact_id"].unique())

    def per_detail(mask: pd.Series, points: int) -> pd.Series:
        return events.loc[mask].groupby("contact_id")["detail"].nunique() * points

    parts = [
        once((kind == "page_view") & (detail == "pricing") & recent, 10),
        once((kind == "page_view") & (detail == "case_study") & recent, 5),
        per_detail(kind == "email_open", 3),
        per_detail(kind == "email_click", 5),
        once((kind == "form_submit") & (detail == "document_download"), 15),
        once((kind == "form_submit") & (detail == "demo_request"), 25),
        per_detail(kind == "webinar_attended", 10),
        per_detail(kind == "trade_show_visit", 10),
    ]
    total = pd.Series(0, index=dataset.contacts["id"])
    for part in parts:
        total = total.add(part, fill_value=0)
    return total.clip(upper=80)


def test_the_same_seed_gives_the_same_dataset(dataset: SyntheticDataset) -> None:
    again = generate_dataset(contacts=3000, events=90_000, days=180, end=END, seed=11)
    pd.testing.assert_frame_equal(dataset.contacts, again.contacts)
    pd.testing.assert_frame_equal(dataset.events, again.events)
    pd.testing.assert_frame_equal(dataset.owners, again.owners)


def test_another_seed_gives_other_data(dataset: SyntheticDataset) -> None:
    other = generate_dataset(contacts=3000, events=90_000, days=180, end=END, seed=12)
    assert not dataset.contacts["email"].equals(other.contacts["email"])


def test_sizes_are_exactly_what_was_asked(dataset: SyntheticDataset) -> None:
    assert len(dataset.contacts) == 3000
    assert len(dataset.events) == 90_000
    assert set(dataset.events["contact_id"]) <= set(dataset.contacts["id"])
    assert set(dataset.contacts["company_id"]) <= set(dataset.companies["id"])


def test_events_fall_in_the_window_after_their_contact_was_created(
    dataset: SyntheticDataset,
) -> None:
    events = dataset.events
    assert events["occurred_at"].max() <= pd.Timestamp(END)
    assert events["occurred_at"].min() >= pd.Timestamp(END - timedelta(days=180))
    assert events["occurred_at"].is_monotonic_increasing
    created = dataset.contacts.set_index("id")["created_at"]
    assert (events["occurred_at"] >= created.reindex(events["contact_id"]).to_numpy()).all()


def test_contact_emails_are_unique_and_only_under_reserved_example_domains(
    dataset: SyntheticDataset,
) -> None:
    emails = dataset.contacts["email"]
    assert emails.is_unique
    assert emails.str.fullmatch(r"[a-z0-9.]+@[a-z0-9-]+\.example\.(jp|com)").all()
    assert dataset.companies["domain"].is_unique
    assert dataset.owners["email"].str.endswith("@example.co.jp").all()


def test_owners_cover_every_team_with_managers_slack_ids_and_one_inactive(
    dataset: SyntheticDataset,
) -> None:
    owners = dataset.owners
    assert set(owners["team"]) == {team.value for team in Team}
    assert owners["slack_user_id"].str.fullmatch(r"U[0-9A-Z]{8}").all()
    assert (~owners["active"]).sum() == 1
    managers = set(owners["manager_email"].dropna())
    assert managers and managers <= set(owners["email"])


def test_contacts_mix_japanese_and_english_names_titles_and_time_zones(
    dataset: SyntheticDataset,
) -> None:
    contacts = dataset.contacts
    japanese = contacts["last_name"].str.contains(r"[\u4e00-\u9fff]")
    assert 0.6 < japanese.mean() < 0.98
    titles = contacts["job_title"].dropna()
    for word in ("担当", "課長", "部長", "本部長", "代表取締役", "Manager", "CEO"):
        assert titles.str.contains(word, regex=False).any(), word
    assert (contacts["timezone"] == "Asia/Tokyo").mean() > 0.8
    assert contacts["timezone"].nunique() > 1
    assert set(contacts["lifecycle_stage"]) == {"lead", "subscriber"}
    assert 0.7 < contacts["consent"].mean() < 0.98
    counts = dataset.companies["employee_count"]
    assert counts.min() >= 1 and counts.max() > 20 * counts.median()


def test_event_details_use_the_shared_vocabularies(dataset: SyntheticDataset) -> None:
    events = dataset.events.assign(
        type=dataset.events["type"].astype(str), detail=dataset.events["detail"].astype(str)
    )
    assert set(events["type"]) == {kind.value for kind in EventType}
    by_type = events.groupby("type")["detail"]
    assert set(by_type.get_group("page_view")) == set(PAGE_CATEGORIES)
    assert set(by_type.get_group("form_submit")) == set(FORM_KINDS)
    emails = pd.concat([by_type.get_group("email_open"), by_type.get_group("email_click")])
    assert emails.str.fullmatch(r"(nl|cp)-\d{4}-\d{2}-\d{2}").all()
    assert by_type.get_group("webinar_attended").str.fullmatch(r"wb-\d{4}-\d{2}-\d{2}").all()
    assert by_type.get_group("trade_show_visit").str.fullmatch(r"ts-\d{4}-\d{2}-[a-z-]+").all()


def test_most_contacts_have_a_few_events_and_a_heavy_tail_has_many(
    dataset: SyntheticDataset,
) -> None:
    per_contact = dataset.events.groupby("contact_id").size()
    assert per_contact.median() <= 15
    assert per_contact.quantile(0.99) > 8 * per_contact.median()


def test_the_engaged_tail_crosses_the_mql_and_hot_thresholds_under_default_rules(
    dataset: SyntheticDataset,
) -> None:
    behaviour = _behaviour_points(dataset)
    assert behaviour.median() < 30
    assert 0.05 < (behaviour >= 50).mean() < 0.25
    assert (behaviour >= 70).mean() > 0.02


def test_some_contacts_open_the_same_email_more_than_once(dataset: SyntheticDataset) -> None:
    opens = dataset.events[dataset.events["type"] == "email_open"]
    assert opens.duplicated(["contact_id", "detail"]).mean() > 0.2


def test_a_naive_end_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_dataset(contacts=10, events=10, days=5, end=datetime(2026, 1, 1))


def test_write_csv_writes_the_four_importer_files(tmp_path: Path) -> None:
    small = generate_dataset(contacts=200, events=2000, days=30, end=END, seed=3)
    paths = write_csv(tmp_path, small)
    headers = {}
    rows = {}
    for name, path in paths.items():
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            headers[name] = next(reader)
            rows[name] = list(reader)
    assert headers["owners"] == [
        "email", "name", "team", "manager_email", "slack_user_id", "active", "weight",
    ]  # fmt: skip
    assert headers["companies"] == ["domain", "name", "industry", "employee_count", "region"]
    assert headers["contacts"] == [
        "email", "first_name", "last_name", "company_domain", "company_name", "job_title",
        "industry", "employee_count", "region", "lead_source", "consent", "timezone",
        "created_at", "lifecycle_stage", "lead_status", "owner_email",
    ]  # fmt: skip
    assert headers["events"] == ["event_id", "email", "type", "detail", "occurred_at"]
    assert len(rows["contacts"]) == 200 and len(rows["events"]) == 2000
    assert {row[5] for row in rows["owners"]} == {"true", "false"}
    assert {row[10] for row in rows["contacts"]} <= {"true", "false"}
    iso = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+09:00")
    assert all(iso.fullmatch(row[4]) for row in rows["events"])
    assert all(iso.fullmatch(row[12]) for row in rows["contacts"])
    assert len({row[0] for row in rows["events"]}) == 2000
    contact_emails = {row[0] for row in rows["contacts"]}
    assert {row[1] for row in rows["events"]} <= contact_emails
    first = rows["events"][0]
    frame_first = small.events.iloc[0]
    assert datetime.fromisoformat(first[4]) == frame_first["occurred_at"].to_pydatetime()


@pytest.mark.parametrize(
    ("contacts", "events", "days"), [(1, 0, 1), (5, 3, 1), (10, 500, 2), (50, 10, 400)]
)
def test_tiny_and_odd_sizes_still_generate_consistent_data(
    contacts: int, events: int, days: int
) -> None:
    dataset = generate_dataset(contacts=contacts, events=events, days=days, end=END)
    assert len(dataset.contacts) == contacts
    assert len(dataset.events) == events
    assert set(dataset.events["contact_id"]) <= set(dataset.contacts["id"])
