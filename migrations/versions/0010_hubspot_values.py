"""contacts keep the lifecycle stage and lead status a HubSpot file gave them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("hubspot_lifecycle_stage", 100),
    ("hubspot_lifecycle_stage_as", 40),
    ("hubspot_lead_status", 100),
    ("hubspot_lead_status_as", 40),
)


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
