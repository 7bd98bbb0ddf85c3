"""The demo's field-sales team: deterministic, sensible deal plans for SQL contacts."""

from datetime import UTC, date, datetime, time, timedelta

from app.sales_deals import (
    AMOUNT_RANGE_JPY,
    AMOUNT_STEP_JPY,
    CLOSE_FROM,
    DWELL_DAYS,
    LOST_REASONS,
    OPEN_AFTER_DAYS,
    SYNC_AT,
    DealPlan,
    plan_deal,
    sync_instants,
)
from models.calendar_rules import CalendarRules
from models.deal_rules import DealRules
from tasks.sla.calendar import BusinessCalendar

DEALS = DealRules()
CALENDAR = BusinessCalendar(CalendarRules(), "Asia/Tokyo")
FASTEST = sum(low for low, _ in DWELL_DAYS.values())
SLOWEST = sum(high for _, high in DWELL_DAYS.values())
# Mon 2026-11-16 11:00 in Tokyo; the contacts become sql over the following fortnight.
FIRST_SQL = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


def sql_at(contact_id: int) -> datetime:
    return FIRST_SQL + timedelta(hours=7 * (contact_id % 48))


def plans(seed: int, contacts: range = range(1, 401)) -> dict[int, DealPlan | None]:
    return {
        cid: plan_deal(seed, cid, sql_at(cid), deals=DEALS, calendar=CALENDAR) for cid in contacts
    }


def test_the_same_seed_plans_the_same_deals_and_another_seed_other_deals() -> None:
    assert plans(7) == plans(7)
    assert plans(7) != plans(8)


def test_about_two_thirds_of_sql_contacts_get_a_deal_and_some_are_won_some_lost() -> None:
    made = [p for p in plans(7).values() if p is not None]
    assert 0.55 < len(made) / 400 < 0.75
    won = sum(1 for p in made if p.outcome == DEALS.won)
    lost = sum(1 for p in made if p.outcome == DEALS.lost)
    assert won + lost == len(made)
    assert 0.3 < won / len(made) < 0.6


def test_a_won_deal_passes_every_stage_in_order_and_a_lost_one_stops_early_with_a_reason() -> None:
    made = [p for p in plans(7).values() if p is not None]
    for plan in made:
        stages = [step.stage for step in plan.steps]
        open_stages = stages[:-1]
        assert open_stages == DEALS.stages[: len(open_stages)]
        if plan.outcome == DEALS.won:
            assert open_stages == DEALS.stages and plan.lost_reason is None
        else:
            assert plan.lost_reason in LOST_REASONS
    lost_at = {len(p.steps) - 1 for p in made if p.outcome == DEALS.lost}
    assert 1 in lost_at and len(lost_at) >= 3  # most die early, some late


def test_deals_open_a_few_business_days_after_sql_and_move_on_business_days() -> None:
    for cid, plan in plans(7).items():
        if plan is None:
            continue
        sql_day = sql_at(cid).astimezone(CALENDAR.zone).date()
        assert 1 <= business_days_between(sql_day, plan.opened_on) <= OPEN_AFTER_DAYS[1] + 1
        days = [step.day for step in plan.steps]
        assert all(CALENDAR.is_business_day(day) for day in days)
        assert days == sorted(set(days))  # one move per sync, never two the same day
        if plan.outcome == DEALS.won:  # each stage's dwell, from the shortest to the longest
            assert FASTEST <= business_days_between(days[0], days[-1]) <= SLOWEST


def business_days_between(first: date, last: date) -> int:
    count, day = 0, first
    while day < last:
        day = CALENDAR.next_business_day(day)
        count += 1
    return count


def test_amounts_are_whole_hundred_thousands_of_yen_between_one_and_ten_million() -> None:
    amounts = [p.amount for p in plans(7).values() if p is not None]
    low, high = AMOUNT_RANGE_JPY
    assert all(low <= a <= high and a % AMOUNT_STEP_JPY == 0 for a in amounts)
    assert min(amounts) < 2_000_000 and max(amounts) > 6_000_000


def test_a_deal_closes_in_business_hours_before_the_sync_of_its_last_day() -> None:
    for plan in (p for p in plans(7).values() if p is not None):
        last = plan.steps[-1]
        assert last.closed_at is not None
        local = last.closed_at.astimezone(CALENDAR.zone)
        assert local.date() == last.day and CLOSE_FROM <= local.time() < SYNC_AT
        assert all(step.closed_at is None for step in plan.steps[:-1])


def test_a_deal_is_at_the_latest_step_reached_by_a_day_and_nowhere_before_it_opens() -> None:
    plan = next(p for p in plans(7).values() if p is not None and p.outcome == DEALS.won)
    assert plan.state_on(plan.opened_on - timedelta(days=1)) is None
    assert plan.state_on(plan.opened_on) == plan.steps[0]
    assert plan.state_on(plan.steps[2].day) == plan.steps[2]
    assert plan.state_on(plan.steps[-1].day + timedelta(days=30)) == plan.steps[-1]


def test_the_crm_syncs_at_five_pm_tokyo_on_business_days_only() -> None:
    # Fri 2026-11-20 → Tue 2026-11-24: the weekend and Labour Thanksgiving (Mon 23rd) skipped.
    start = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    syncs = sync_instants(start, start + timedelta(days=4, hours=9), CALENDAR)
    local = [s.astimezone(CALENDAR.zone) for s in syncs]
    assert [d.date() for d in local] == [date(2026, 11, 20), date(2026, 11, 24)]
    assert all(d.time() == time(17, 0) for d in local)
    assert sync_instants(syncs[0], syncs[0] + timedelta(hours=23), CALENDAR) == []
    assert sync_instants(syncs[0] - timedelta(hours=1), syncs[0], CALENDAR) == [syncs[0]]
