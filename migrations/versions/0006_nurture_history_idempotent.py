"""nurture_history: one row per (enrollment, action, step, at), also when step is empty

The unique constraint of 0003 treats NULL steps as distinct, so two runs at once wrote
an "entered" row each for the same enrollment. An expression index on
coalesce(step, '') closes that; duplicates already written are removed first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM nurture_history WHERE id NOT IN ("
        " SELECT min(id) FROM nurture_history"
        " GROUP BY enrollment_key, action, coalesce(step, ''), at)"
    )
    op.create_index(
        "uq_nurture_history_step_or_empty",
        "nurture_history",
        ["enrollment_key", "action", sa.text("coalesce(step, '')"), "at"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_nurture_history_step_or_empty", table_name="nurture_history")
