"""Apply beat of scoring: store changed snapshots and the contacts' current score, in one go."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import Connection, bindparam, func, or_, select, text, update

from leadflow.db import insert_ignoring_conflicts
from models.tables import Contact, ScoreSnapshot
from tasks.quarantine import store_quarantine
from tasks.scoring.decide import ScoringDecision


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
    if conn.dialect.name == "postgresql" and len(changed) >= COPY_THRESHOLD:
        return _apply_by_copy(conn, changed=changed, as_of=as_of, run_id=run_id,
                              rules_hash=rules_hash)
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


# Above this many rows PostgreSQL gets the rows by COPY into a staging table and applies
# them with two set-based statements; executemany re-parses every 5,000-row batch.
COPY_THRESHOLD = 2000


def _apply_by_copy(
    conn: Connection, *, changed: pd.DataFrame, as_of: datetime, run_id: str, rules_hash: str
) -> AppliedScores:
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE score_stage (contact_id integer PRIMARY KEY, "
        "engagement_score integer, fit_score integer, score integer, breakdown json) "
        "ON COMMIT DROP"
    )
    columns = changed[["contact_id", "engagement_score", "fit_score", "score", "breakdown"]]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(
        "COPY score_stage (contact_id, engagement_score, fit_score, score, breakdown) FROM STDIN"
    ) as copy:
        for cid, eng, fit, total, breakdown in columns.itertuples(index=False, name=None):
            copy.write_row((int(cid), int(eng), int(fit), int(total),
                            orjson.dumps(breakdown).decode()))
    written = conn.execute(
        text(
            "INSERT INTO score_snapshots (contact_id, as_of, engagement_score, fit_score, "
            "score, breakdown, rules_hash, run_id) "
            "SELECT contact_id, :as_of, engagement_score, fit_score, score, breakdown, "
            ":rules_hash, :run_id FROM score_stage "
            "ON CONFLICT (contact_id, as_of) DO NOTHING"
        ),
        {"as_of": as_of, "rules_hash": rules_hash, "run_id": run_id},
    ).rowcount
    updated = conn.execute(
        text(
            "UPDATE contacts SET engagement_score = s.engagement_score, "
            "fit_score = s.fit_score, score = s.score, scored_at = :as_of "
            "FROM score_stage AS s WHERE contacts.id = s.contact_id "
            "AND (contacts.scored_at IS NULL OR contacts.scored_at <= :as_of)"
        ),
        {"as_of": as_of},
    ).rowcount
    return AppliedScores(snapshots_written=max(written, 0), contacts_updated=max(updated, 0))


def apply_decision(
    conn: Connection, decision: ScoringDecision, *, run_id: str, rules_hash: str, now: datetime
) -> AppliedScores:
    """Apply beat: snapshots, current scores and quarantine rows, in the caller's transaction."""
    applied = apply_scores(
        conn, changed=decision.changed, as_of=decision.as_of, run_id=run_id, rules_hash=rules_hash
    )
    store_quarantine(conn, decision.quarantined, run_id=run_id, now=now)
    return applied
