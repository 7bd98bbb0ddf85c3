"""Read beat of the KPI report: the period's rows as frames (filters pushed into SQL)."""

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Select, func, or_, select

from models.tables import (
    Contact,
    Deal,
    DealStageHistory,
    FollowUpTask,
    Owner,
    ScoreSnapshot,
    SlaClock,
    StageHistory,
)
from tasks.kpi.compute import KpiFrames


def _frame(conn: Connection, query: Select[Any], columns: list[str]) -> pd.DataFrame:
    rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def read_kpi_frames(conn: Connection, *, start: datetime, end: datetime) -> KpiFrames:
    """Every row the KPIs of [start, end) need: stage history up to `end`, the period's
    score snapshots plus the earlier ones of contacts first MQL in the period, deals and
    clocks touching the period."""
    first_mql = (
        select(StageHistory.contact_id)
        .where(StageHistory.to_stage == "mql")
        .group_by(StageHistory.contact_id)
        .having(func.min(StageHistory.at) >= start, func.min(StageHistory.at) < end)
    )
    snapshots = select(ScoreSnapshot.contact_id, ScoreSnapshot.as_of, ScoreSnapshot.score).where(
        ScoreSnapshot.as_of < end,
        or_(ScoreSnapshot.as_of >= start, ScoreSnapshot.contact_id.in_(first_mql)),
    )
    return KpiFrames(
        contacts=_frame(
            conn, select(Contact.id, Contact.lead_source, Contact.created_at),
            ["id", "lead_source", "created_at"],
        ),
        stage_history=_frame(
            conn,
            select(StageHistory.contact_id, StageHistory.to_stage, StageHistory.at)
            .where(StageHistory.at <= end),
            ["contact_id", "to_stage", "at"],
        ),
        snapshots=_frame(conn, snapshots, ["contact_id", "as_of", "score"]),
        deals=_frame(
            conn,
            select(Deal.id, Deal.contact_id, Deal.stage, Deal.amount, Deal.created_at,
                   Deal.closed_at)
            .where(Deal.closed_at >= start, Deal.closed_at < end),
            ["id", "contact_id", "stage", "amount", "created_at", "closed_at"],
        ),
        deal_stage_history=_frame(
            conn,
            select(DealStageHistory.deal_id, DealStageHistory.to_stage, DealStageHistory.at)
            .where(DealStageHistory.at < end),
            ["deal_id", "to_stage", "at"],
        ),
        sla_clocks=_frame(
            conn,
            select(SlaClock.contact_id, SlaClock.policy, SlaClock.started_at, SlaClock.due_at,
                   SlaClock.satisfied_at, SlaClock.closed_at)
            .where(SlaClock.started_at >= start, SlaClock.started_at < end),
            ["contact_id", "policy", "started_at", "due_at", "satisfied_at", "closed_at"],
        ),
        follow_up_tasks=_frame(
            conn,
            select(FollowUpTask.owner_id, FollowUpTask.due_at, FollowUpTask.done_at)
            .where(FollowUpTask.due_at >= start, FollowUpTask.due_at < end),
            ["owner_id", "due_at", "done_at"],
        ),
        owners=_frame(conn, select(Owner.id, Owner.name), ["id", "name"]),
    )
