"""Apply beat of scoring: store changed snapshots and the contacts' current score, in one go."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, bindparam, func, or_, select, update

from leadflow.db import insert_ignoring_conflicts
from models.tables import Contact, ScoreSnapshot


@dataclass(frozen=True)
class AppliedScores:
    """What the apply beat wrote."""

    snapshots_written: int
    contacts_updated: int


def _snapshots_at(conn: Connection, as_of: datetime) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(ScoreSnapshot).where(ScoreSnapshot.as_of == as_of)
        ).scalar_one()
    )


def apply_scores(
    conn: Connection,
    *,
    changed: pd.DataFrame,
    as_of: datetime,
    run_id: str,
    rules_hash: str,
) -> AppliedScores:
    """Insert snapshots keyed by (contact, as_of) and move contacts' current score forward.

    A rerun of the same hour inserts nothing (the key exists); a backfill of an older hour
    never overwrites a contact's newer current score.
    """
    if changed.empty:
        return AppliedScores(0, 0)
    records = changed[["contact_id", "engagement_score", "fit_score", "score", "breakdown"]]
    snapshot_rows: list[dict[str, Any]] = [
        {
            "contact_id": int(cid),
            "engagement_score": int(eng),
            "fit_score": int(fit),
            "score": int(total),
            "breakdown": breakdown,
        }
        for cid, eng, fit, total, breakdown in records.itertuples(index=False, name=None)
    ]
    # Counting rows of this hour before and after is one index lookup each, far cheaper
    # than RETURNING on 100k-row batches.
    before = _snapshots_at(conn, as_of)
    insert_ignoring_conflicts(
        conn, ScoreSnapshot.__table__, snapshot_rows, keys=["contact_id", "as_of"],  # type: ignore[arg-type]
        count=False, constants={"as_of": as_of, "rules_hash": rules_hash, "run_id": run_id},
    )
    written = _snapshots_at(conn, as_of) - before
    contacts = Contact.__table__
    statement = (
        update(contacts)  # type: ignore[arg-type]
        .where(
            contacts.c.id == bindparam("cid"),
            or_(contacts.c.scored_at.is_(None), contacts.c.scored_at <= as_of),
        )
        .values(
            engagement_score=bindparam("eng"),
            fit_score=bindparam("fit"),
            score=bindparam("total"),
            scored_at=as_of,
        )
    )
    params = [
        {"cid": r["contact_id"], "eng": r["engagement_score"], "fit": r["fit_score"],
         "total": r["score"]}
        for r in snapshot_rows
    ]
    result = conn.execute(statement, params)
    return AppliedScores(snapshots_written=written, contacts_updated=max(result.rowcount, 0))
