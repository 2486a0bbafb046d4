"""Tables of the store. Alembic migrations in `migrations/` create and evolve them.

The same schema runs on SQLite (embedded default) and PostgreSQL: only portable types, no
dialect-specific SQL. Times are stored as naive UTC and returned aware (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import CursorResult, Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the column on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value  # the column's type: the driver returns datetimes here
        return stored.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


areas = Table(
    "areas",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", Integer, ForeignKey("areas.id"), nullable=True),
    Column("depth", Integer, nullable=False),
    # A merged area stays as a record so that history and old reports can still name it.
    Column("merged_into_id", Integer, ForeignKey("areas.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("retired_at", UTCDateTime, nullable=True),
    Index("ix_areas_parent_name", "parent_id", "name"),
)

area_events = Table(
    "area_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("area_id", Integer, ForeignKey("areas.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Column("action", String(20), nullable=False),  # created / renamed / moved / merged
    Column("detail", Text, nullable=False, default=""),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("area_id", Integer, ForeignKey("areas.id"), nullable=False, index=True),
    Column("operator", String(200), nullable=False, default=""),
    UniqueConstraint("area_id", "name"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("host", String(255), nullable=False),
    Column("area_id", Integer, ForeignKey("areas.id"), nullable=True, index=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=True, index=True),
    Column("vendor", String(64), nullable=False, default=""),
    Column("model", String(128), nullable=False, default=""),
    Column("serial", String(128), nullable=False, default="", index=True),
    Column("mac", String(17), nullable=False, default=""),
    Column("firmware", String(128), nullable=False, default=""),
    Column("onvif_port", Integer, nullable=True),
    Column("rtsp_port", Integer, nullable=True),
    Column("snmp_port", Integer, nullable=True),
    Column("http_port", Integer, nullable=True),
    Column("protocols", String(64), nullable=False, default=""),
    Column("credential_profile", String(64), nullable=False, default=""),
    # Parent by inventory id, not a foreign key: a sheet may list a camera before its NVR.
    Column("parent_id", String(64), nullable=True, index=True),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("address", Text, nullable=False, default=""),
    Column("install_date", Date, nullable=True),
    Column("warranty_end", Date, nullable=True),
    Column("purchase_cost_vnd", BigInteger, nullable=True),
    Column("funding", String(20), nullable=True),
    Column("owner_contact", String(255), nullable=False, default=""),
    Column("notes", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    Column("retired_at", UTCDateTime, nullable=True),
)

inventory_changes = Table(
    "inventory_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", String(64), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Column("action", String(16), nullable=False),  # added / changed / retired / reactivated
    Column("detail", Text, nullable=False, default=""),  # "field: old -> new; ..."
    Column("source", String(255), nullable=False, default=""),
)

# One row per health state change of a device, never one per probe: availability reports are
# computed from this log, so it belongs to the device and survives any reshaping of areas.
state_changes = Table(
    "state_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("device_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("cause", String(16), nullable=False, default=""),
    Index("ix_state_changes_device_at", "device_id", "at"),
)


# One row per monitor worker: its heartbeat says until when its probing can be trusted, so the
# time after its last heartbeat is recorded as unknown when it (or a successor) resumes.
workers = Table(
    "workers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)

# The fleet is split into buckets by a hash of the device id; a worker probes the devices of
# the buckets it holds a live lease on. Leases expire, so a dead worker's share is taken over.
bucket_leases = Table(
    "bucket_leases",
    metadata,
    Column("bucket", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(128), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
)


def inserted_id(result: CursorResult[Any]) -> int:
    """The new row's integer key, from the result of a one-row INSERT."""
    key = result.inserted_primary_key
    if key is None:
        raise TypeError("not the result of a one-row INSERT")
    return int(key[0])
