"""lead status history, SLA clocks and escalations, follow-up tasks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = models.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "lead_status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("from_status", sa.String(length=40), nullable=True),
        sa.Column("to_status", sa.String(length=40), nullable=False),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("retry_at", UTC(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "to_status", "at", name="uq_lead_status_history"),
    )
    op.create_index(
        "ix_lead_status_history_contact_id", "lead_status_history", ["contact_id"], unique=False
    )
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=60), nullable=False),
        sa.Column("started_at", UTC(timezone=True), nullable=False),
        sa.Column("due_at", UTC(timezone=True), nullable=False),
        sa.Column("satisfied_at", UTC(timezone=True), nullable=True),
        sa.Column("breached_at", UTC(timezone=True), nullable=True),
        sa.Column("closed_at", UTC(timezone=True), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), nullable=True),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "cycle", "policy", name="uq_sla_clocks_contact_cycle"),
    )
    op.create_index("ix_sla_clocks_contact_id", "sla_clocks", ["contact_id"], unique=False)
    op.create_index("ix_sla_clocks_open", "sla_clocks", ["satisfied_at", "due_at"], unique=False)
    op.create_table(
        "sla_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clock_id", sa.Integer(), sa.ForeignKey("sla_clocks.id"), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=60), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC(timezone=True), nullable=False),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "cycle", "policy", "level", name="uq_sla_escalations"),
    )
    op.create_index("ix_sla_escalations_clock_id", "sla_escalations", ["clock_id"], unique=False)
    op.create_index(
        "ix_sla_escalations_contact_id", "sla_escalations", ["contact_id"], unique=False
    )
    op.create_table(
        "follow_up_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC(timezone=True), nullable=False),
        sa.Column("done_at", UTC(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "cycle", "day", name="uq_follow_up_tasks"),
    )
    op.create_index(
        "ix_follow_up_tasks_contact_id", "follow_up_tasks", ["contact_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("follow_up_tasks")
    op.drop_table("sla_escalations")
    op.drop_table("sla_clocks")
    op.drop_table("lead_status_history")
