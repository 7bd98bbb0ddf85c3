"""erasure: the audit of erased people (salted hashes, counts) and the salt

`erasures` records each erasure without personal data; its `email_hash` is also the
suppression that keeps a later import from taking marketing consent for the address.
`erasure_salt` holds one row, written by the first erasure.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_salt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_erasures_email_hash", "erasures", ["email_hash"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_erasures_email_hash", table_name="erasures")
    op.drop_table("erasures")
    op.drop_table("erasure_salt")
