"""Recycling hours against the real store: unreachable leads, lost deals, retry reminders."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import (
    Contact,
    LeadStatusHistory,
    NurtureEnrollment,
    Outbox,
    OwnerAssignment,
    Quarantine,
    StageHistory,
)
from tasks.nurture.hour import nurture_hour
from tasks.promotion.hour import promote_hour
from tasks.recycling.hour import recycle_hour
from tasks.recycling.report import RecyclingOutcome, recycling_markdown
from tests.support.hours import inside_one_flow
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "default.yaml")
# Wednesday 2026-05-13 11:00 in Tokyo.
T = datetime(2026, 5, 13, 2, tzinfo=UTC)
HANDOFF = T - timedelta(days=2)
HOUR = timedelta(hours=1)


@pytest.fixture
def w(engine: Engine) -> Seeder:
    """The seeder for a world created a month before T."""
    return Seeder(engine, created_at=T - timedelta(days=30))


@pytest.fixture
def owners(w: Seeder) -> dict[str, int]:
    """An inside-sales owner on Slack and a marketing owner."""
    return {
        "is": w.owner(email="is@example.com", name="佐藤", team="is", slack_user_id="UIS1"),
        "marketing": w.owner(email="mkt@example.com", name="Marketing", team="marketing"),
    }


def mql(w: Seeder, owners: dict[str, int], email: str = "lead@example.com") -> int:
    """A consenting MQL handed to inside sales at HANDOFF, status attempting."""
    contact_id = w.contact(email=email, last_name="山田", first_name="花子", consent=True,
                           lifecycle_stage="mql", owner_id=owners["is"])
    w.stage_change(contact_id=contact_id, from_stage="lead", to_stage="mql", at=HANDOFF,
                   rule="mql_score")
    w.lead_status_change(contact_id=contact_id, from_status=None, to_status="new", at=HANDOFF,
                         source="promotion")
    return contact_id


def calls(w: Seeder, contact_id: int, *outcomes: str) -> None:
    for i, outcome in enumerate(outcomes, start=1):
        w.activity(contact_id=contact_id, type="call", outcome=outcome,
                   occurred_at=HANDOFF + i * 3 * HOUR)


def recycle(settings: Settings, as_of: datetime = T, **kwargs: Any) -> RecyclingOutcome:
    """One recycling hour, exactly as the lead-recycling flow runs it."""
    return recycle_hour(settings=settings, rules=RULES, as_of=as_of, **kwargs)


def contact_row(engine: Engine, contact_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(Contact).where(Contact.id == contact_id)).one()


def stage_rows(engine: Engine, contact_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(StageHistory).where(StageHistory.contact_id == contact_id)
                .order_by(StageHistory.at)
            ).all()
        )


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.__tablename__: int(conn.execute(select(func.count()).select_from(table))
                                     .scalar_one())
            for table in (StageHistory, LeadStatusHistory, OwnerAssignment, Outbox)
        }


@inside_one_flow
def test_three_unanswered_calls_recycle_an_mql_and_the_next_nurture_run_enrols_it(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = mql(w, owners)
    calls(w, lead, "no_answer", "voicemail", "no_answer")

    outcome = recycle(settings)

    row = contact_row(engine, lead)
    assert (row.lifecycle_stage, row.lead_status) == ("lead", "recycle")
    assert row.owner_id == owners["marketing"]
    back = stage_rows(engine, lead)[-1]
    assert (back.from_stage, back.to_stage, back.kind, back.reason) == (
        "mql", "lead", "recycle", "unreachable"
    )
    assert back.at == HANDOFF + 9 * HOUR  # the third unanswered call
    with engine.connect() as conn:
        status = conn.execute(
            select(LeadStatusHistory).where(LeadStatusHistory.to_status == "recycle")
        ).one()
    assert (status.from_status, status.source, status.reason) == (
        "new", "recycling", "unreachable"
    )
    assert outcome.summary()["recycled"] == {"unreachable": 1}
    assert "| unreachable | 1 | 1 |" in recycling_markdown(outcome)

    nurture_hour(settings=settings, rules=RULES, as_of=T + HOUR)

    with engine.connect() as conn:
        programs = list(
            conn.execute(
                select(NurtureEnrollment.program).where(NurtureEnrollment.contact_id == lead)
            ).scalars()
        )
    assert programs == ["recycled"]


@inside_one_flow
def test_two_unanswered_calls_do_not_recycle(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = mql(w, owners)
    calls(w, lead, "no_answer", "no_answer")

    outcome = recycle(settings)

    assert contact_row(engine, lead).lifecycle_stage == "mql"
    assert outcome.summary()["recycled"] == {}


@inside_one_flow
def test_a_connected_call_in_between_keeps_the_lead_with_sales(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = mql(w, owners)
    calls(w, lead, "no_answer", "connected", "no_answer", "voicemail")

    recycle(settings)

    row = contact_row(engine, lead)
    assert (row.lifecycle_stage, row.owner_id) == ("mql", owners["is"])


@inside_one_flow
def test_a_recycled_lead_without_a_marketing_owner_has_no_owner(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    owner = w.owner(email="is@example.com", team="is")
    lead = mql(w, {"is": owner})
    calls(w, lead, "no_answer", "no_answer", "no_answer")

    recycle(settings)

    row = contact_row(engine, lead)
    assert (row.lifecycle_stage, row.owner_id) == ("lead", None)


@inside_one_flow
def test_a_portal_that_names_its_lost_outcome_differently_is_recycled_by_that_name(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    rules = RULES.model_copy(update={"deals": RULES.deals.model_copy(
        update={"lost": "verloren", "aliases": {"closedlost": "verloren"}})})
    person = w.contact(email="kunde@example.com", lifecycle_stage="opportunity",
                       owner_id=owners["is"])
    w.deal(contact_id=person, stage="Verloren", closed_at=T - HOUR)

    recycle_hour(settings=settings, rules=rules, as_of=T)

    assert contact_row(engine, person).lifecycle_stage == "lost_renurture"


@inside_one_flow
def test_a_lost_deal_sends_its_contact_to_lost_renurture_and_marketing(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    person = w.contact(email="buyer@example.com", consent=True, lifecycle_stage="opportunity",
                       owner_id=owners["is"])
    w.stage_change(contact_id=person, from_stage="sql", to_stage="opportunity",
                   at=T - timedelta(days=20), rule="deal")
    w.deal(contact_id=person, stage="closedlost", closed_at=T - 5 * HOUR,
           lost_reason="価格が合わない")

    outcome = recycle(settings)

    row = contact_row(engine, person)
    assert (row.lifecycle_stage, row.owner_id) == ("lost_renurture", owners["marketing"])
    moved = stage_rows(engine, person)[-1]
    assert (moved.kind, moved.reason, moved.at) == ("renurture", "価格が合わない", T - 5 * HOUR)
    assert outcome.summary()["renurtured"] == 1

    nurture_hour(settings=settings, rules=RULES, as_of=T + HOUR)

    with engine.connect() as conn:
        program = conn.execute(
            select(NurtureEnrollment.program).where(NurtureEnrollment.contact_id == person)
        ).scalar_one()
    assert program == "lost_deal"


@inside_one_flow
def test_an_imported_unqualified_status_disqualifies_and_a_recycle_status_recycles(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    no_fit = mql(w, owners, "student@example.com")
    w.lead_status_change(contact_id=no_fit, from_status="new", to_status="unqualified",
                         at=T - 2 * HOUR, source="import", reason="学生")
    not_yet = mql(w, owners, "later@example.com")
    w.lead_status_change(contact_id=not_yet, from_status="new", to_status="recycle",
                         at=T - 2 * HOUR, source="import", reason="来期に再検討")

    outcome = recycle(settings)

    assert contact_row(engine, no_fit).lifecycle_stage == "other"
    recycled = contact_row(engine, not_yet)
    assert (recycled.lifecycle_stage, recycled.owner_id) == ("lead", owners["marketing"])
    assert stage_rows(engine, not_yet)[-1].reason == "来期に再検討"
    summary = outcome.summary()
    assert (summary["recycled"], summary["disqualified"]) == ({"来期に再検討": 1}, 1)


@inside_one_flow
def test_a_retry_date_reminds_the_owner_once_that_day_on_slack_and_by_email(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings,
    slack_api: FakeSlackApi,
) -> None:
    live = settings_for(
        settings.database_url, slack_token=slack_api.TOKEN, slack_api_url=slack_api.url
    )
    lead = mql(w, owners)
    w.lead_status_change(contact_id=lead, from_status="new", to_status="retry",
                         at=T - timedelta(days=7), reason="予算会議の後に",
                         retry_at=T - HOUR)

    first = recycle(live)
    rerun = recycle(live)
    later = recycle(live, as_of=T + 2 * HOUR)

    [posted] = slack_api.posted()
    assert posted["channel"] == "DUIS1"
    assert "再アプローチ予定日" in str(posted["blocks"])
    assert first.summary()["reminders_enqueued"] == 2
    assert (first.summary()["slack_sent"], first.summary()["email_sent"]) == (1, 1)
    assert rerun.superseded_by == T.isoformat()
    assert later.summary()["reminders_decided"] == 2
    assert later.summary()["reminders_enqueued"] == 0
    with engine.connect() as conn:
        emails = list(
            conn.execute(
                select(Outbox.payload).where(Outbox.channel == "internal_email")
            ).scalars()
        )
    assert [e["to"] for e in emails] == ["is@example.com"]
    assert contact_row(engine, lead).lead_status == "retry"


def recycled_lead(w: Seeder, owners: dict[str, int], settings: Settings) -> int:
    """An MQL recycled as unreachable at its third call (RECYCLED_AT), keeping score 65."""
    lead = mql(w, owners)
    calls(w, lead, "no_answer", "no_answer", "no_answer")
    recycle(settings)
    w.score(contact_id=lead, score=65, at=T + HOUR)
    return lead


COOLDOWN = timedelta(days=RULES.promotion.recycle_cooldown_days)
RECYCLED_AT = HANDOFF + 9 * HOUR  # the third unanswered call


@inside_one_flow
def test_a_recycled_lead_with_new_behaviour_becomes_mql_again_by_score_after_the_cooldown(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = recycled_lead(w, owners, settings)
    w.event(contact_id=lead, type="page_view", detail="blog", occurred_at=T + 4 * HOUR)

    promote_hour(settings=settings, rules=RULES, as_of=RECYCLED_AT + COOLDOWN)

    row = contact_row(engine, lead)
    assert (row.lifecycle_stage, row.lead_status) == ("mql", "new")
    assert [(r.to_stage, r.kind) for r in stage_rows(engine, lead)] == [
        ("mql", "forward"), ("lead", "recycle"), ("mql", "forward"),
    ]


@inside_one_flow
def test_a_recycled_lead_stays_with_marketing_on_its_score_within_the_cooldown_even_if_active(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = recycled_lead(w, owners, settings)
    w.event(contact_id=lead, type="page_view", detail="pricing", occurred_at=T + 4 * HOUR)

    promote_hour(settings=settings, rules=RULES, as_of=T + 6 * HOUR)
    promote_hour(settings=settings, rules=RULES, as_of=RECYCLED_AT + COOLDOWN - HOUR)

    assert contact_row(engine, lead).lifecycle_stage == "lead"


@inside_one_flow
def test_a_recycled_lead_silent_since_the_recycle_stays_with_marketing_after_the_cooldown(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = recycled_lead(w, owners, settings)

    promote_hour(settings=settings, rules=RULES, as_of=RECYCLED_AT + COOLDOWN)
    assert contact_row(engine, lead).lifecycle_stage == "lead"

    w.event(contact_id=lead, type="page_view", detail="pricing",
            occurred_at=RECYCLED_AT + COOLDOWN + HOUR / 2)
    promote_hour(settings=settings, rules=RULES, as_of=RECYCLED_AT + COOLDOWN + HOUR)
    assert contact_row(engine, lead).lifecycle_stage == "mql"


@inside_one_flow
def test_a_demo_request_promotes_a_recycled_lead_to_sql_at_once_within_the_cooldown(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = recycled_lead(w, owners, settings)
    w.event(contact_id=lead, type="form_submit", detail="demo_request",
            occurred_at=T + 4 * HOUR)

    promote_hour(settings=settings, rules=RULES, as_of=T + 6 * HOUR)

    assert contact_row(engine, lead).lifecycle_stage == "sql"
    assert stage_rows(engine, lead)[-1].rule == "demo_request"


@inside_one_flow
def test_rerunning_an_hour_or_running_the_next_one_changes_nothing(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = mql(w, owners)
    calls(w, lead, "no_answer", "no_answer", "no_answer")
    buyer = w.contact(email="buyer@example.com", lifecycle_stage="opportunity")
    w.deal(contact_id=buyer, stage="Lost", closed_at=T - HOUR)
    recycle(settings)
    after_first = row_counts(engine)

    again = recycle(settings)
    next_hour = recycle(settings, as_of=T + HOUR)

    assert row_counts(engine) == after_first
    assert again.superseded_by == T.isoformat()
    assert next_hour.decisions.counts() == {
        "recycled": 0, "disqualified": 0, "renurtured": 0, "retry_reminders": 0,
        "retry_without_owner": 0,
    }


@inside_one_flow
def test_a_dry_run_decides_and_writes_nothing(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = mql(w, owners)
    calls(w, lead, "no_answer", "no_answer", "no_answer")
    before = row_counts(engine)

    outcome = recycle(settings, dry_run=True)

    assert outcome.decisions.counts()["recycled"] == 1
    assert row_counts(engine) == before
    assert contact_row(engine, lead).lifecycle_stage == "mql"
    assert "(dry run: nothing written)" in recycling_markdown(outcome)


@inside_one_flow
def test_a_contact_with_an_unknown_lead_status_is_quarantined_and_the_rest_still_recycled(
    engine: Engine, w: Seeder, owners: dict[str, int], settings: Settings
) -> None:
    lead = mql(w, owners)
    calls(w, lead, "no_answer", "no_answer", "no_answer")
    odd = w.contact(email="odd@example.com", lifecycle_stage="opportunity",
                    lead_status="on_hold", owner_id=owners["is"])
    w.deal(contact_id=odd, stage="closedlost", closed_at=T - HOUR)

    outcome = recycle(settings)

    assert contact_row(engine, lead).lifecycle_stage == "lead"
    assert contact_row(engine, odd).lifecycle_stage == "opportunity"
    with engine.connect() as conn:
        stored = conn.execute(
            select(Quarantine.source, Quarantine.row_number, Quarantine.field,
                   Quarantine.value, Quarantine.run_id)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("recycling:contacts", odd, "lead_status", "on_hold", outcome.run_id)
    ]
    assert outcome.summary()["quarantined"] == 1
    assert "1 input rows quarantined" in recycling_markdown(outcome)
