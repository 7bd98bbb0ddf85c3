"""Recycling's narrow read decides exactly what reading every candidate decides.

The read leaves out the leads sales has not called often enough to be unreachable and
the retries whose date is not near: at scale that is nearly every lead in sales' hands.
Over a replayed week (unreachable calls, statuses, a lost deal, a retry date, late
facts), each hour is decided from both reads before it is applied.
"""

from datetime import datetime

import pytest
from sqlalchemy import Engine

from leadflow.db import ensure_database
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import load_rules
from tasks.clock import Clock
from tasks.cycle import CycleStep, run_cycle_hour
from tasks.recycling.decide import decide_recycling
from tasks.recycling.decisions import RecyclingDecisions
from tasks.recycling.read import read_recycling_frames
from tests.support.hours import inside_one_flow
from tests.support.settings import settings_for
from tests.support.sla_replay_world import SLA_WEEK_HOURS, seed_sla_week, write_late_facts

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(DEFAULT_RULES_PATH)


def decide_hour(
    settings: Settings, as_of: datetime, *, every: bool
) -> tuple[int, RecyclingDecisions]:
    """Read (narrow, or every candidate) and decide one recycling hour."""
    with ensure_database(settings.database_url).connect() as conn:
        frames = read_recycling_frames(
            conn,
            as_of=as_of,
            lost_stages=RULES.deals.lost_names(),
            recycling=RULES.recycling,
            every_candidate=every,
        )
    decisions = decide_recycling(
        frames,
        rules=RULES,
        as_of=as_of,
        tz=settings.tz,
        max_bad_row_share=settings.max_bad_row_share,
    )
    return len(frames.contacts), decisions


@inside_one_flow
def test_a_week_of_recycling_hours_decides_the_same_from_the_narrow_read(
    engine: Engine, database_url: str, settings: Settings
) -> None:
    people = seed_sla_week(engine)
    cycle = settings_for(database_url, outbox_dir=settings.outbox_dir, slack_console=True)
    read = {"narrow": 0, "every": 0}
    decided = {"recycled": 0, "renurtured": 0, "retry_reminders": 0}
    previous = None
    for step, hour in enumerate(SLA_WEEK_HOURS):
        write_late_facts(engine, RULES, step=step, hour=hour, previous=previous, people=people)
        run_cycle_hour(
            settings=cycle,
            rules=RULES,
            as_of=hour,
            clock=Clock.SIMULATED,
            steps={CycleStep.PROMOTION},
        )
        narrow_count, narrow = decide_hour(cycle, hour, every=False)
        every_count, every = decide_hour(cycle, hour, every=True)
        assert narrow.recycles == every.recycles, hour
        assert narrow.transitions == every.transitions, hour
        assert narrow.reminders == every.reminders, hour
        assert narrow.unowned_retries == every.unowned_retries, hour
        read["narrow"] += narrow_count
        read["every"] += every_count
        for name in decided:
            decided[name] += every.counts()[name]
        outcome = run_cycle_hour(
            settings=cycle,
            rules=RULES,
            as_of=hour,
            clock=Clock.SIMULATED,
            steps={CycleStep.RECYCLING, CycleStep.SLA},
        )
        assert outcome.problems() == []
        previous = hour

    # The hours recycled an unreachable lead, re-nurtured the lost deal and reminded the
    # retry's owner, from a read a fraction of the size.
    assert all(count >= 1 for count in decided.values()), decided
    assert read["narrow"] * 3 < read["every"]
