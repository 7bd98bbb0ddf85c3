"""Apply beat of scoring: store changed snapshots and the contacts' current score, in one go.

The changed rows go to a temporary staging table in bulk (COPY on PostgreSQL, one
executemany on SQLite, neither through per-row SQLAlchemy parameter processing), then
two set-based statements write the snapshots and move the contacts forward.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import Connection, bindparam, text

from leadflow.memory import gc_paused
from models.breakdowns import Breakdown
from models.tables import UTCDateTime
from tasks.quarantine import store_quarantine
from tasks.scoring.decide import ScoringDecision

STAGE = "score_stage"
STAGE_COLUMNS = "contact_id, engagement_score, fit_score, score, breakdown"

INSERT_SNAPSHOTS = (
    "INSERT INTO score_snapshots (contact_id, as_of, engagement_score, fit_score, score, "
    "breakdown, rules_hash, run_id) "
    "SELECT contact_id, :as_of, engagement_score, fit_score, score, {breakdown}, "
    f":rules_hash, :run_id FROM {STAGE} "
    # WHERE true: SQLite would read ON CONFLICT as a join's ON without it.
    "WHERE true ON CONFLICT (contact_id, as_of) DO NOTHING"
)
UPDATE_CONTACTS = (
    "UPDATE contacts SET engagement_score = s.engagement_score, fit_score = s.fit_score, "
    f"score = s.score, scored_at = :as_of FROM {STAGE} AS s WHERE contacts.id = s.contact_id "
    "AND (contacts.scored_at IS NULL OR contacts.scored_at <= :as_of)"
)


@dataclass(frozen=True)
class AppliedScores:
    """What the apply beat wrote."""

    snapshots_written: int
    contacts_updated: int


def stored_breakdown(value: Breakdown | Mapping[str, Any]) -> str:
    """The JSON text a snapshot stores: a decided breakdown's compact text, or a mapping."""
    if isinstance(value, Breakdown):
        return value.text
    return orjson.dumps(dict(value)).decode()


def _stage_rows(changed: pd.DataFrame) -> list[tuple[int, int, int, int, str]]:
    return list(
        zip(
            changed["contact_id"].astype("int64").tolist(),
            changed["engagement_score"].astype("int64").tolist(),
            changed["fit_score"].astype("int64").tolist(),
            changed["score"].astype("int64").tolist(),
            [stored_breakdown(b) for b in changed["breakdown"]],
            strict=True,
        )
    )


def _stage(conn: Connection, rows: list[tuple[int, int, int, int, str]]) -> None:
    """Fill a fresh temporary staging table with the rows, by the dialect's bulk path."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {STAGE} (contact_id integer PRIMARY KEY, "
        "engagement_score integer, fit_score integer, score integer, breakdown text)"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(f"COPY {STAGE} ({STAGE_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {STAGE} ({STAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                               rows)
    finally:
        cursor.close()


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
    with gc_paused():
        _stage(conn, _stage_rows(changed))
    stamp = bindparam("as_of", as_of, type_=UTCDateTime())
    breakdown = "CAST(breakdown AS json)" if conn.dialect.name == "postgresql" else "breakdown"
    insert = text(INSERT_SNAPSHOTS.format(breakdown=breakdown)).bindparams(
        stamp, rules_hash=rules_hash, run_id=run_id
    )
    written = conn.execute(insert).rowcount
    updated = conn.execute(text(UPDATE_CONTACTS).bindparams(stamp)).rowcount
    conn.exec_driver_sql(f"DROP TABLE {STAGE}")
    return AppliedScores(snapshots_written=max(written, 0), contacts_updated=max(updated, 0))


# What tests call a large batch; every batch takes the same staging path now.
COPY_THRESHOLD = 2000


def apply_decision(
    conn: Connection, decision: ScoringDecision, *, run_id: str, rules_hash: str, now: datetime
) -> AppliedScores:
    """Apply beat: snapshots, current scores and quarantine rows, in the caller's transaction."""
    applied = apply_scores(
        conn, changed=decision.changed, as_of=decision.as_of, run_id=run_id, rules_hash=rules_hash
    )
    store_quarantine(conn, decision.quarantined, run_id=run_id, now=now)
    return applied
