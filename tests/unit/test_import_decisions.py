"""Decide beat of the importer: stored rows + file rows → inserts, updates, quarantine."""

from datetime import UTC, datetime

import pandas as pd

from tasks.imports.decide import (
    CONTACT_COLUMNS,
    decide_companies,
    decide_contacts,
    decide_missing_companies,
    resolve_owners,
)
from tasks.imports.decide_ledgers import decide_events

NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
EARLIER = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)

OWNERS = pd.DataFrame(
    {
        "id": [1, 2, 3],
        "email": ["yamada@x.jp", "sato@x.jp", "sato2@x.jp"],
        "name": ["山田 太郎", "佐藤 一郎", "佐藤 一郎"],
    }
)
COMPANIES = pd.DataFrame({"id": [10, 11], "domain": ["acme.co.jp", "globex.com"]})


def incoming(**overrides: object) -> pd.DataFrame:
    row: dict[str, object] = {
        "email": "hanako@acme.co.jp",
        "hubspot_id": None,
        "first_name": "花子",
        "last_name": "高橋",
        "company_domain": None,
        "company_name": None,
        "job_title": "部長",
        "industry": "manufacturing",
        "employee_count": 250,
        "region": "Tokyo",
        "lead_source": None,
        "consent": None,
        "timezone": None,
        "created_at": pd.NaT,
        "lifecycle_stage": None,
        "lead_status": None,
        "owner": None,
        "line": 2,
    }
    row.update(overrides)
    frame = pd.DataFrame([row])
    frame["employee_count"] = frame["employee_count"].astype("Int64")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    for column in ("owner", "lifecycle_stage", "company_domain", "email"):
        frame[column] = frame[column].astype("str")
    return frame


def stored(**overrides: object) -> pd.DataFrame:
    row: dict[str, object] = dict.fromkeys(CONTACT_COLUMNS)
    row.update(
        id=7,
        email="hanako@acme.co.jp",
        first_name="花子",
        last_name="高橋",
        company_id=10,
        job_title="部長",
        industry="manufacturing",
        employee_count=250,
        region="Tokyo",
        consent=False,
        lifecycle_stage="lead",
        updated_at=EARLIER,
    )
    row.update(overrides)
    return pd.DataFrame([row])


def test_a_new_contact_gets_its_company_from_the_email_domain_and_updated_at_now() -> None:
    plan = decide_contacts(
        incoming(), stored().iloc[0:0], companies=COMPANIES, owners=OWNERS, now=NOW
    )
    (row,) = plan.inserts.to_dict("records")
    assert row["company_id"] == 10
    assert row["updated_at"] == NOW
    assert row["created_at"] == NOW
    assert row["lifecycle_stage"] == "lead"
    assert row["consent"] is False


def test_the_same_attributes_again_change_nothing() -> None:
    plan = decide_contacts(incoming(), stored(), companies=COMPANIES, owners=OWNERS, now=NOW)
    assert plan.inserts.empty and plan.updates.empty
    assert plan.unchanged == 1


def test_a_changed_job_title_bumps_updated_at_for_rescoring() -> None:
    plan = decide_contacts(
        incoming(job_title="取締役"), stored(), companies=COMPANIES, owners=OWNERS, now=NOW
    )
    (row,) = plan.updates.to_dict("records")
    assert row["job_title"] == "取締役"
    assert row["updated_at"] == NOW


def test_a_changed_name_or_lead_status_updates_without_bumping_updated_at() -> None:
    plan = decide_contacts(
        incoming(first_name="はなこ", lead_status="connected"),
        stored(),
        companies=COMPANIES,
        owners=OWNERS,
        now=NOW,
    )
    (row,) = plan.updates.to_dict("records")
    assert (row["first_name"], row["lead_status"]) == ("はなこ", "connected")
    assert row["updated_at"] == EARLIER


def test_a_blank_cell_keeps_the_stored_value() -> None:
    plan = decide_contacts(
        incoming(job_title=None, industry=None),
        stored(),
        companies=COMPANIES,
        owners=OWNERS,
        now=NOW,
    )
    assert plan.updates.empty and plan.unchanged == 1


def test_a_known_contact_moves_forward_but_never_back_and_each_move_is_returned() -> None:
    forward = decide_contacts(
        incoming(lifecycle_stage="sql"), stored(), companies=COMPANIES, owners=OWNERS, now=NOW
    )
    assert forward.updates["lifecycle_stage"].tolist() == ["sql"]
    assert forward.stage_moves.to_dict("records") == [
        {"contact_id": 7, "from_stage": "lead", "to_stage": "sql"}
    ]
    back = decide_contacts(
        incoming(lifecycle_stage="subscriber"),
        stored(lifecycle_stage="mql"),
        companies=COMPANIES,
        owners=OWNERS,
        now=NOW,
    )
    assert back.updates.empty and back.stage_moves.empty


def test_owners_resolve_by_email_or_by_name_ignoring_spaces() -> None:
    values = pd.Series(["YAMADA@x.jp", "山田太郎", "木村 拓也", "佐藤 一郎", None], dtype="str")
    ids, notes = resolve_owners(values, OWNERS)
    assert ids.tolist()[:2] == [1, 1]
    assert ids.isna().tolist()[2:] == [True, True, True]
    # Two owners share the name 佐藤 一郎: ambiguous, so nobody, and it is reported.
    assert notes == {
        "owner '木村 拓也' not found: kept without an owner": 1,
        "owner '佐藤 一郎' not found: kept without an owner": 1,
    }


def test_events_for_unknown_emails_are_quarantined_and_the_rest_are_stamped_now() -> None:
    rows = pd.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "email": ["a@x.jp", "ghost@x.jp"],
            "type": ["email_open", "email_open"],
            "detail": ["m1", "m1"],
            "occurred_at": [EARLIER, EARLIER],
            "line": [2, 3],
        }
    )
    plan = decide_events(rows, {"a@x.jp": 5}, now=NOW)
    assert plan.inserts[["source_event_id", "contact_id"]].to_dict("records") == [
        {"source_event_id": "e1", "contact_id": 5}
    ]
    assert plan.inserts["ingested_at"].tolist() == [NOW]
    assert plan.quarantine.to_dict("records") == [
        {
            "row_number": 3,
            "field": "email",
            "value": "ghost@x.jp",
            "reason": "no contact with this email",
        }
    ]


def test_a_company_whose_industry_changes_asks_for_its_contacts_to_be_rescored() -> None:
    stored_companies = pd.DataFrame(
        {
            "id": [10, 11],
            "domain": ["acme.co.jp", "globex.com"],
            "name": ["Acme", "Globex"],
            "industry": ["retail", "it"],
            "employee_count": [30, 1200],
            "region": [None, None],
        }
    )
    rows = pd.DataFrame(
        {
            "domain": ["acme.co.jp", "globex.com"],
            "name": ["Acme", "Globex Corp"],
            "industry": ["manufacturing", "it"],
            "employee_count": [30, 1200],
            "region": [None, None],
        }
    )
    plan, rescore = decide_companies(rows, stored_companies, now=NOW)
    assert sorted(plan.updates["domain"]) == ["acme.co.jp", "globex.com"]
    assert rescore == [10]


def test_missing_companies_take_the_first_name_the_file_gives_them() -> None:
    wanted = pd.DataFrame(
        {
            "domain": ["new.jp", "new.jp", "acme.co.jp", None],
            "name": [None, "ニュー株式会社", "Acme", "x"],
        }
    )
    new = decide_missing_companies(wanted, ["acme.co.jp"], now=NOW)
    assert new[["domain", "name"]].to_dict("records") == [
        {"domain": "new.jp", "name": "ニュー株式会社"}
    ]
