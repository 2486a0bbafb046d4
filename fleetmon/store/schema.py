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
    Column("problems", Text, nullable=True),  # JSON [[probe, key, words], ...]: where a restarted monitor starts from
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
# -- tickets (fleetmon.alerts) -----------------------------------------------------------------

# One row per maintenance ticket. `open_key` ("subject|kind") is set while the ticket is open
# (not yet resolved) and NULL after: the unique constraint keeps one open ticket per device and
# fault even with several engines. The repair record is written when the ticket is closed.
tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subject", String(300), nullable=False),  # a device id, or "site:<area>|<site>"
    Column("kind", String(32), nullable=False),
    Column("open_key", String(340), nullable=True, unique=True),
    Column("state", String(16), nullable=False),  # open / acknowledged / in_progress / resolved / closed
    Column("severity", String(16), nullable=False),
    Column("team", String(64), nullable=False),
    Column("device_id", String(64), nullable=True, index=True),
    Column("area", Text, nullable=False, default=""),
    Column("site", String(200), nullable=False, default=""),
    Column("title", Text, nullable=False),
    Column("detail", Text, nullable=False, default=""),  # what the monitor saw, newest
    Column("affected", Text, nullable=False, default=""),  # units behind it, one id a line
    Column("assignee", String(200), nullable=False, default=""),
    Column("fault_since", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("sla_from", UTCDateTime, nullable=False),  # opened, or last reopened: the SLA timers run from here
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("fault_cleared_at", UTCDateTime, nullable=True),  # monitoring last saw the fault go away
    Column("reopened", Integer, nullable=False, default=0),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("repair_overdue_at", UTCDateTime, nullable=True),
    Column("close_requested_at", UTCDateTime, nullable=True),  # repair recorded, waiting for the unit to stay healthy
    Column("repair_cause", Text, nullable=False, default=""),
    Column("repair_action", Text, nullable=False, default=""),
    Column("repair_parts", Text, nullable=False, default=""),
    Column("repair_cost_vnd", BigInteger, nullable=True),
    Column("repair_hours", Float, nullable=True),
    Column("repair_funding", String(20), nullable=True),
    Column("repaired_by", String(200), nullable=False, default=""),
    Index("ix_tickets_subject_kind", "subject", "kind"),
    Index("ix_tickets_state", "state"),
)

# Who did what to a ticket, when: the history the device page and audits show.
ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(200), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)

# The faults the ticket engine currently tracks, one row per subject and kind: when each was first
# seen, when it went away, whether a window held it back; and its ticket once it has one.
ticket_faults = Table(
    "ticket_faults",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subject", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("device_id", String(64), nullable=True),
    Column("present", Boolean, nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("cleared_at", UTCDateTime, nullable=True),
    Column("held_until", UTCDateTime, nullable=True),  # last moment a maintenance window covered it
    Column("detail", Text, nullable=False, default=""),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=True),
    UniqueConstraint("subject", "kind"),
)

# The engine's place in the state-change log: the id of the last change it turned into faults.
# One row; every engine step updates it first, so steps of several workers run one at a time.
ticket_cursor = Table(
    "ticket_cursor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_change_id", BigInteger, nullable=False, default=0),
    Column("gap_since", UTCDateTime, nullable=True),  # a missing id first seen then (a commit still in flight?)
    Column("owner", String(128), nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=True),
)

maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scope", String(16), nullable=False),  # area / site / device
    Column("target", Text, nullable=False),  # area path prefix, "area|site", or a device id
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),  # end of the first occurrence
    Column("repeat_seconds", Integer, nullable=True),  # recurring: the period (daily 86400, weekly 604800)
    Column("until", UTCDateTime, nullable=True),  # recurring: no occurrence starts after this
    Column("reason", Text, nullable=False, default=""),
    Column("created_by", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
)

# Messages to send, written in the transaction that changed the ticket: a crash loses none.
notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=True, index=True),
    Column("channel", String(64), nullable=False),
    Column("event", String(32), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("payload", Text, nullable=False, default="{}"),  # JSON for webhooks and Alertmanager
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(128), nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("failed_at", UTCDateTime, nullable=True),  # given up after too many attempts
    Column("last_error", Text, nullable=False, default=""),
    Index("ix_notification_outbox_due", "sent_at", "next_attempt_at"),
)


# -- web console (fleetmon.console) ---------------------------------------------------------------

# People who sign in to the console. `area` limits an area viewer to that subtree; `session_epoch`
# is bumped on a password change or disable, which ends every session signed with the old value.
console_users = Table(
    "console_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(20), nullable=False),  # administrator / technician / area_viewer / budget_officer
    Column("area", Text, nullable=False, default=""),
    Column("language", String(8), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    Column("email", String(254), nullable=False, default="", server_default=""),  # budget officers: the monthly report
)

# The monthly report mails: one row per (month, address, area), claimed before sending and stamped
# when sent, so a restart, a second worker or a repeated `fleetmon report --email` never sends twice.
report_mailings = Table(
    "report_mailings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("period", String(16), nullable=False),  # 2026-10
    Column("recipient", String(254), nullable=False),
    Column("area", Text, nullable=False, default=""),
    Column("claimed_at", UTCDateTime, nullable=False, default=utcnow),
    Column("sent_at", UTCDateTime, nullable=True),
    UniqueConstraint("period", "recipient", "area"),
)

# Who changed what, from where: ticket actions, windows, users, inventory imports.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("address", String(64), nullable=False, default=""),
    Index("ix_audit_log_at", "at"),
)
