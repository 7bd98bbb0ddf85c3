"""outbox: claim owner and attempt times, for crash-safe sends and an attempt limit

`claimed_by` names the dispatcher holding a row's claim; `first_attempt_at` and
`attempt_started_at` are wall-clock times of the first and latest send attempt. A row
in status `sending` was handed to a sender and not yet marked: after a crash its next
attempt first checks whether it went out (Slack: the channel's history).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("first_attempt_at", models.tables.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "attempt_started_at", models.tables.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    # Rows caught in flight go back to pending: the old schema has no `sending` status.
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("attempt_started_at")
        batch_op.drop_column("first_attempt_at")
        batch_op.drop_column("claimed_by")
