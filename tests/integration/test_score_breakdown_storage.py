"""Snapshots store breakdowns compactly; everything that reads them sees the full form.

A scoring hour writes the compact form (models/breakdowns.py); `ScoreSnapshot.breakdown`,
hand-offs and `leadflow explain` read the same things as from a snapshot written before,
which still holds the full JSON object. On SQLite and PostgreSQL.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, delete, select, text, update

from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import ScoreSnapshot
from tasks.promotion.read_handoff import read_handoff_context
from tasks.scoring.explain import format_explanation, read_explanation
from tasks.scoring.hour import score_hour
from tests.support.seeding import Seeder

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "default.yaml")
T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
DAY = timedelta(days=1)


def seed_engaged_director(seed: Seeder) -> int:
    contact = seed.contact(email="why@example.com", job_title="Director", employee_count=120)
    seed.event(contact_id=contact, type="page_view", detail="pricing", occurred_at=T0 - 2 * DAY)
    seed.event(contact_id=contact, type="email_open", detail="nl-1", occurred_at=T0 - 5 * DAY)
    seed.event(contact_id=contact, type="email_open", detail="nl-2", occurred_at=T0 - 4 * DAY)
    return contact


def stored_json(engine: Engine, contact_id: int) -> dict[str, object]:
    """The breakdown column as the database holds it, bypassing the column type."""
    with engine.connect() as conn:
        raw = conn.execute(
            text("SELECT breakdown FROM score_snapshots WHERE contact_id = :c"), {"c": contact_id}
        ).scalar_one()
    return raw if isinstance(raw, dict) else orjson.loads(raw)


def stored_breakdown(engine: Engine, contact_id: int) -> dict[str, object]:
    with engine.connect() as conn:
        return conn.execute(
            select(ScoreSnapshot.breakdown).where(ScoreSnapshot.contact_id == contact_id)
        ).scalar_one()


def explanation_text(engine: Engine, email: str) -> str:
    with engine.connect() as conn:
        explanation = read_explanation(conn, email=email, rules=RULES, as_of=T0)
    return format_explanation(explanation, RULES)


def test_a_scoring_hour_stores_the_compact_form_and_reads_back_the_full_breakdown(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    contact = seed_engaged_director(seed)
    decided = score_hour(settings=settings, rules=RULES, as_of=T0, dry_run=True)
    applied = score_hour(settings=settings, rules=RULES, as_of=T0)
    # Stored, so the real run's outcome does not hold them for the rest of the cycle hour.
    assert "breakdown" not in applied.changed.columns
    raw = stored_json(engine, contact)
    assert raw["v"] == 2 and "signals" not in raw
    breakdown = stored_breakdown(engine, contact)
    assert breakdown == dict(decided.changed["breakdown"].iat[0])
    signals = {s["signal"]: s for s in breakdown["signals"]}  # type: ignore[attr-defined]
    assert signals["email_open"] == {
        "signal": "email_open", "group": "behaviour", "points": 6, "units": 2,
        "last_at": (T0 - 4 * DAY).isoformat(), "window_days": None,
    }
    assert signals["manager_or_above"] == {
        "signal": "manager_or_above", "group": "fit", "points": 10, "job_level": "director",
    }
    assert (breakdown["behaviour_raw"], breakdown["fit_raw"]) == (16, 15)


def test_a_snapshot_in_the_old_full_form_reads_back_unchanged(
    engine: Engine, seed: Seeder
) -> None:
    contact = seed.contact(email="old@example.com")
    old = {
        "as_of": T0.isoformat(),
        "signals": [{"signal": "pricing_page", "group": "behaviour", "points": 10, "units": 1,
                     "last_at": (T0 - DAY).isoformat(), "window_days": 30}],
        "behaviour_raw": 10, "behaviour_cap": 80, "fit_raw": 0, "fit_cap": 20,
    }
    seed.snapshot(contact_id=contact, score=10, as_of=T0, breakdown=old)
    assert stored_json(engine, contact) == old
    assert stored_breakdown(engine, contact) == old


def test_hand_offs_name_the_same_reasons_from_a_compact_and_an_old_snapshot(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    contact = seed_engaged_director(seed)
    score_hour(settings=settings, rules=RULES, as_of=T0)
    with engine.connect() as conn:
        compact = read_handoff_context(conn, contact_ids=[contact], as_of=T0, latest=3)
    full = stored_breakdown(engine, contact)
    other = seed.contact(email="other@example.com")
    seed.snapshot(contact_id=other, score=31, fit_score=15, as_of=T0, breakdown=full)
    with engine.connect() as conn:
        old = read_handoff_context(conn, contact_ids=[other], as_of=T0, latest=3)
    assert compact.reasons[contact] == old.reasons[other]
    assert {r["signal"] for r in compact.reasons[contact]} == {
        "pricing_page", "email_open", "manager_or_above", "employees_50_plus",
    }


def test_explain_says_the_same_whether_the_stored_snapshot_is_compact_or_old(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    contact = seed_engaged_director(seed)
    score_hour(settings=settings, rules=RULES, as_of=T0)
    with engine.connect() as conn:
        run_id = conn.execute(select(ScoreSnapshot.run_id)).scalar_one()
    after_compact = explanation_text(engine, "why@example.com")
    full = stored_breakdown(engine, contact)
    with engine.begin() as conn:
        conn.execute(delete(ScoreSnapshot))
    snapshot = seed.snapshot(contact_id=contact, score=31, fit_score=15, as_of=T0, breakdown=full)
    with engine.begin() as conn:
        conn.execute(
            update(ScoreSnapshot).where(ScoreSnapshot.id == snapshot).values(run_id=run_id)
        )
    assert "v" not in stored_json(engine, contact)
    assert explanation_text(engine, "why@example.com") == after_compact
    assert f"stored snapshot: 31 at {T0.isoformat(timespec='minutes')} (run {run_id})" in (
        after_compact
    )
