"""An incremental SLA read decides exactly what a full read decides.

Before each hour's SLA step, the hour is decided twice on the same database: from only
the contacts whose clocks can have changed since the previous run (facts written or
dated since, and clocks whose due time or ladder level the hour reaches), and from every
unsettled contact. Clocks, escalations, follow-up tasks and every composed message must
be equal; then the hour is applied as production runs it, so the next hour compares on
what the incremental runs left behind. The week crosses a weekend and a holiday, so
levels counted in business time come due while nothing is written.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from leadflow.db import ensure_database
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.messages import OutboxMessage
from models.rules import Rules, load_rules
from tasks.clock import Clock
from tasks.cycle import CycleStep, run_cycle_hour
from tasks.sla.decide import decide_sla
from tasks.sla.decisions import SlaDecisions
from tasks.sla.hour import FLOW_NAME, compose, sla_hour
from tasks.sla.read import read_sla_inputs
from tasks.sla.read_scope import sla_scope
from tests.support.hours import inside_one_flow
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.sla_replay_world import SLA_WEEK_HOURS, seed_sla_week, write_late_facts

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(DEFAULT_RULES_PATH)
HOUR = timedelta(hours=1)


@dataclass
class Comparison:
    """What the hours compared: contacts read each way, and the decisions seen."""

    incremental_hours: int = 0
    full_contacts: int = 0
    incremental_contacts: int = 0
    clocks: int = 0
    follow_ups: int = 0
    messages: int = 0
    # policy:level of every escalation decided in an incremental hour, with the hours.
    levels: dict[str, list[datetime]] = field(default_factory=dict)


def decide_hour(
    settings: Settings, rules: Rules, as_of: datetime, *, full: bool
) -> tuple[int, bool, SlaDecisions, list[OutboxMessage]]:
    """Read (full or incremental), decide and compose one SLA hour without applying it."""
    with ensure_database(settings.database_url).connect() as conn:
        scope = sla_scope(conn, flow=FLOW_NAME, rules=rules, as_of=as_of, tz=settings.tz, full=full)
        inputs = read_sla_inputs(conn, rules=rules, as_of=as_of, scope=scope)
    decisions = decide_sla(
        inputs, rules, tz=settings.tz, max_bad_row_share=settings.max_bad_row_share
    )
    messages, _ = compose.fn(settings.database_url, decisions, inputs, rules, settings)
    return len(inputs.contacts), scope.full, decisions, messages


def compare_hour(settings: Settings, rules: Rules, as_of: datetime, seen: Comparison) -> None:
    """Decide `as_of` both ways and assert the same decisions and messages."""
    full_count, _, full, full_messages = decide_hour(settings, rules, as_of, full=True)
    count, was_full, incremental, messages = decide_hour(settings, rules, as_of, full=False)
    assert incremental.clocks == full.clocks, as_of
    assert incremental.escalations == full.escalations, as_of
    assert incremental.follow_ups == full.follow_ups, as_of
    assert messages == full_messages, as_of
    if was_full:
        return
    seen.incremental_hours += 1
    seen.full_contacts += full_count
    seen.incremental_contacts += count
    seen.clocks += len(full.clocks)
    seen.follow_ups += len(full.follow_ups)
    seen.messages += len(full_messages)
    for escalation in full.escalations:
        seen.levels.setdefault(f"{escalation.policy}:{escalation.level}", []).append(as_of)


@inside_one_flow
def test_a_week_of_sla_hours_decides_the_same_read_incrementally_or_in_full(
    engine: Engine, database_url: str, settings: Settings
) -> None:
    people = seed_sla_week(engine)
    cycle = settings_for(database_url, outbox_dir=settings.outbox_dir, slack_console=True)
    seen = Comparison()
    previous = None
    for step, hour in enumerate(SLA_WEEK_HOURS):
        write_late_facts(engine, RULES, step=step, hour=hour, previous=previous, people=people)
        before = run_cycle_hour(
            settings=cycle,
            rules=RULES,
            as_of=hour,
            clock=Clock.SIMULATED,
            steps={CycleStep.PROMOTION, CycleStep.RECYCLING},
        )
        compare_hour(cycle, RULES, hour, seen)
        after = run_cycle_hour(
            settings=cycle, rules=RULES, as_of=hour, clock=Clock.SIMULATED, steps={CycleStep.SLA}
        )
        assert before.problems() == [] and after.problems() == []
        previous = hour

    # Every hour but the first read incrementally, far fewer contacts than a full read.
    assert seen.incremental_hours == len(SLA_WEEK_HOURS) - 1
    assert seen.incremental_contacts * 3 < seen.full_contacts
    # Every ladder level of the default policies fired in some incremental hour, levels
    # in business time after the weekend and the holiday too.
    assert set(seen.levels) >= {
        "first_touch:1",
        "first_touch:2",
        "first_touch:3",
        "follow_ups:1",
        "follow_ups:2",
        "follow_ups:3",
        "sql_decision:1",
        "stale_new:1",
    }
    tuesday = datetime(2026, 11, 23, 15, tzinfo=UTC)  # Tuesday 00:00 in Tokyo
    assert any(at >= tuesday for at in seen.levels["sql_decision:1"])
    assert any(at >= tuesday for at in seen.levels["follow_ups:2"])
    assert seen.clocks >= 20 and seen.follow_ups >= 10 and seen.messages >= 10


@inside_one_flow
def test_a_changed_calendar_or_a_run_without_read_ids_reads_every_contact_again(
    engine: Engine, settings: Settings
) -> None:
    start = datetime(2026, 11, 17, 1, tzinfo=UTC)
    w = Seeder(engine, created_at=start - timedelta(days=30))
    lead = w.contact(email="a@example.com", lifecycle_stage="mql")
    w.stage_change(
        contact_id=lead, from_stage="lead", to_stage="mql", at=start - HOUR, rule="mql_score"
    )
    calendar = RULES.calendar.model_copy(update={"closures": []})
    no_closures = RULES.model_copy(update={"calendar": calendar})

    sla_hour(settings=settings, rules=RULES, as_of=start)
    with ensure_database(settings.database_url).connect() as conn:
        same = sla_scope(conn, flow=FLOW_NAME, rules=RULES, as_of=start + HOUR, tz=settings.tz)
        changed = sla_scope(
            conn, flow=FLOW_NAME, rules=no_closures, as_of=start + HOUR, tz=settings.tz
        )
        elsewhere = sla_scope(
            conn, flow=FLOW_NAME, rules=RULES, as_of=start + HOUR, tz="America/New_York"
        )

    assert (same.full, same.candidates) == (False, [])
    assert (changed.full, changed.reason) == (True, "rules changed since the previous run")
    assert elsewhere.full
