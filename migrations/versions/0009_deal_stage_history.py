"""deal stage history

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = models.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "deal_stage_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), sa.ForeignKey("deals.id"), nullable=False),
        sa.Column("from_stage", sa.String(length=60), nullable=True),
        sa.Column("to_stage", sa.String(length=60), nullable=False),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deal_id", "to_stage", "at", name="uq_deal_stage_history"),
    )
    op.create_index(
        "ix_deal_stage_history_deal_id", "deal_stage_history", ["deal_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_deal_stage_history_deal_id", table_name="deal_stage_history")
    op.drop_table("deal_stage_history")
