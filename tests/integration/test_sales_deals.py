"""The demo's field-sales team opens and closes deals through `leadflow import deals`'s
wiring: deal-stage history, opportunities and won customers come from the product's code."""

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from app.sales_deal_sync import deal_line, deal_summary
from app.sales_deals import SYNC_AT, DealPlan, deal_id_of, plan_deal
from leadflow.db import make_engine
from leadflow.paths import DEFAULT_RULES_PATH
from models.rules import load_rules
from models.tables import Contact, Deal, DealStageHistory, Quarantine, StageHistory
from tasks.sla.calendar import BusinessCalendar
from tests.support.sales_world import TZ, seed_sql_contacts, tokyo_ten, work_daily
from tests.support.seeding import Seeder

RULES = load_rules(DEFAULT_RULES_PATH)
CALENDAR = BusinessCalendar(RULES.calendar, TZ)
FIRST_SQL = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Mon 11:00 in Tokyo
FIRST_DAY, DAYS = tokyo_ten(2026, 11, 3), 38  # to 2026-12-10: every plan has closed


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def planned(became: dict[int, datetime]) -> dict[int, DealPlan]:
    plans = {c: plan_deal(7, c, at, deals=RULES.deals, calendar=CALENDAR)
             for c, at in became.items()}
    return {c: p for c, p in plans.items() if p is not None}


def deal_history(engine: Engine, deal_id: str) -> list[tuple[str | None, str, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(DealStageHistory.from_stage, DealStageHistory.to_stage, DealStageHistory.at)
            .join(Deal, Deal.id == DealStageHistory.deal_id)
            .where(Deal.source_deal_id == deal_id)
            .order_by(DealStageHistory.at)
        ).all()
    return [(f, t, aware(at)) for f, t, at in rows]


def sync_of(day: date) -> datetime:
    """The daily CRM sync of `day` (17:00 in Tokyo), in UTC."""
    return datetime.combine(day, SYNC_AT, tzinfo=CALENDAR.zone).astimezone(UTC)


def test_a_simulated_month_yields_won_and_lost_deals_with_history_and_customers(
    engine: Engine,
) -> None:
    became = seed_sql_contacts(Seeder(engine), count=12, first_sql=FIRST_SQL)
    plans = planned(became)
    outcomes = [p.outcome for p in plans.values()]
    assert "won" in outcomes and "lost" in outcomes  # the world is worth testing

    days = work_daily(engine, rules=RULES, first=FIRST_DAY, days=DAYS)

    assert sum(d.deals.opened for d in days) == len(plans)
    assert sum(d.deals.quarantined for d in days) == 0
    with engine.connect() as conn:
        deals = {d.source_deal_id: d for d in conn.execute(select(Deal.__table__)).all()}
        stages = dict(conn.execute(select(Contact.id, Contact.lifecycle_stage)).tuples().all())
        assert conn.execute(select(func.count()).select_from(Quarantine)).scalar_one() == 0
    assert sorted(deals) == sorted(deal_id_of(c) for c in plans)
    for contact, plan in plans.items():
        deal = deals[plan.deal_id]
        last = plan.steps[-1]
        assert (deal.stage, deal.amount, deal.contact_id) == (plan.outcome, plan.amount, contact)
        assert aware(deal.created_at) == sync_of(plan.opened_on)
        assert aware(deal.closed_at) == last.closed_at
        assert deal.lost_reason == plan.lost_reason
        # Every stage the plan went through, dated by the daily sync; the close at closed_at.
        expected = [s.stage for s in plan.steps]
        history = deal_history(engine, plan.deal_id)
        assert [to for _, to, _ in history] == expected
        assert [f for f, _, _ in history] == [None, *expected[:-1]]
        assert [at for _, _, at in history] == [
            *(sync_of(s.day) for s in plan.steps[:-1]), last.closed_at
        ]
        assert stages[contact] == ("customer" if plan.outcome == "won" else "opportunity")
    won = next(c for c, p in plans.items() if p.outcome == "won")
    with engine.connect() as conn:
        moves = conn.execute(
            select(StageHistory.from_stage, StageHistory.to_stage, StageHistory.at,
                   StageHistory.rule)
            .where(StageHistory.contact_id == won, StageHistory.at > became[won])
            .order_by(StageHistory.at)
        ).all()
    assert [(f, t, aware(at), rule) for f, t, at, rule in moves] == [
        ("sql", "opportunity", sync_of(plans[won].opened_on), "deal_opened"),
        ("opportunity", "customer", plans[won].steps[-1].closed_at, "deal_won"),
    ]
    line = deal_line(deal_summary(engine, RULES.deals))
    won_count = outcomes.count("won")
    won_amount = sum(p.amount for p in plans.values() if p.outcome == "won")
    assert f"0 open, {won_count} won (¥{won_amount:,}), {outcomes.count('lost')} lost" in line


def test_rerunning_the_days_changes_nothing_and_a_recycled_contact_gets_no_deal(
    sqlite_database_url: str,
) -> None:
    engine = make_engine(sqlite_database_url)
    seed = Seeder(engine)
    became = seed_sql_contacts(seed, count=12, first_sql=FIRST_SQL)
    recycled = next(iter(planned(became)))
    seed.update_contact(recycled, lifecycle_stage="lead", lead_status="recycle")

    work_daily(engine, rules=RULES, first=FIRST_DAY, days=DAYS)
    again = work_daily(engine, rules=RULES, first=FIRST_DAY, days=DAYS)

    assert sum(d.deals.syncs for d in again) == 0
    with engine.connect() as conn:
        ids = set(conn.execute(select(Deal.source_deal_id)).scalars())
        count = conn.execute(select(func.count()).select_from(DealStageHistory)).scalar_one()
    assert deal_id_of(recycled) not in ids and len(ids) == len(planned(became)) - 1
    assert count == sum(len(planned(became)[c].steps) for c in planned(became) if c != recycled)
    files = sorted((Path(sqlite_database_url.removeprefix("sqlite:///")).parent / "csv" / "deals")
                   .glob("*.csv"))
    assert files and files[0].name.startswith("deals-2026-11-")
    engine.dispose()
