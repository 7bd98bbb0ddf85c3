"""contacts fillfactor 50 on PostgreSQL: room in each page for HOT score updates

Scoring rewrites the score columns of every changed contact each hour; none of them is
indexed, so with free space on the row's own page PostgreSQL can update it in place (a
HOT update) without touching the table's indexes. Pages written from now on keep half
their space free; existing pages get it at the next table rewrite (VACUUM FULL). SQLite
has no such setting: nothing to do there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE contacts SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE contacts RESET (fillfactor)")
