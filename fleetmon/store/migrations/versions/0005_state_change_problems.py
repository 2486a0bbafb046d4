"""each state change keeps the problems per probe it was made of

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('state_changes', sa.Column('problems', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('state_changes') as batch:
        batch.drop_column('problems')
