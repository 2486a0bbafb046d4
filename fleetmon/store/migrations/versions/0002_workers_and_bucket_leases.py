"""workers and bucket leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:58:11.047273
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fleetmon.store.schema

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bucket_leases',
    sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=True),
    sa.Column('expires_at', fleetmon.store.schema.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('bucket', name=op.f('pk_bucket_leases'))
    )
    op.create_table('workers',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('started_at', fleetmon.store.schema.UTCDateTime(), nullable=False),
    sa.Column('heartbeat_at', fleetmon.store.schema.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers'))
    )


def downgrade() -> None:
    op.drop_table('workers')
    op.drop_table('bucket_leases')
