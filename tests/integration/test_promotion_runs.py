"""Promotion against the real store: transitions, roll-up, owners, hand-off, reruns."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from models.rules import Rules, load_rules, parse_rules
from models.tables import (
    Activity,
    Company,
    Contact,
    Event,
    Outbox,
    Owner,
    OwnerAssignment,
    Run,
    ScoreSnapshot,
    StageHistory,
)
from tasks.handoff import SlackTemplates, compose_handoff_messages
from tasks.promotion_apply import AppliedPromotions, apply_promotions
from tasks.promotion_decide import PromotionDecisions, decide_promotions
from tasks.promotion_read import read_handoff_context, read_promotion_inputs

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)
TOKYO = ZoneInfo("Asia/Tokyo")


class World:
    """Companies, owners, contacts, scores and events written straight into the tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seq = 0

    def _insert(self, table: Any, **values: Any) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(insert(table).values(**values)).inserted_primary_key[0])

    def company(self, domain: str, name: str) -> int:
        return self._insert(
            Company,
            domain=domain,
            name=name,
            created_at=T0 - 100 * HOUR,
            updated_at=T0 - 100 * HOUR,
        )

    def owner(
        self,
        email: str,
        *,
        team: str = "is",
        weight: float = 1.0,
        active: bool = True,
        slack_user_id: str | None = None,
    ) -> int:
        return self._insert(
            Owner,
            email=email,
            name=email.split("@")[0],
            team=team,
            weight=weight,
            active=active,
            slack_user_id=slack_user_id,
            created_at=T0,
            updated_at=T0,
        )

    def contact(
        self,
        email: str,
        *,
        stage: str = "lead",
        score: int | None = None,
        company_id: int | None = None,
        **extra: Any,
    ) -> int:
        contact_id = self._insert(
            Contact,
            email=email,
            lifecycle_stage=stage,
            company_id=company_id,
            created_at=T0 - 100 * HOUR,
            updated_at=T0 - 100 * HOUR,
            **extra,
        )
        if score is not None:
            self.score(contact_id, score, at=T0 - HOUR)
        return contact_id

    def score(
        self,
        contact_id: int,
        score: int,
        *,
        at: datetime,
        signals: list[dict[str, Any]] | None = None,
    ) -> None:
        self._insert(
            ScoreSnapshot,
            contact_id=contact_id,
            as_of=at,
            engagement_score=score,
            fit_score=0,
            score=score,
            rules_hash="test",
            run_id="scoring",
            breakdown={
                "signals": signals
                or [{"name": "pricing_page", "group": "behaviour", "points": score, "units": 1}]
            },
        )
        with self.engine.begin() as conn:
            conn.execute(
                Contact.__table__.update()
                .where(Contact.id == contact_id)
                .values(score=score, scored_at=at)
            )

    def event(
        self,
        contact_id: int,
        type_: str,
        detail: str | None,
        at: datetime,
        *,
        ingested_at: datetime | None = None,
    ) -> None:
        self.seq += 1
        self._insert(
            Event,
            source_event_id=f"ev-{self.seq}",
            contact_id=contact_id,
            type=type_,
            detail=detail,
            occurred_at=at,
            ingested_at=ingested_at or at,
        )

    def run(self, run_id: str, *, as_of: datetime, started_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(Run).values(
                    id=run_id,
                    flow="mql-promotion",
                    as_of=as_of,
                    dry_run=False,
                    started_at=started_at,
                    status="completed",
                )
            )

    def activity(self, contact_id: int, type_: str, outcome: str, at: datetime) -> None:
        self.seq += 1
        self._insert(
            Activity,
            source_activity_id=f"act-{self.seq}",
            contact_id=contact_id,
            type=type_,
            outcome=outcome,
            occurred_at=at,
            ingested_at=at,
        )

    def stage_of(self, contact_id: int) -> str:
        with self.engine.connect() as conn:
            return str(
                conn.execute(
                    select(Contact.lifecycle_stage).where(Contact.id == contact_id)
                ).scalar_one()
            )


def promote(
    engine: Engine, *, as_of: datetime = T0, rules: Rules = RULES, run_id: str = "run-1"
) -> tuple[PromotionDecisions, AppliedPromotions]:
    """One promotion run without Prefect: read → decide → compose → apply."""
    with engine.connect() as conn:
        inputs = read_promotion_inputs(conn, rules=rules, as_of=as_of)
    decisions = decide_promotions(inputs, rules, as_of=as_of)
    ids = [t.contact_id for t in decisions.transitions] + [h.contact_id for h in decisions.hot]
    with engine.connect() as conn:
        context = read_handoff_context(conn, contact_ids=ids, as_of=as_of, latest=5)
    messages = compose_handoff_messages(
        decisions,
        inputs=inputs,
        context=context,
        rules=rules,
        templates=SlackTemplates.load(),
        tz=TOKYO,
    )
    applied = apply_promotions(engine, decisions, messages, rules=rules, run_id=run_id, now=as_of)
    return decisions, applied


def outbox(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Outbox).order_by(Outbox.id)).all())


def test_a_lead_over_the_mql_line_becomes_mql_with_status_new_an_owner_and_a_handoff(
    engine: Engine,
) -> None:
    w = World(engine)
    company = w.company("acme.example", "Acme 株式会社")
    owner = w.owner("is1@example.com", slack_user_id="U1")
    lead = w.contact(
        "taro@acme.example",
        score=55,
        company_id=company,
        first_name="太郎",
        last_name="山田",
        lead_source="webinar",
        job_title="部長",
    )
    w.event(lead, "page_view", "pricing", T0 - 5 * HOUR)
    w.activity(lead, "call", "no_answer", T0 - 2 * HOUR)

    _, applied = promote(engine)

    assert [(t.contact_id, t.to_stage.value, t.rule) for t in applied.transitions] == [
        (lead, "mql", "mql_score")
    ]
    with engine.connect() as conn:
        contact = conn.execute(select(Contact).where(Contact.id == lead)).one()
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
    assert history.run_id == "run-1"
    assert (assignment.owner_id, assignment.team) == (owner, "is")
    assert company_stage == "mql"
    [message] = outbox(engine)
    assert message.kind == "handoff"
    assert message.payload["channel"] == "#sales-handoff"
    text = str(message.payload["blocks"])
    for expected in ("山田 太郎", "Acme 株式会社", "55", "webinar", "<@U1>", "電話", "ページ閲覧"):
        assert expected in text
    assert "30日以内" in text or "pricing" in text


def test_rerunning_the_same_hour_changes_nothing_and_enqueues_nothing(engine: Engine) -> None:
    w = World(engine)
    w.owner("is1@example.com", slack_user_id="U1")
    w.owner("fs1@example.com", team="fs", slack_user_id="U2")
    w.contact("a@x.example", score=80)
    w.contact("b@x.example", score=51)
    demo = w.contact("c@x.example", score=10)
    w.event(demo, "form_submit", "demo_request", T0 - HOUR)

    _, first = promote(engine)
    before = outbox(engine)
    _, second = promote(engine, run_id="run-2")

    assert first.by_stage() == {"mql": 2, "sql": 1}
    assert (second.transitions, second.enqueued, second.hot, second.assigned) == ([], 0, 0, 0)
    assert len(outbox(engine)) == len(before) == first.enqueued
    with engine.connect() as conn:
        assert len(conn.execute(select(StageHistory)).all()) == 3
        assert len(conn.execute(select(OwnerAssignment)).all()) == 3


def test_a_customer_whose_score_drops_stays_a_customer(engine: Engine) -> None:
    w = World(engine)
    customer = w.contact("c@x.example", stage="customer", score=80)
    w.score(customer, 5, at=T0 - HOUR / 2)
    w.event(customer, "form_submit", "demo_request", T0 - HOUR)

    decisions, applied = promote(engine)

    assert decisions.transitions == [] and applied.transitions == []
    assert w.stage_of(customer) == "customer"
    assert outbox(engine) == []


def test_a_company_takes_the_most_advanced_stage_of_its_three_contacts(engine: Engine) -> None:
    w = World(engine)
    company = w.company("three.example", "Three")
    w.contact("a@three.example", stage="subscriber", company_id=company)
    w.contact("b@three.example", stage="lead", score=60, company_id=company)
    w.contact("c@three.example", stage="other", company_id=company)

    promote(engine)
    with engine.connect() as conn:
        assert conn.execute(select(Company.lifecycle_stage)).scalar_one() == "mql"

    d = w.contact("d@three.example", stage="lead", company_id=company)
    w.event(d, "form_submit", "demo_request", T0 + HOUR / 2)
    promote(engine, as_of=T0 + HOUR)
    with engine.connect() as conn:
        assert conn.execute(select(Company.lifecycle_stage)).scalar_one() == "sql"


def test_a_demo_request_goes_straight_to_sql_and_to_field_sales(engine: Engine) -> None:
    w = World(engine)
    w.owner("is1@example.com")
    fs = w.owner("fs1@example.com", team="fs")
    lead = w.contact("d@x.example", score=20)
    w.event(lead, "form_submit", "demo_request", T0 - HOUR)

    _, applied = promote(engine)

    assert [t.to_stage.value for t in applied.transitions] == ["sql"]
    with engine.connect() as conn:
        contact = conn.execute(select(Contact).where(Contact.id == lead)).one()
    assert (contact.lifecycle_stage, contact.lead_status, contact.owner_id) == (
        "sql",
        "sales_ready",
        fs,
    )


def test_a_form_from_a_competitor_domain_is_disqualified_without_a_handoff(
    engine: Engine,
) -> None:
    w = World(engine)
    spy = w.contact("spy@sales.competitor.example", score=90)
    w.event(spy, "form_submit", "demo_request", T0 - HOUR)

    _, applied = promote(engine)

    assert [(t.to_stage.value, t.kind.value) for t in applied.transitions] == [
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
    assert promote(engine, as_of=T0 + HOUR)[1].transitions == []


def test_a_hot_lead_goes_to_the_field_sales_channel_and_to_its_owner_by_dm(
    engine: Engine,
) -> None:
    w = World(engine)
    w.owner("is1@example.com", slack_user_id="UOWNER")
    hot = w.contact("hot@x.example", score=75)

    promote(engine)

    kinds = {m.kind: m for m in outbox(engine)}
    assert set(kinds) == {"handoff", "hot", "hot_dm"}
    assert kinds["hot"].payload["channel"] == "#fs-hot-leads"
    assert kinds["hot_dm"].payload["user"] == "UOWNER"
    assert "ホットリード" in kinds["hot"].payload["text"]
    with engine.connect() as conn:
        assert conn.execute(select(Contact.hot_at).where(Contact.id == hot)).scalar_one() == T0


def test_an_mql_that_later_crosses_the_hot_line_is_marked_hot_once(engine: Engine) -> None:
    w = World(engine)
    w.owner("is1@example.com", slack_user_id="U1")
    lead = w.contact("x@x.example", score=55)
    promote(engine)
    w.score(lead, 72, at=T0 + HOUR / 2)

    _, applied = promote(engine, as_of=T0 + HOUR)
    _, again = promote(engine, as_of=T0 + 2 * HOUR)

    assert (applied.transitions, applied.hot) == ([], 1)
    assert again.hot == 0
    assert sorted(m.kind for m in outbox(engine)) == ["handoff", "hot", "hot_dm"]


def test_a_rerun_of_a_past_hour_judges_the_score_of_that_hour(engine: Engine) -> None:
    w = World(engine)
    lead = w.contact("late@x.example")
    w.score(lead, 65, at=T0 + 2 * HOUR)

    decisions, _ = promote(engine, as_of=T0)

    assert decisions.transitions == []
    assert w.stage_of(lead) == "lead"


def test_events_before_the_latest_stage_change_do_not_count_again(engine: Engine) -> None:
    w = World(engine)
    lead = w.contact("r@x.example")
    w.event(lead, "form_submit", "demo_request", T0 - HOUR)
    promote(engine)
    with engine.begin() as conn:
        # A later recycle (another flow) moved the contact back to lead.
        conn.execute(
            Contact.__table__.update().where(Contact.id == lead).values(lifecycle_stage="lead")
        )
        conn.execute(
            insert(StageHistory).values(
                contact_id=lead,
                from_stage="sql",
                to_stage="lead",
                at=T0 + HOUR,
                rule="recycle",
                kind="recycle",
            )
        )

    decisions, _ = promote(engine, as_of=T0 + 2 * HOUR)

    assert decisions.transitions == []


def test_a_sequence_rule_reads_its_steps_from_the_ledger(engine: Engine) -> None:
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
    w = World(engine)
    done = w.contact("done@x.example")
    halfway = w.contact("half@x.example")
    for contact_id, pages in ((done, 3), (halfway, 2)):
        w.event(contact_id, "form_submit", "document_download", T0 - 48 * HOUR)
        w.event(contact_id, "page_view", "pricing", T0 - 47 * HOUR)
        for n in range(pages):
            w.event(contact_id, "page_view", "service", T0 - (40 - n) * HOUR)

    _, applied = promote(engine, rules=rules)

    assert [(t.contact_id, t.rule) for t in applied.transitions] == [
        (done, "download_then_service_pages")
    ]


def test_a_hundred_leads_over_many_hours_are_spread_by_weight_within_one(
    engine: Engine,
) -> None:
    w = World(engine)
    heavy = w.owner("heavy@example.com", weight=3.0)
    middle = w.owner("middle@example.com", weight=2.0)
    light = w.owner("light@example.com", weight=1.0)
    w.owner("away@example.com", weight=5.0, active=False)
    hour = T0
    for batch in (1, 7, 13, 29, 50):
        for _ in range(batch):
            lead = w.contact(f"lead{w.seq}@x.example")
            w.seq += 1
            w.score(lead, 60, at=hour - HOUR / 2)
        promote(engine, as_of=hour)
        hour += HOUR

    with engine.connect() as conn:
        owners = conn.execute(select(OwnerAssignment.owner_id)).scalars().all()
    counts = {owner: owners.count(owner) for owner in (heavy, middle, light)}
    assert len(owners) == 100
    assert abs(counts[heavy] - 50) <= 1
    assert abs(counts[middle] - 100 * 2 / 6) <= 1
    assert abs(counts[light] - 100 / 6) <= 1


def test_a_demo_request_that_arrives_after_the_run_still_counts_next_hour(
    engine: Engine,
) -> None:
    w = World(engine)
    lead = w.contact("late@x.example", score=55)
    w.run("run-1", as_of=T0, started_at=T0 + HOUR / 3)
    promote(engine, run_id="run-1")
    # Occurred before the MQL promotion, but imported only after that run had started.
    w.event(lead, "form_submit", "demo_request", T0 - HOUR / 6, ingested_at=T0 + HOUR / 2)

    _, applied = promote(engine, as_of=T0 + HOUR, run_id="run-2")

    assert [(t.from_stage, t.to_stage.value) for t in applied.transitions] == [("mql", "sql")]
