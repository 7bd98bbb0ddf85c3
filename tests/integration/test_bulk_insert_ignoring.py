"""A large insert-ignore (COPY into a staging table on PostgreSQL) lands exactly what a
small one (a multi-row INSERT) does: the same rows and values, skipped conflicts, counts,
shared constants, and ids in the order given. On SQLite and PostgreSQL.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select

from leadflow.db import COPY_MIN_ROWS, insert_ignoring_conflicts
from models.tables import Outbox

T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
LARGE = COPY_MIN_ROWS * 3


def outbox_row(n: int) -> dict[str, Any]:
    return {
        "idempotency_key": f"bulk:{n}",
        "channel": "slack",
        "kind": "handoff",
        "contact_id": None,
        "payload": {"text": f"新しいリード #{n} & <team>", "blocks": [{"n": n}], "ok": n % 2 == 0},
        "not_before": None if n % 3 else T0 + timedelta(minutes=n),
    }


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Outbox.idempotency_key, Outbox.payload, Outbox.not_before, Outbox.status,
                   Outbox.attempts, Outbox.created_at, Outbox.run_id)
            .order_by(Outbox.id)
        )  # fmt: skip
        return [tuple(row) for row in rows]


def insert(
    engine: Engine, rows: Sequence[Mapping[str, Any]], *, keys: list[str] | None, size: int
) -> int:
    added = 0
    with engine.begin() as conn:
        for start in range(0, len(rows), size):
            added += insert_ignoring_conflicts(
                conn, Outbox.__table__,  # type: ignore[arg-type]
                rows[start : start + size], keys=keys,
                constants={"created_at": T0, "run_id": "run-1"},
            )  # fmt: skip
    return added


def test_a_large_batch_lands_the_same_rows_in_the_same_order_as_small_batches(
    engine: Engine,
) -> None:
    existing = [outbox_row(n) for n in range(0, LARGE, 7)]
    batch = [outbox_row(n) for n in range(LARGE)] + [outbox_row(n) for n in range(5)]
    results = []
    for size in (COPY_MIN_ROWS - 1, len(batch)):
        with engine.begin() as conn:
            conn.execute(delete(Outbox))
        insert(engine, existing, keys=["idempotency_key"], size=len(existing))
        added = insert(engine, batch, keys=["idempotency_key"], size=size)
        results.append((added, stored(engine)))

    (small_added, small_rows), (large_added, large_rows) = results
    assert large_added == small_added == LARGE - len(existing)
    assert large_rows == small_rows
    assert [row[0] for row in large_rows] == [r["idempotency_key"] for r in existing] + [
        f"bulk:{n}" for n in range(LARGE) if n % 7
    ]
    first = large_rows[len(existing)]
    assert first[1] == outbox_row(1)["payload"]
    assert first[3:] == ("pending", 0, T0, "run-1")
    times = {row[0]: row[2] for row in large_rows}
    assert (times["bulk:3"], times["bulk:4"]) == (T0 + timedelta(minutes=3), None)


def test_a_large_batch_without_named_keys_skips_rows_that_hit_any_unique_index(
    engine: Engine,
) -> None:
    batch = [outbox_row(n) for n in range(LARGE)]

    first = insert(engine, batch, keys=None, size=len(batch))
    again = insert(engine, batch, keys=None, size=len(batch))

    assert (first, again) == (LARGE, 0)
    assert len(stored(engine)) == LARGE
