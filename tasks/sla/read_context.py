"""The context of SLA messages: who the lead is, its company, score and latest touch."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, case, func, select

from leadflow.db import in_chunks
from models.tables import Activity, Company, Contact, ScoreSnapshot

CONTEXT_COLUMNS = [
    "contact_id",
    "email",
    "first_name",
    "last_name",
    "company_name",
    "company_domain",
    "score",
    "last_type",
    "last_outcome",
    "last_at",
]
# Each id is bound three times: slices stay well below every driver's parameter limit
# (a day after a mass hand-off, every lead of it escalates in the same hour).
KEY_CHUNK = 2_000


def read_message_context(
    conn: Connection, *, contact_ids: Sequence[int], as_of: datetime
) -> pd.DataFrame:
    """Name, company, score as of the hour and latest sales touch of these contacts."""
    ids = sorted(set(contact_ids))
    rows = [
        tuple(row)
        for chunk in in_chunks(ids, KEY_CHUNK)
        for row in conn.execute(_context_query(chunk, as_of)).all()
    ]
    return pd.DataFrame(rows, columns=CONTEXT_COLUMNS)


def _context_query(ids: Sequence[int], as_of: datetime) -> Any:
    snapshot_at = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("snap_at"))
        .where(ScoreSnapshot.as_of <= as_of, ScoreSnapshot.contact_id.in_(ids))
        .group_by(ScoreSnapshot.contact_id)
        .subquery()
    )
    snapshot = ScoreSnapshot.__table__.alias("snapshot")
    ranked = (
        select(
            Activity.contact_id,
            Activity.type,
            Activity.outcome,
            Activity.occurred_at,
            func.row_number()
            .over(
                partition_by=Activity.contact_id,
                order_by=(Activity.occurred_at.desc(), Activity.id.desc()),
            )
            .label("rank"),
        )
        .where(Activity.contact_id.in_(ids), Activity.occurred_at <= as_of)
        .subquery()
    )
    latest = select(ranked).where(ranked.c.rank == 1).subquery()
    # A score computed after the hour does not belong to it (a rerun of a past hour).
    live_score = case((Contact.scored_at <= as_of, Contact.score), else_=None)
    query = (
        select(
            Contact.id,
            Contact.email,
            Contact.first_name,
            Contact.last_name,
            Company.name,
            Company.domain,
            func.coalesce(snapshot.c.score, live_score),
            latest.c.type,
            latest.c.outcome,
            latest.c.occurred_at,
        )
        .outerjoin(Company, Company.id == Contact.company_id)
        .outerjoin(snapshot_at, snapshot_at.c.contact_id == Contact.id)
        .outerjoin(
            snapshot,
            and_(
                snapshot.c.contact_id == snapshot_at.c.contact_id,
                snapshot.c.as_of == snapshot_at.c.snap_at,
            ),
        )
        .outerjoin(latest, latest.c.contact_id == Contact.id)
        .where(Contact.id.in_(ids))
        .order_by(Contact.id)
    )
    return query
