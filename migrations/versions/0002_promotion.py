"""promotion: hot-lead flag on contacts and the owner assignment history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hot_at', models.tables.UTCDateTime(timezone=True), nullable=True))

    op.create_table('owner_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('team', sa.String(length=20), nullable=False),
    sa.Column('at', models.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=120), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_id', 'at', name='uq_owner_assignments_contact_at')
    )
    with op.batch_alter_table('owner_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owner_assignments_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_owner_assignments_team_at', ['team', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('owner_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_owner_assignments_team_at')
        batch_op.drop_index(batch_op.f('ix_owner_assignments_contact_id'))

    op.drop_table('owner_assignments')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('hot_at')
