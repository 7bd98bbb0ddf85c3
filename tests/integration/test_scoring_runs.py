"""Scoring runs against the real store: reruns, increments, window expiry, dry runs."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select

from models.rules import load_rules
from models.tables import Contact, ScoreSnapshot
from tasks.scoring import decide_scoring, read_for_run, run_scoring

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)


def snapshot_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ScoreSnapshot)).scalar_one())


def current_score(engine: Engine, contact_id: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(Contact.score).where(Contact.id == contact_id)).scalar_one()


def test_rerun_of_the_same_hour_writes_nothing_new_and_gives_identical_scores(
    engine: Engine, seed: object
) -> None:
    a = seed.contact("a@example.com", job_title="部長")  # type: ignore[attr-defined]
    seed.contact("b@example.com")  # type: ignore[attr-defined]
    seed.event(a, "form_submit", "demo_request", T0 - HOUR)  # type: ignore[attr-defined]
    first = run_scoring(engine, rules=RULES, as_of=T0)
    before = snapshot_count(engine)
    second = run_scoring(engine, rules=RULES, as_of=T0)
    assert first.snapshots_written == 2
    assert second.snapshots_written == 0
    assert snapshot_count(engine) == before
    assert second.changed.empty


def test_deciding_twice_from_the_same_store_gives_identical_frames(
    engine: Engine, seed: object
) -> None:
    a = seed.contact("a@example.com", job_title="Manager")  # type: ignore[attr-defined]
    seed.event(a, "page_view", "pricing", T0 - HOUR)  # type: ignore[attr-defined]
    seed.event(a, "email_open", "nl-1", T0 - 2 * HOUR)  # type: ignore[attr-defined]
    decisions = [
        decide_scoring(read_for_run(engine, rules=RULES, as_of=T0, full=True), rules=RULES,
                       max_bad_row_share=0.2)
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(decisions[0].scores, decisions[1].scores)


def test_next_hour_rescores_only_contacts_with_new_events(engine: Engine, seed: object) -> None:
    ids = [seed.contact(f"c{i}@example.com") for i in range(5)]  # type: ignore[attr-defined]
    run_scoring(engine, rules=RULES, as_of=T0)
    seed.event(ids[2], "email_open", "nl-9", T0 + timedelta(minutes=30))  # type: ignore[attr-defined]
    outcome = run_scoring(engine, rules=RULES, as_of=T0 + HOUR)
    assert not outcome.full
    assert outcome.candidates == 1
    assert outcome.snapshots_written == 1
    assert current_score(engine, ids[2]) == 3


def test_a_pricing_view_leaving_its_window_lowers_the_score_without_new_events(
    engine: Engine, seed: object
) -> None:
    contact = seed.contact("window@example.com")  # type: ignore[attr-defined]
    other = seed.contact("quiet@example.com")  # type: ignore[attr-defined]
    viewed = T0 - timedelta(days=30) + timedelta(minutes=30)
    seed.event(contact, "page_view", "pricing", viewed)  # type: ignore[attr-defined]
    run_scoring(engine, rules=RULES, as_of=T0)
    assert current_score(engine, contact) == 10
    outcome = run_scoring(engine, rules=RULES, as_of=T0 + HOUR)
    assert outcome.candidates == 1
    assert current_score(engine, contact) == 0
    assert current_score(engine, other) == 0


def test_dry_run_decides_but_writes_nothing(engine: Engine, seed: object) -> None:
    contact = seed.contact("dry@example.com")  # type: ignore[attr-defined]
    seed.event(contact, "webinar_attended", "wb-1", T0 - HOUR)  # type: ignore[attr-defined]
    outcome = run_scoring(engine, rules=RULES, as_of=T0, dry_run=True)
    assert outcome.scored == 1
    assert len(outcome.changed) == 1
    assert outcome.snapshots_written == 0
    assert snapshot_count(engine) == 0
    assert current_score(engine, contact) is None


def test_backfilling_an_older_hour_keeps_the_newer_current_score(
    engine: Engine, seed: object
) -> None:
    contact = seed.contact("late@example.com")  # type: ignore[attr-defined]
    seed.event(contact, "form_submit", "demo_request", T0 - HOUR)  # type: ignore[attr-defined]
    run_scoring(engine, rules=RULES, as_of=T0)
    outcome = run_scoring(engine, rules=RULES, as_of=T0 - 2 * HOUR, full=True)
    assert outcome.snapshots_written == 1
    assert current_score(engine, contact) == 25


def test_changing_the_rules_rescores_everyone(engine: Engine, seed: object) -> None:
    for i in range(3):
        seed.contact(f"r{i}@example.com", job_title="Director")  # type: ignore[attr-defined]
    run_scoring(engine, rules=RULES, as_of=T0)
    preset = load_rules(ROOT / "rules" / "presets" / "fit40_behaviour60.yaml")
    outcome = run_scoring(engine, rules=preset, as_of=T0 + HOUR)
    assert outcome.full
    assert outcome.candidates == 3
    assert outcome.snapshots_written == 3


def test_editing_only_a_nurture_program_does_not_rescore_everyone(
    engine: Engine, seed: object
) -> None:
    seed.contact("n@example.com")  # type: ignore[attr-defined]
    run_scoring(engine, rules=RULES, as_of=T0)
    data = RULES.model_dump(mode="json")
    data["name"] = "renamed, same scoring"
    outcome = run_scoring(engine, rules=type(RULES).model_validate(data), as_of=T0 + HOUR)
    assert not outcome.full


def test_a_large_batch_is_applied_the_same_way_as_a_small_one(
    engine: Engine, seed: object
) -> None:
    from sqlalchemy import insert

    from tasks.scoring_apply import COPY_THRESHOLD

    count = COPY_THRESHOLD + 10
    with engine.begin() as conn:
        conn.execute(
            insert(Contact),
            [{"email": f"bulk{i}@example.com", "job_title": "Manager", "created_at": T0,
              "updated_at": T0} for i in range(count)],
        )
    first = run_scoring(engine, rules=RULES, as_of=T0)
    assert first.snapshots_written == count
    assert first.contacts_updated == count
    assert run_scoring(engine, rules=RULES, as_of=T0).snapshots_written == 0
    with engine.connect() as conn:
        scores = set(conn.execute(select(Contact.score)).scalars())
        breakdown = conn.execute(select(ScoreSnapshot.breakdown).limit(1)).scalar_one()
    assert scores == {10}
    assert breakdown["signals"][0]["signal"] == "manager_or_above"
