"""What scoring hours left in the store, in comparable form, and a way to forget it.

`scoring_state` drops what legitimately differs between two runs of the same hours
(row ids, run ids, wall-clock stamps), so a sharded run can be compared with an
unsharded one of the same dataset. `forget_scoring` empties what scoring wrote, so the
same dataset can be scored again from scratch.
"""

from typing import Any

from sqlalchemy import Engine, Table, delete, select, update

from models.tables import Base, Contact, Quarantine, Run, ScoreSnapshot

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
