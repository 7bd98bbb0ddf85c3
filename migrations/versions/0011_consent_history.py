"""consent history: every change of a contact's marketing consent, with its evidence

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = models.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "consent_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("consent_from", sa.Boolean(), nullable=True),
        sa.Column("consent_to", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTC(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "source", "changed_at", name="uq_consent_history"),
    )
    op.create_index(
        "ix_consent_history_contact_id", "consent_history", ["contact_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_consent_history_contact_id", table_name="consent_history")
    op.drop_table("consent_history")
