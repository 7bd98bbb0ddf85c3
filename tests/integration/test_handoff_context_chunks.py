"""Reads about the contacts an hour moved go in slices, and the slices add up to one read.

A first run at 1M contacts hands off ~200k at once, far past the number of parameters a
SQL statement may carry ("too many SQL variables" on SQLite). On SQLite and PostgreSQL.
"""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine

from models.enums import Stage
from tasks.promotion import read_handoff
from tasks.promotion.read_handoff import read_handoff_context
from tasks.stage_history import refresh_company_stages
from tests.support.seeding import Seeder

T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)


def seed_touched_contacts(seed: Seeder, count: int) -> list[int]:
    ids = []
    for n in range(count):
        contact = seed.contact(email=f"lead{n}@example.com", job_title="Manager")
        for k in range(n % 4):
            seed.event(contact_id=contact, type="page_view", detail=f"p{k}",
                       occurred_at=T0 - (k + 1) * HOUR)  # fmt: skip
        seed.activity(contact_id=contact, type="call", outcome="connected", occurred_at=T0 - HOUR)
        seed.snapshot(contact_id=contact, score=40 + n, as_of=T0)
        ids.append(contact)
    return ids


def test_reading_the_context_in_slices_gives_what_one_read_gives(
    engine: Engine, seed: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed_touched_contacts(seed, 7)
    with engine.connect() as conn:
        whole = read_handoff_context(conn, contact_ids=ids, as_of=T0, latest=3)
        monkeypatch.setattr(read_handoff, "CONTEXT_CHUNK", 2)
        sliced = read_handoff_context(conn, contact_ids=ids, as_of=T0, latest=3)

    assert len(whole.contacts) == 7
    assert len(whole.activities) == sum(min(n % 4 + 1, 3) for n in range(7))
    pd.testing.assert_frame_equal(sliced.contacts, whole.contacts)
    pd.testing.assert_frame_equal(sliced.activities, whole.activities)
    assert sliced.reasons == whole.reasons


def test_more_contacts_than_sqlite_takes_parameters_in_one_statement_are_read(
    engine: Engine, seed: Seeder
) -> None:
    contact = seed.contact(email="real@example.com")
    # Ids that exist nowhere still travel as parameters: 40,000 > SQLite's 32,766.
    wanted = [contact, *range(10_000_000, 10_040_000)]
    with engine.connect() as conn:
        context = read_handoff_context(conn, contact_ids=wanted, as_of=T0, latest=3)
    assert context.contacts["contact_id"].tolist() == [contact]


def test_company_stages_are_refreshed_for_more_contacts_than_postgresql_takes_parameters(
    engine: Engine, seed: Seeder
) -> None:
    company = seed.company(domain="acme.example")
    contact = seed.contact(email="buyer@acme.example", company_id=company, lifecycle_stage="mql")
    # 70,000 ids > PostgreSQL's 65,535 bound parameters per statement (SQLite: 32,766).
    wanted = [contact, *range(10_000_000, 10_070_000)]
    with engine.begin() as conn:
        rolled = refresh_company_stages(conn, contact_ids=wanted)
    assert rolled == {company: Stage.MQL}
