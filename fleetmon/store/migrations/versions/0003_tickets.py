"""tickets, their faults and events, maintenance windows, the notification outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetmon.store.schema import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('open_key', sa.String(length=340), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('area', sa.Text(), nullable=False),
    sa.Column('site', sa.String(length=200), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('affected', sa.Text(), nullable=False),
    sa.Column('assignee', sa.String(length=200), nullable=False),
    sa.Column('fault_since', UTCDateTime(), nullable=False),
    sa.Column('opened_at', UTCDateTime(), nullable=False),
    sa.Column('sla_from', UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', UTCDateTime(), nullable=True),
    sa.Column('started_at', UTCDateTime(), nullable=True),
    sa.Column('resolved_at', UTCDateTime(), nullable=True),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('fault_cleared_at', UTCDateTime(), nullable=True),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('escalated_at', UTCDateTime(), nullable=True),
    sa.Column('repair_overdue_at', UTCDateTime(), nullable=True),
    sa.Column('close_requested_at', UTCDateTime(), nullable=True),
    sa.Column('repair_cause', sa.Text(), nullable=False),
    sa.Column('repair_action', sa.Text(), nullable=False),
    sa.Column('repair_parts', sa.Text(), nullable=False),
    sa.Column('repair_cost_vnd', sa.BigInteger(), nullable=True),
    sa.Column('repair_hours', sa.Float(), nullable=True),
    sa.Column('repair_funding', sa.String(length=20), nullable=True),
    sa.Column('repaired_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('open_key', name=op.f('uq_tickets_open_key')),
    )
    op.create_index('ix_tickets_subject_kind', 'tickets', ['subject', 'kind'], unique=False)
    op.create_index('ix_tickets_state', 'tickets', ['state'], unique=False)
    op.create_index(op.f('ix_tickets_device_id'), 'tickets', ['device_id'], unique=False)
    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events')),
    )
    op.create_index(op.f('ix_ticket_events_ticket_id'), 'ticket_events', ['ticket_id'], unique=False)
    op.create_table('ticket_faults',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('since', UTCDateTime(), nullable=False),
    sa.Column('cleared_at', UTCDateTime(), nullable=True),
    sa.Column('held_until', UTCDateTime(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_faults_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_faults')),
    sa.UniqueConstraint('subject', 'kind', name=op.f('uq_ticket_faults_subject_kind')),
    )
    op.create_table('ticket_cursor',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_change_id', sa.BigInteger(), nullable=False),
    sa.Column('gap_since', UTCDateTime(), nullable=True),
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_cursor')),
    )
    op.create_table('maintenance_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('starts_at', UTCDateTime(), nullable=False),
    sa.Column('ends_at', UTCDateTime(), nullable=False),
    sa.Column('repeat_seconds', sa.Integer(), nullable=True),
    sa.Column('until', UTCDateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows')),
    )
    op.create_table('notification_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('claimed_until', UTCDateTime(), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('failed_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_notification_outbox_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_outbox')),
    )
    op.create_index(op.f('ix_notification_outbox_ticket_id'), 'notification_outbox', ['ticket_id'], unique=False)
    op.create_index('ix_notification_outbox_due', 'notification_outbox', ['sent_at', 'next_attempt_at'], unique=False)
    op.bulk_insert(sa.table('ticket_cursor', sa.column('id', sa.Integer()), sa.column('last_change_id', sa.BigInteger()),
                            sa.column('owner', sa.String())), [{'id': 1, 'last_change_id': 0, 'owner': ''}])


def downgrade() -> None:
    op.drop_table('notification_outbox')
    op.drop_table('maintenance_windows')
    op.drop_table('ticket_cursor')
    op.drop_table('ticket_faults')
    op.drop_table('ticket_events')
    op.drop_table('tickets')
