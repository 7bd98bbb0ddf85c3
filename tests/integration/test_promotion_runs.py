"""Promotion hours against the real store: transitions, roll-up, owners, hand-off, reruns."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from leadflow.settings import Settings
from models.rules import Rules, load_rules, parse_rules
from models.tables import (
    Company,
    Contact,
    Outbox,
    OwnerAssignment,
    StageHistory,
)
from tasks.promotion.apply import AppliedPromotions
from tasks.promotion.hour import promote_hour
from tasks.promotion.report import PromotionOutcome
from tests.support.hours import inside_one_flow
from tests.support.seeding import Seeder

pytestmark = pytest.mark.usefixtures("prefect_harness")

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def w(engine: Engine) -> Seeder:
    """The seeder for a world whose contacts and companies were created 100 hours before T0."""
    return Seeder(engine, created_at=T0 - 100 * HOUR)


def lead(
    w: Seeder, email: str, *, stage: str = "lead", score: int | None = None, **columns: Any
) -> int:
    """A contact at `stage`, scored `score` an hour before T0 if given."""
    contact_id = w.contact(email=email, lifecycle_stage=stage, **columns)
    if score is not None:
        w.score(contact_id=contact_id, score=score, at=T0 - HOUR)
    return contact_id


def stage_of(engine: Engine, contact_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                select(Contact.lifecycle_stage).where(Contact.id == contact_id)
            ).scalar_one()
        )


def promote(
    settings: Settings, *, as_of: datetime = T0, rules: Rules = RULES
) -> PromotionOutcome:
    """One promotion hour, exactly as the mql-promotion flow runs it (Slack not configured)."""
    return promote_hour(settings=settings, rules=rules, as_of=as_of)


def applied(outcome: PromotionOutcome) -> AppliedPromotions:
    assert outcome.applied is not None
    return outcome.applied


def outbox(engine: Engine) -> list[Any]:
    """The Slack messages in the outbox (the owners' hand-off emails: test_handoff_email)."""
    with engine.connect() as conn:
        return list(
            conn.execute(select(Outbox).where(Outbox.channel == "slack").order_by(Outbox.id)).all()
        )


@inside_one_flow
def test_a_lead_over_the_mql_line_becomes_mql_with_status_new_an_owner_and_a_handoff(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    company = w.company(domain="acme.example", name="Acme 株式会社")
    owner = w.owner(email="is1@example.com", slack_user_id="U1", created_at=T0)
    taro = lead(
        w,
        "taro@acme.example",
        score=55,
        company_id=company,
        first_name="太郎",
        last_name="山田",
        lead_source="webinar",
        job_title="部長",
    )
    w.event(contact_id=taro, type="page_view", detail="pricing", occurred_at=T0 - 5 * HOUR)
    w.activity(contact_id=taro, type="call", outcome="no_answer", occurred_at=T0 - 2 * HOUR)

    outcome = promote(settings)

    assert [(t.contact_id, t.to_stage.value, t.rule) for t in applied(outcome).transitions] == [
        (taro, "mql", "mql_score")
    ]
    with engine.connect() as conn:
        contact = conn.execute(select(Contact).where(Contact.id == taro)).one()
        history = conn.execute(select(StageHistory)).one()
        assignment = conn.execute(select(OwnerAssignment)).one()
        company_stage = conn.execute(
            select(Company.lifecycle_stage).where(Company.id == company)
        ).scalar_one()
    assert (contact.lifecycle_stage, contact.lead_status, contact.owner_id) == ("mql", "new", owner)
    assert (history.from_stage, history.to_stage, history.at, history.rule, history.kind) == (
        "lead",
        "mql",
        T0,
        "mql_score",
        "forward",
    )
    assert history.run_id == outcome.run_id
    assert (assignment.owner_id, assignment.team) == (owner, "is")
    assert company_stage == "mql"
    [message] = outbox(engine)
    assert message.kind == "handoff"
    assert message.payload["channel"] == "#sales-handoff"
    text = str(message.payload["blocks"])
    for expected in ("山田 太郎", "Acme 株式会社", "55", "webinar", "<@U1>", "電話", "ページ閲覧"):
        assert expected in text
    assert "30日以内" in text or "pricing" in text


@inside_one_flow
def test_rerunning_the_same_hour_changes_nothing_and_enqueues_nothing(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    w.owner(email="is1@example.com", slack_user_id="U1", created_at=T0)
    w.owner(email="fs1@example.com", team="fs", slack_user_id="U2", created_at=T0)
    lead(w, "a@x.example", score=80)
    lead(w, "b@x.example", score=51)
    demo = lead(w, "c@x.example", score=10)
    w.event(contact_id=demo, type="form_submit", detail="demo_request", occurred_at=T0 - HOUR)

    first = applied(promote(settings))
    before = outbox(engine)
    second = promote(settings)

    assert first.by_stage() == {"mql": 2, "sql": 1}
    # The hour was decided already: the rerun decides and writes nothing, it only drains.
    assert second.superseded_by == T0.isoformat()
    assert (second.decisions.transitions, second.decisions.hot, second.messages) == ([], [], 0)
    assert second.applied is None
    assert len(outbox(engine)) == len(before) == first.enqueued
    with engine.connect() as conn:
        assert len(conn.execute(select(StageHistory)).all()) == 3
        assert len(conn.execute(select(OwnerAssignment)).all()) == 3


def test_a_customer_whose_score_drops_stays_a_customer(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    customer = lead(w, "c@x.example", stage="customer", score=80)
    w.score(contact_id=customer, score=5, at=T0 - HOUR / 2)
    w.event(contact_id=customer, type="form_submit", detail="demo_request", occurred_at=T0 - HOUR)

    outcome = promote(settings)

    assert outcome.decisions.transitions == [] and applied(outcome).transitions == []
    assert stage_of(engine, customer) == "customer"
    assert outbox(engine) == []


@inside_one_flow
def test_a_company_takes_the_most_advanced_stage_of_its_three_contacts(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    company = w.company(domain="three.example", name="Three")
    lead(w, "a@three.example", stage="subscriber", company_id=company)
    lead(w, "b@three.example", stage="lead", score=60, company_id=company)
    lead(w, "c@three.example", stage="other", company_id=company)

    promote(settings)
    with engine.connect() as conn:
        assert conn.execute(select(Company.lifecycle_stage)).scalar_one() == "mql"

    d = lead(w, "d@three.example", stage="lead", company_id=company)
    w.event(contact_id=d, type="form_submit", detail="demo_request", occurred_at=T0 + HOUR / 2)
    promote(settings, as_of=T0 + HOUR)
    with engine.connect() as conn:
        assert conn.execute(select(Company.lifecycle_stage)).scalar_one() == "sql"


def test_a_demo_request_goes_straight_to_sql_and_to_field_sales(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    w.owner(email="is1@example.com", created_at=T0)
    fs = w.owner(email="fs1@example.com", team="fs", created_at=T0)
    demo = lead(w, "d@x.example", score=20)
    w.event(contact_id=demo, type="form_submit", detail="demo_request", occurred_at=T0 - HOUR)

    outcome = promote(settings)

    assert [t.to_stage.value for t in applied(outcome).transitions] == ["sql"]
    with engine.connect() as conn:
        contact = conn.execute(select(Contact).where(Contact.id == demo)).one()
    assert (contact.lifecycle_stage, contact.lead_status, contact.owner_id) == (
        "sql",
        "sales_ready",
        fs,
    )


@inside_one_flow
def test_a_form_from_a_competitor_domain_is_disqualified_without_a_handoff(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    spy = lead(w, "spy@sales.competitor.example", score=90)
    w.event(contact_id=spy, type="form_submit", detail="demo_request", occurred_at=T0 - HOUR)

    outcome = promote(settings)

    assert [(t.to_stage.value, t.kind.value) for t in applied(outcome).transitions] == [
        ("other", "disqualify")
    ]
    with engine.connect() as conn:
        contact = conn.execute(select(Contact).where(Contact.id == spy)).one()
    assert (contact.lifecycle_stage, contact.lead_status, contact.hot_at) == (
        "other",
        "unqualified",
        None,
    )
    assert outbox(engine) == []
    assert applied(promote(settings, as_of=T0 + HOUR)).transitions == []


def test_a_hot_lead_goes_to_the_field_sales_channel_and_to_its_owner_by_dm(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    w.owner(email="is1@example.com", slack_user_id="UOWNER", created_at=T0)
    hot = lead(w, "hot@x.example", score=75)

    promote(settings)

    kinds = {m.kind: m for m in outbox(engine)}
    assert set(kinds) == {"handoff", "hot", "hot_dm"}
    assert kinds["hot"].payload["channel"] == "#fs-hot-leads"
    assert kinds["hot_dm"].payload["user"] == "UOWNER"
    assert "ホットリード" in kinds["hot"].payload["text"]
    with engine.connect() as conn:
        assert conn.execute(select(Contact.hot_at).where(Contact.id == hot)).scalar_one() == T0


@inside_one_flow
def test_an_mql_that_later_crosses_the_hot_line_is_marked_hot_once(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    w.owner(email="is1@example.com", slack_user_id="U1", created_at=T0)
    mql = lead(w, "x@x.example", score=55)
    promote(settings)
    w.score(contact_id=mql, score=72, at=T0 + HOUR / 2)

    hotter = applied(promote(settings, as_of=T0 + HOUR))
    again = applied(promote(settings, as_of=T0 + 2 * HOUR))

    assert (hotter.transitions, hotter.hot) == ([], 1)
    assert again.hot == 0
    assert sorted(m.kind for m in outbox(engine)) == ["handoff", "hot", "hot_dm"]


def test_a_rerun_of_a_past_hour_judges_the_score_of_that_hour(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    late = lead(w, "late@x.example")
    w.score(contact_id=late, score=65, at=T0 + 2 * HOUR)

    outcome = promote(settings, as_of=T0)

    assert outcome.decisions.transitions == []
    assert stage_of(engine, late) == "lead"


@inside_one_flow
def test_events_before_the_latest_stage_change_do_not_count_again(
    w: Seeder, settings: Settings
) -> None:
    recycled = lead(w, "r@x.example")
    w.event(contact_id=recycled, type="form_submit", detail="demo_request", occurred_at=T0 - HOUR)
    promote(settings)
    # A later recycle (another flow) moved the contact back to lead.
    w.update_contact(recycled, lifecycle_stage="lead")
    w.stage_change(
        contact_id=recycled,
        from_stage="sql",
        to_stage="lead",
        at=T0 + HOUR,
        rule="recycle",
        kind="recycle",
    )

    outcome = promote(settings, as_of=T0 + 2 * HOUR)

    assert outcome.decisions.transitions == []


def test_a_sequence_rule_reads_its_steps_from_the_ledger(w: Seeder, settings: Settings) -> None:
    data = RULES.model_dump(mode="json")
    data["promotion"]["transitions"] = [
        {
            "kind": "sequence",
            "name": "download_then_service_pages",
            "to": "mql",
            "within_days": 30,
            "steps": [
                {"events": ["form_submit"], "details": ["document_download"]},
                {"events": ["page_view"], "details": ["service"], "min": 3},
            ],
        }
    ]
    rules = parse_rules(data, source=Path("sequence.yaml"))
    done = lead(w, "done@x.example")
    halfway = lead(w, "half@x.example")
    for contact_id, pages in ((done, 3), (halfway, 2)):
        w.event(
            contact_id=contact_id, type="form_submit", detail="document_download",
            occurred_at=T0 - 48 * HOUR,
        )
        w.event(
            contact_id=contact_id, type="page_view", detail="pricing", occurred_at=T0 - 47 * HOUR
        )
        for n in range(pages):
            w.event(
                contact_id=contact_id, type="page_view", detail="service",
                occurred_at=T0 - (40 - n) * HOUR,
            )

    outcome = promote(settings, rules=rules)

    assert [(t.contact_id, t.rule) for t in applied(outcome).transitions] == [
        (done, "download_then_service_pages")
    ]


@inside_one_flow
def test_a_hundred_leads_over_many_hours_are_spread_by_weight_within_one(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    heavy = w.owner(email="heavy@example.com", weight=3.0, created_at=T0)
    middle = w.owner(email="middle@example.com", weight=2.0, created_at=T0)
    light = w.owner(email="light@example.com", weight=1.0, created_at=T0)
    w.owner(email="away@example.com", weight=5.0, active=False, created_at=T0)
    hour = T0
    seeded = 0
    for batch in (1, 7, 13, 29, 50):
        for _ in range(batch):
            new = lead(w, f"lead{seeded}@x.example")
            seeded += 1
            w.score(contact_id=new, score=60, at=hour - HOUR / 2)
        promote(settings, as_of=hour)
        hour += HOUR

    with engine.connect() as conn:
        owners = conn.execute(select(OwnerAssignment.owner_id)).scalars().all()
    counts = {owner: owners.count(owner) for owner in (heavy, middle, light)}
    assert len(owners) == 100
    assert abs(counts[heavy] - 50) <= 1
    assert abs(counts[middle] - 100 * 2 / 6) <= 1
    assert abs(counts[light] - 100 / 6) <= 1


@inside_one_flow
def test_a_demo_request_that_arrives_after_the_run_still_counts_next_hour(
    w: Seeder, settings: Settings
) -> None:
    late = lead(w, "late@x.example", score=55)
    first = promote(settings)
    # That run started at 03:20, after the hour it covered.
    w.run_started_at(first.run_id, T0 + HOUR / 3)
    # Occurred before the MQL promotion, but imported only after that run had started.
    w.event(
        contact_id=late, type="form_submit", detail="demo_request",
        occurred_at=T0 - HOUR / 6, ingested_at=T0 + HOUR / 2,
    )

    outcome = promote(settings, as_of=T0 + HOUR)

    assert [(t.from_stage, t.to_stage.value) for t in applied(outcome).transitions] == [
        ("mql", "sql")
    ]
