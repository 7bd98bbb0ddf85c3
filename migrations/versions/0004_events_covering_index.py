"""events: covering index (contact_id, type, detail, occurred_at) for scoring aggregates

Scoring groups events by (contact, type, detail) before counting per rule; with this
index the database walks the index in order instead of sorting 3M rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_events_contact_type_detail_occurred",
        "events",
        ["contact_id", "type", "detail", "occurred_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_events_contact_type_detail_occurred", table_name="events")
