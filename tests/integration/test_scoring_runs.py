"""Scoring hours against the real store: reruns, increments, window expiry, dry runs."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from leadflow.settings import Settings
from models.rules import Rules, load_rules
from models.tables import Contact, ScoreSnapshot
from tasks.scoring.decide import decide_scoring
from tasks.scoring.hour import FLOW_NAME, score_hour
from tasks.scoring.read import read_for_run
from tasks.scoring.report import ScoringOutcome
from tests.support.hours import inside_one_flow
from tests.support.seeding import Seeder

pytestmark = pytest.mark.usefixtures("prefect_harness")

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)


def score(
    settings: Settings, as_of: datetime, *, rules: Rules = RULES, **options: Any
) -> ScoringOutcome:
    """One scoring hour, exactly as the hourly-scoring flow runs it."""
    return score_hour(settings=settings, rules=rules, as_of=as_of, **options)


def snapshot_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ScoreSnapshot)).scalar_one())


def current_score(engine: Engine, contact_id: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(Contact.score).where(Contact.id == contact_id)).scalar_one()


@inside_one_flow
def test_a_rerun_of_the_same_hour_writes_nothing_new_and_gives_identical_scores(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    a = seed.contact(email="a@example.com", job_title="部長")
    seed.contact(email="b@example.com")
    seed.event(contact_id=a, type="form_submit", detail="demo_request", occurred_at=T0 - HOUR)
    first = score(settings, T0)
    before = snapshot_count(engine)
    second = score(settings, T0)
    assert first.snapshots_written == 2
    assert second.snapshots_written == 0
    assert snapshot_count(engine) == before
    assert second.changed.empty


@inside_one_flow
def test_deciding_twice_from_the_same_store_gives_identical_frames(
    engine: Engine, seed: Seeder
) -> None:
    a = seed.contact(email="a@example.com", job_title="Manager")
    seed.event(contact_id=a, type="page_view", detail="pricing", occurred_at=T0 - HOUR)
    seed.event(contact_id=a, type="email_open", detail="nl-1", occurred_at=T0 - 2 * HOUR)
    decisions = []
    for _ in range(2):
        with engine.connect() as conn:
            inputs = read_for_run(conn, flow=FLOW_NAME, rules=RULES, as_of=T0, full=True)
        decisions.append(decide_scoring(inputs, rules=RULES, max_bad_row_share=0.2))
    pd.testing.assert_frame_equal(decisions[0].scores, decisions[1].scores)


@inside_one_flow
def test_the_next_hour_rescores_only_contacts_with_new_events(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    ids = [seed.contact(email=f"c{i}@example.com") for i in range(5)]
    score(settings, T0)
    seed.event(
        contact_id=ids[2], type="email_open", detail="nl-9",
        occurred_at=T0 + timedelta(minutes=30),
    )
    outcome = score(settings, T0 + HOUR)
    assert not outcome.full
    assert outcome.candidates == 1
    assert outcome.snapshots_written == 1
    assert current_score(engine, ids[2]) == 3


@inside_one_flow
def test_a_pricing_view_leaving_its_window_lowers_the_score_without_new_events(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    contact = seed.contact(email="window@example.com")
    other = seed.contact(email="quiet@example.com")
    viewed = T0 - timedelta(days=30) + timedelta(minutes=30)
    seed.event(contact_id=contact, type="page_view", detail="pricing", occurred_at=viewed)
    score(settings, T0)
    assert current_score(engine, contact) == 10
    outcome = score(settings, T0 + HOUR)
    assert outcome.candidates == 1
    assert current_score(engine, contact) == 0
    assert current_score(engine, other) == 0


@inside_one_flow
def test_a_dry_run_decides_but_writes_nothing(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    contact = seed.contact(email="dry@example.com")
    seed.event(contact_id=contact, type="webinar_attended", detail="wb-1", occurred_at=T0 - HOUR)
    outcome = score(settings, T0, dry_run=True)
    assert outcome.scored == 1
    assert len(outcome.changed) == 1
    assert outcome.snapshots_written == 0
    assert snapshot_count(engine) == 0
    assert current_score(engine, contact) is None


@inside_one_flow
def test_backfilling_an_older_hour_keeps_the_newer_current_score(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    contact = seed.contact(email="late@example.com")
    seed.event(
        contact_id=contact, type="form_submit", detail="demo_request", occurred_at=T0 - HOUR
    )
    score(settings, T0)
    outcome = score(settings, T0 - 2 * HOUR, full=True)
    assert outcome.snapshots_written == 1
    assert current_score(engine, contact) == 25


@inside_one_flow
def test_changing_the_rules_rescores_everyone(seed: Seeder, settings: Settings) -> None:
    for i in range(3):
        seed.contact(email=f"r{i}@example.com", job_title="Director")
    score(settings, T0)
    preset = load_rules(ROOT / "rules" / "presets" / "fit40_behaviour60.yaml")
    outcome = score(settings, T0 + HOUR, rules=preset)
    assert outcome.full
    assert outcome.candidates == 3
    assert outcome.snapshots_written == 3


@inside_one_flow
def test_editing_only_a_nurture_program_does_not_rescore_everyone(
    seed: Seeder, settings: Settings
) -> None:
    seed.contact(email="n@example.com")
    score(settings, T0)
    data = RULES.model_dump(mode="json")
    data["name"] = "renamed, same scoring"
    outcome = score(settings, T0 + HOUR, rules=type(RULES).model_validate(data))
    assert not outcome.full


@inside_one_flow
def test_a_large_batch_is_applied_the_same_way_as_a_small_one(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    from tasks.scoring.apply import COPY_THRESHOLD

    count = COPY_THRESHOLD + 10
    seed.contacts(
        emails=[f"bulk{i}@example.com" for i in range(count)], job_title="Manager", created_at=T0
    )
    first = score(settings, T0)
    assert first.snapshots_written == count
    assert first.contacts_updated == count
    assert score(settings, T0).snapshots_written == 0
    with engine.connect() as conn:
        scores = set(conn.execute(select(Contact.score)).scalars())
        breakdown = conn.execute(select(ScoreSnapshot.breakdown).limit(1)).scalar_one()
    assert scores == {10}
    assert breakdown["signals"][0]["signal"] == "manager_or_above"
