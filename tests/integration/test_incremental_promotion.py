"""An incremental promotion read decides exactly what a full read decides.

Before each hour is applied, the hour is decided twice on the same database: from only
the contacts whose decision can have changed since the previous run, and from every
candidate. Transitions, hot marks, owners (late ones too) and every composed hand-off
message must be equal; then the hour is applied (incrementally, as production runs it),
so the next hour compares on what the incremental decisions left behind.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from leadflow.db import ensure_database
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from leadflow.timeutil import utc_now
from models.messages import OutboxMessage
from models.rules import Rules, load_rules
from models.tables import Owner
from tasks.clock import Clock
from tasks.cycle import ALL_STEPS, CycleStep, run_cycle_hour
from tasks.promotion.decide import PromotionDecisions, decide_promotions
from tasks.promotion.hour import FLOW_NAME, compose_handoffs, promote_hour
from tasks.promotion.read import read_promotion_inputs
from tasks.promotion.read_scope import promotion_scope
from tasks.status.run import set_status
from tests.support.hours import hours_from, inside_one_flow
from tests.support.replay_world import TWO_DAYS_END, TWO_DAYS_START, seed_two_days
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(DEFAULT_RULES_PATH)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass
class Comparison:
    """What the hours compared: candidates read each way, and the decisions seen."""

    incremental_hours: int = 0
    full_candidates: int = 0
    incremental_candidates: int = 0
    transitions: int = 0
    hot: int = 0
    assignments: int = 0
    late: int = 0
    messages: int = 0
    promoted_at: dict[int, datetime] = field(default_factory=dict)


def decide_hour(
    settings: Settings, rules: Rules, as_of: datetime, *, full: bool
) -> tuple[int, bool, PromotionDecisions, list[OutboxMessage]]:
    """Read (full or incremental), decide and compose one hour without applying it."""
    with ensure_database(settings.database_url).connect() as conn:
        scope = promotion_scope(conn, flow=FLOW_NAME, rules=rules, as_of=as_of, full=full)
        inputs = read_promotion_inputs(conn, rules=rules, as_of=as_of, scope=scope)
    decisions = decide_promotions(
        inputs, rules, as_of=as_of, max_bad_row_share=settings.max_bad_row_share
    )
    messages = compose_handoffs.fn(settings.database_url, decisions, inputs, rules, settings)
    return len(inputs.contacts), scope.full, decisions, messages


def compare_hour(
    settings: Settings, rules: Rules, as_of: datetime, seen: Comparison
) -> None:
    """Decide `as_of` both ways and assert the same decisions and messages."""
    full_count, _, full, full_messages = decide_hour(settings, rules, as_of, full=True)
    count, was_full, incremental, messages = decide_hour(settings, rules, as_of, full=False)
    assert incremental.transitions == full.transitions, as_of
    assert incremental.hot == full.hot, as_of
    assert incremental.assignments == full.assignments, as_of
    assert incremental.awaiting_owner == full.awaiting_owner, as_of
    assert messages == full_messages, as_of
    if not was_full:
        seen.incremental_hours += 1
        seen.full_candidates += full_count
        seen.incremental_candidates += count
    seen.transitions += len(full.transitions)
    seen.hot += len(full.hot)
    seen.assignments += len(full.assignments)
    seen.late += sum(1 for a in full.assignments if a.late)
    seen.messages += len(full_messages)
    for transition in full.transitions:
        seen.promoted_at.setdefault(transition.contact_id, as_of)


@inside_one_flow
def test_forty_eight_cycle_hours_decide_the_same_promotions_read_incrementally_or_in_full(
    database_url: str, settings: Settings
) -> None:
    seed_two_days(database_url)
    cycle_settings = settings_for(database_url, outbox_dir=settings.outbox_dir,
                                  slack_console=True)
    seen = Comparison()
    for hour in hours_from(TWO_DAYS_START, TWO_DAYS_END):
        run_cycle_hour(settings=cycle_settings, rules=RULES, as_of=hour,
                       clock=Clock.SIMULATED, steps={CycleStep.SCORING})
        compare_hour(cycle_settings, RULES, hour, seen)
        outcome = run_cycle_hour(
            settings=cycle_settings, rules=RULES, as_of=hour, clock=Clock.SIMULATED,
            steps=set(ALL_STEPS) - {CycleStep.SCORING},
        )
        assert outcome.problems() == []

    # Every hour but the first read incrementally, far fewer contacts than a full read,
    # and the comparison compared moves to MQL and SQL with their owners and messages.
    assert seen.incremental_hours == 47
    assert seen.incremental_candidates < seen.full_candidates
    assert seen.transitions >= 3 and seen.assignments >= 3 and seen.messages >= 3


@inside_one_flow
def test_cool_downs_ending_owners_activated_late_events_and_status_moves_are_still_found(
    engine: Engine, settings: Settings
) -> None:
    start = datetime(2026, 11, 20, 0, tzinfo=UTC)
    w = Seeder(engine, created_at=start - 60 * DAY)
    inside = w.owner(email="is@example.com", team="is", active=False)
    w.owner(email="fs@example.com", team="fs", slack_user_id="UFS")
    # Recycled 30 days (the cool-down) before the fourth hour, active since: an MQL again
    # at that hour with no change of its own.
    cooled = w.contact(email="cooled@example.com", lifecycle_stage="lead")
    w.stage_change(contact_id=cooled, from_stage="mql", to_stage="lead",
                   at=start + 3 * HOUR - 30 * DAY, rule="recycle", kind="recycle")
    w.score(contact_id=cooled, score=70, at=start - 20 * DAY)
    w.event(contact_id=cooled, type="page_view", detail="pricing", occurred_at=start - 10 * DAY)
    # An MQL promoted while inside sales had nobody active: assigned once someone is.
    waiting = w.contact(email="waiting@example.com", lifecycle_stage="mql")
    w.stage_change(contact_id=waiting, from_stage="lead", to_stage="mql",
                   at=start - 2 * DAY, rule="mql_score")
    w.score(contact_id=waiting, score=60, at=start - 2 * DAY)
    # A demo request of two days ago, imported only before the third hour.
    late_import = w.contact(email="late@example.com", lifecycle_stage="lead")
    # An MQL owned by inside sales that a salesperson makes sales-ready before hour five.
    ready = w.contact(email="ready@example.com", lifecycle_stage="mql", lead_status="new")
    w.stage_change(contact_id=ready, from_stage="lead", to_stage="mql",
                   at=start - 3 * DAY, rule="mql_score")
    w.score(contact_id=ready, score=55, at=start - 3 * DAY)
    for n in range(8):
        quiet = w.contact(email=f"quiet{n}@example.com", lifecycle_stage="lead")
        w.score(contact_id=quiet, score=10 + n, at=start - 5 * DAY)

    seen = Comparison()
    for step, hour in enumerate(hours_from(start, start + 6 * HOUR)):
        if step == 2:
            w.event(contact_id=late_import, type="form_submit", detail="demo_request",
                    occurred_at=start - 2 * DAY, ingested_at=utc_now())
        if step == 3:
            with engine.begin() as conn:
                conn.execute(update(Owner).where(Owner.id == inside).values(active=True))
            w.assignment(contact_id=ready, owner_id=inside, at=start - 3 * DAY)
        if step == 4:
            for status in ("connected", "sales_ready"):
                set_status(engine, rules=RULES, email="ready@example.com", status=status,
                           at=hour - HOUR / 2, now=utc_now())
        compare_hour(settings, RULES, hour, seen)
        promote_hour(settings=settings, rules=RULES, as_of=hour)

    assert seen.incremental_hours == 6
    assert seen.promoted_at[cooled] == start + 3 * HOUR
    assert seen.promoted_at[late_import] == start + 2 * HOUR
    assert seen.late >= 2
    assert seen.incremental_candidates < seen.full_candidates


@inside_one_flow
def test_a_lower_mql_line_reads_every_candidate_again(engine: Engine, settings: Settings) -> None:
    start = datetime(2026, 11, 20, 0, tzinfo=UTC)
    w = Seeder(engine, created_at=start - 60 * DAY)
    w.owner(email="is@example.com", team="is")
    near = w.contact(email="near@example.com", lifecycle_stage="lead")
    w.score(contact_id=near, score=45, at=start - 5 * DAY)
    thresholds = RULES.scoring.thresholds.model_copy(update={"mql": 40})
    lower = RULES.model_copy(
        update={"scoring": RULES.scoring.model_copy(update={"thresholds": thresholds})}
    )

    first = promote_hour(settings=settings, rules=RULES, as_of=start)
    with ensure_database(settings.database_url).connect() as conn:
        scope = promotion_scope(conn, flow=FLOW_NAME, rules=lower, as_of=start + HOUR)
    second = promote_hour(settings=settings, rules=lower, as_of=start + HOUR)

    assert first.decisions.transitions == []
    assert (scope.full, scope.reason) == (True, "rules changed since the previous run")
    assert [(t.contact_id, t.to_stage.value) for t in second.decisions.transitions] == [
        (near, "mql")
    ]
