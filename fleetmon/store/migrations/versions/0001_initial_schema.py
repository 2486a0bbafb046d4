"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 13:43:41.812836
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fleetmon.store.schema

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', fleetmon.store.schema.UTCDateTime(), nullable=False),
    sa.Column('retired_at', fleetmon.store.schema.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['merged_into_id'], ['areas.id'], name=op.f('fk_areas_merged_into_id_areas')),
    sa.ForeignKeyConstraint(['parent_id'], ['areas.id'], name=op.f('fk_areas_parent_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_areas'))
    )
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.create_index('ix_areas_parent_name', ['parent_id', 'name'], unique=False)

    op.create_table('inventory_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('at', fleetmon.store.schema.UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_changes'))
    )
    with op.batch_alter_table('inventory_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_changes_device_id'), ['device_id'], unique=False)

    op.create_table('state_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('at', fleetmon.store.schema.UTCDateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_state_changes'))
    )
    with op.batch_alter_table('state_changes', schema=None) as batch_op:
        batch_op.create_index('ix_state_changes_device_at', ['device_id', 'at'], unique=False)

    op.create_table('area_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('at', fleetmon.store.schema.UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_area_events_area_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area_events'))
    )
    with op.batch_alter_table('area_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_area_events_area_id'), ['area_id'], unique=False)

    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_sites_area_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('area_id', 'name', name=op.f('uq_sites_area_id_name'))
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sites_area_id'), ['area_id'], unique=False)

    op.create_table('devices',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('vendor', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('serial', sa.String(length=128), nullable=False),
    sa.Column('mac', sa.String(length=17), nullable=False),
    sa.Column('firmware', sa.String(length=128), nullable=False),
    sa.Column('onvif_port', sa.Integer(), nullable=True),
    sa.Column('rtsp_port', sa.Integer(), nullable=True),
    sa.Column('snmp_port', sa.Integer(), nullable=True),
    sa.Column('http_port', sa.Integer(), nullable=True),
    sa.Column('protocols', sa.String(length=64), nullable=False),
    sa.Column('credential_profile', sa.String(length=64), nullable=False),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('warranty_end', sa.Date(), nullable=True),
    sa.Column('purchase_cost_vnd', sa.BigInteger(), nullable=True),
    sa.Column('funding', sa.String(length=20), nullable=True),
    sa.Column('owner_contact', sa.String(length=255), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', fleetmon.store.schema.UTCDateTime(), nullable=False),
    sa.Column('updated_at', fleetmon.store.schema.UTCDateTime(), nullable=False),
    sa.Column('retired_at', fleetmon.store.schema.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_devices_area_id_areas')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_devices_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_serial'), ['serial'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_site_id'), ['site_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_site_id'))
        batch_op.drop_index(batch_op.f('ix_devices_serial'))
        batch_op.drop_index(batch_op.f('ix_devices_parent_id'))
        batch_op.drop_index(batch_op.f('ix_devices_area_id'))

    op.drop_table('devices')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sites_area_id'))

    op.drop_table('sites')
    with op.batch_alter_table('area_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_area_events_area_id'))

    op.drop_table('area_events')
    with op.batch_alter_table('state_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_state_changes_device_at')

    op.drop_table('state_changes')
    with op.batch_alter_table('inventory_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_changes_device_id'))

    op.drop_table('inventory_changes')
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_index('ix_areas_parent_name')

    op.drop_table('areas')
