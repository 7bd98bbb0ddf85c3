"""What scoring hours left in the store, in comparable form, and a way to forget it.

`scoring_state` drops what legitimately differs between two runs of the same hours
(row ids, run ids, wall-clock stamps), so a sharded run can be compared with an
unsharded one of the same dataset. `forget_scoring` empties what scoring wrote, so the
same dataset can be scored again from scratch.
"""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Table, delete, func, select, update

from app.synthetic import generate_dataset, insert_dataset
from models.tables import Base, Contact, Quarantine, Run, ScoreSnapshot
from tasks.scoring.report import ScoringOutcome
from tests.support.seeding import Seeder

T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)

VOLATILE_SNAPSHOT_COLUMNS = {"id", "run_id"}


def _sorted_rows(engine: Engine, *columns: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return sorted(
            (tuple(row) for row in conn.execute(select(*columns))),
            key=lambda row: tuple((value is None, str(value)) for value in row),
        )


def scoring_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Contacts' current scores, every snapshot (all columns but ids) and the quarantine."""
    snapshots = ScoreSnapshot.__table__
    assert isinstance(snapshots, Table)
    return {
        "contacts": _sorted_rows(
            engine, Contact.id, Contact.engagement_score, Contact.fit_score, Contact.score,
            Contact.scored_at,
        ),
        "snapshots": _sorted_rows(
            engine, *(c for c in snapshots.columns if c.name not in VOLATILE_SNAPSHOT_COLUMNS)
        ),
        "quarantine": _sorted_rows(
            engine, Quarantine.source, Quarantine.row_number, Quarantine.field,
            Quarantine.value, Quarantine.reason,
        ),
    }


def forget_scoring(engine: Engine) -> None:
    """Delete snapshots (and rows that hang off them), quarantine and the run ledger, and
    clear the contacts' current scores: the store as it was before any scoring hour."""
    snapshots = ScoreSnapshot.__table__
    dependants = [
        table for table in reversed(Base.metadata.sorted_tables)
        if any(fk.column.table is snapshots for fk in table.foreign_keys)
    ]
    with engine.begin() as conn:
        for table in dependants:
            conn.execute(delete(table))
        for model in (ScoreSnapshot, Quarantine, Run):
            conn.execute(delete(model))
        conn.execute(
            update(Contact).values(
                engagement_score=None, fit_score=None, score=None, scored_at=None
            )
        )


def seed_dataset(engine: Engine) -> None:
    """Three hundred synthetic contacts with events up to T0 + 1 h, a few with bad data."""
    dataset = generate_dataset(contacts=300, events=6000, days=60, end=T0 + HOUR, seed=11)
    insert_dataset(engine, dataset)
    seed = Seeder(engine)
    with engine.connect() as conn:
        ids = [int(i) for i in conn.execute(select(Contact.id).order_by(Contact.id)).scalars()]
    # Spread over the id range, so more than one shard quarantines something.
    for contact_id in ids[::150]:
        seed.update_contact(contact_id, employee_count=-3)


def comparable(outcome: ScoringOutcome) -> dict[str, Any]:
    """An outcome without run id and timings, quarantine in a stable order."""
    summary = outcome.summary()
    summary.pop("beat_seconds")
    summary["quarantined"] = sorted(
        tuple(str(v) for v in asdict(record).values()) for record in outcome.quarantined
    )
    return summary


def assert_same_changes(sharded: ScoringOutcome, single: ScoringOutcome) -> None:
    """The changed rows of two outcomes are the same, row for row."""
    pd.testing.assert_frame_equal(
        sharded.changed.reset_index(drop=True), single.changed.reset_index(drop=True)
    )


def runs_at(engine: Engine, as_of: datetime) -> int:
    """How many run-ledger rows any flow recorded for `as_of`."""
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(Run).where(Run.as_of == as_of))
            .scalar_one()
        )
