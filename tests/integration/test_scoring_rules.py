"""Every scoring rule of DOMAIN.md, table-driven, through the real SQL read and pure decide."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from models.rules import Rules, load_rules
from tasks.scoring.decide import score_contacts
from tasks.scoring.read import read_contacts, read_facts
from tests.support.seeding import Seeder

AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
DEFAULT = load_rules(ROOT / "rules" / "default.yaml")
PRESET = load_rules(ROOT / "rules" / "presets" / "fit40_behaviour60.yaml")


def days_ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def score_one(engine: Engine, contact_id: int, rules: Rules) -> dict[str, object]:
    from models.tables import Contact

    ids = select(Contact.id).where(Contact.id == contact_id)
    with engine.connect() as conn:
        contacts = read_contacts(conn, ids)
        facts = read_facts(conn, rules, AS_OF, ids)
    scores = score_contacts(contacts=contacts, facts=facts, rules=rules, as_of=AS_OF)
    return scores.iloc[0].to_dict()  # type: ignore[no-any-return]


BEHAVIOUR_CASES = [
    ("pricing page viewed 31 days before as_of gives 0",
     [("page_view", "pricing", days_ago(31))], 0),
    ("pricing page viewed 30 days before as_of gives 10",
     [("page_view", "pricing", days_ago(30))], 10),
    ("pricing page viewed twice in the window counts once",
     [("page_view", "pricing", days_ago(1)), ("page_view", "pricing", days_ago(2))], 10),
    ("case study inside the window gives 5", [("page_view", "case_study", days_ago(3))], 5),
    ("case study 45 days ago gives 0", [("page_view", "case_study", days_ago(45))], 0),
    ("a blog view gives nothing under the default rules", [("page_view", "blog", days_ago(1))], 0),
    ("opening the same email twice adds nothing",
     [("email_open", "nl-1", days_ago(3)), ("email_open", "nl-1", days_ago(2))], 3),
    ("opening two different emails gives 3 each",
     [("email_open", "nl-1", days_ago(3)), ("email_open", "nl-2", days_ago(2))], 6),
    ("an email click gives 5 on top of its open",
     [("email_open", "nl-1", days_ago(3)), ("email_click", "nl-1", days_ago(3))], 8),
    ("old email opens still count (no window)", [("email_open", "nl-old", days_ago(200))], 3),
    ("a document download gives 15 once",
     [("form_submit", "document_download", days_ago(9)),
      ("form_submit", "document_download", days_ago(8))], 15),
    ("a demo request gives 25", [("form_submit", "demo_request", days_ago(1))], 25),
    ("a newsletter form gives nothing", [("form_submit", "newsletter", days_ago(1))], 0),
    ("two different webinars give 10 each",
     [("webinar_attended", "wb-1", days_ago(20)), ("webinar_attended", "wb-2", days_ago(10))], 20),
    ("the same webinar twice gives 10",
     [("webinar_attended", "wb-1", days_ago(20)), ("webinar_attended", "wb-1", days_ago(19))], 10),
    ("a trade-show visit gives 10", [("trade_show_visit", "show-1", days_ago(60))], 10),
    ("an event after as_of does not count yet",
     [("form_submit", "demo_request", AS_OF + timedelta(minutes=1))], 0),
    ("behaviour is capped at 80",
     [("email_click", f"nl-{i}", days_ago(i + 1)) for i in range(20)], 80),
]


@pytest.mark.parametrize(
    ("events", "expected"),
    [pytest.param(e, x, id=name) for name, e, x in BEHAVIOUR_CASES],
)
def test_default_behaviour_rule(
    engine: Engine, seed: Seeder, events: list[tuple[str, str, datetime]], expected: int
) -> None:
    contact = seed.contact(email="lead@example.com")
    for type_, detail, when in events:
        seed.event(contact_id=contact, type=type_, detail=detail, occurred_at=when)
    assert score_one(engine, contact, DEFAULT)["engagement_score"] == expected


FIT_CASES = [
    ("a manager title gives 10", {"job_title": "Sales Manager"}, 10),
    ("a Japanese 部長 gives 10 (director is above manager)", {"job_title": "営業部長"}, 10),
    ("a Japanese 課長 gives 10", {"job_title": "マーケティング課長"}, 10),
    ("a staff title gives nothing", {"job_title": "Engineer"}, 0),
    ("CTO is not mistaken inside Director", {"job_title": "CTO"}, 10),
    ("50 employees give 5", {"employee_count": 50}, 5),
    ("49 employees give nothing", {"employee_count": 49}, 0),
    ("a target industry gives 5, case-insensitively", {"industry": "Manufacturing"}, 5),
    ("fit is capped at 20 even when every attribute matches",
     {"job_title": "代表取締役社長", "employee_count": 5000, "industry": "it"}, 20),
]


@pytest.mark.parametrize(
    ("attributes", "expected"), [pytest.param(a, x, id=name) for name, a, x in FIT_CASES]
)
def test_default_fit_rule(
    engine: Engine, seed: Seeder, attributes: dict[str, object], expected: int
) -> None:
    contact = seed.contact(email="fit@example.com", **attributes)
    assert score_one(engine, contact, DEFAULT)["fit_score"] == expected


PRESET_CASES = [
    ("two email opens are below the 3-or-more rule",
     [("email_open", "a", days_ago(2)), ("email_open", "b", days_ago(1))], 0),
    ("three opens/clicks fire the rule once",
     [("email_open", "a", days_ago(3)), ("email_open", "b", days_ago(2)),
      ("email_click", "b", days_ago(2))], 10),
    ("seven opens still fire it only once",
     [("email_open", f"m{i}", days_ago(i + 1)) for i in range(7)], 10),
    ("three blog articles read give 5 once",
     [("page_view", "blog", days_ago(i + 1)) for i in range(3)], 5),
    ("the preset's pricing page gives 15", [("page_view", "pricing", days_ago(1))], 15),
    ("the preset's behaviour is capped at 60",
     [("page_view", "pricing", days_ago(1)), ("page_view", "case_study", days_ago(1)),
      ("form_submit", "document_download", days_ago(1)), ("webinar_attended", "w", days_ago(1)),
      *[("email_open", f"m{i}", days_ago(1)) for i in range(3)],
      *[("page_view", "blog", days_ago(1)) for _ in range(3)]], 60),
]


@pytest.mark.parametrize(
    ("events", "expected"), [pytest.param(e, x, id=name) for name, e, x in PRESET_CASES]
)
def test_fit40_behaviour60_preset_rule(
    engine: Engine, seed: Seeder, events: list[tuple[str, str, datetime]], expected: int
) -> None:
    contact = seed.contact(email="preset@example.com")
    for type_, detail, when in events:
        seed.event(contact_id=contact, type=type_, detail=detail, occurred_at=when)
    assert score_one(engine, contact, PRESET)["engagement_score"] == expected


def test_preset_fit_is_capped_at_40_and_counts_region(engine: Engine, seed: Seeder) -> None:
    contact = seed.contact(
        email="boss@example.com", job_title="取締役", industry="製造業", employee_count=300,
        region="東京都",
    )
    assert score_one(engine, contact, PRESET)["fit_score"] == 40


def test_breakdown_names_each_signal_with_points_units_and_date(
    engine: Engine, seed: Seeder
) -> None:
    contact = seed.contact(email="why@example.com", job_title="Director")
    seed.event(contact_id=contact, type="page_view", detail="pricing", occurred_at=days_ago(2))
    seed.event(contact_id=contact, type="email_open", detail="nl-1", occurred_at=days_ago(5))
    seed.event(contact_id=contact, type="email_open", detail="nl-2", occurred_at=days_ago(4))
    breakdown = score_one(engine, contact, DEFAULT)["breakdown"]
    assert isinstance(breakdown, dict)
    signals = {s["signal"]: s for s in breakdown["signals"]}
    assert signals["pricing_page"]["points"] == 10
    assert signals["pricing_page"]["window_days"] == 30
    assert signals["pricing_page"]["last_at"] == days_ago(2).isoformat()
    assert signals["email_open"] == {
        "signal": "email_open", "group": "behaviour", "points": 6, "units": 2,
        "last_at": days_ago(4).isoformat(), "window_days": None,
    }
    assert signals["manager_or_above"]["job_level"] == "director"
    assert breakdown["behaviour_cap"] == 80
