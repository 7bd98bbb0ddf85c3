"""Scoring an hour in contact-id batches, one after another, gives what one batch gives."""

from pathlib import Path

import pytest
from sqlalchemy import Engine

from leadflow.settings import Settings
from models.rules import load_rules
from tasks.scoring.hour import score_hour
from tests.support.hours import inside_one_flow
from tests.support.scoring_state import (
    HOUR,
    T0,
    assert_same_changes,
    comparable,
    forget_scoring,
    runs_at,
    scoring_state,
    seed_dataset,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "default.yaml")


@inside_one_flow
def test_a_full_and_an_incremental_hour_in_batches_of_fifty_score_the_same_as_one_batch(
    engine: Engine, settings: Settings
) -> None:
    seed_dataset(engine)
    whole = settings.model_copy(update={"scoring_batch_contacts": 0})
    single_full = score_hour(settings=whole, rules=RULES, as_of=T0)
    after_full = scoring_state(engine)
    single_next = score_hour(settings=whole, rules=RULES, as_of=T0 + HOUR)
    after_next = scoring_state(engine)
    assert single_full.quarantined and not single_next.full
    assert single_next.candidates > 5

    forget_scoring(engine)
    batched = settings.model_copy(update={"scoring_batch_contacts": 50})
    full = score_hour(settings=batched, rules=RULES, as_of=T0)
    assert scoring_state(engine) == after_full
    assert comparable(full) == comparable(single_full)
    assert_same_changes(full, single_full)
    assert runs_at(engine, T0) == 1
    assert set(full.beat_seconds) >= {"plan", "read", "decide", "apply", "shards"}

    # A quiet hour has a few candidates: smaller batches, so it is split too.
    smaller = settings.model_copy(update={"scoring_batch_contacts": 5})
    following = score_hour(settings=smaller, rules=RULES, as_of=T0 + HOUR)
    assert scoring_state(engine) == after_next
    assert comparable(following) == comparable(single_next)
    assert_same_changes(following, single_next)
    assert "shards" in following.beat_seconds
    assert runs_at(engine, T0 + HOUR) == 1


@inside_one_flow
def test_an_hour_within_the_batch_size_is_scored_in_one_go(
    engine: Engine, settings: Settings
) -> None:
    seed_dataset(engine)
    outcome = score_hour(
        settings=settings.model_copy(update={"scoring_batch_contacts": 1000}), rules=RULES,
        as_of=T0,
    )
    assert outcome.candidates == 300
    assert "shards" not in outcome.beat_seconds
