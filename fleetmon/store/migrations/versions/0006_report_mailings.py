"""budget officers' email addresses, and the monthly report mails sent

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetmon.store.schema import UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_users') as batch:
        batch.add_column(sa.Column('email', sa.String(length=254), server_default='', nullable=False))
    op.create_table('report_mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('area', sa.Text(), nullable=False),
    sa.Column('claimed_at', UTCDateTime(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_mailings')),
    sa.UniqueConstraint('period', 'recipient', 'area', name=op.f('uq_report_mailings_period_recipient_area')),
    )


def downgrade() -> None:
    op.drop_table('report_mailings')
    with op.batch_alter_table('console_users') as batch:
        batch.drop_column('email')
