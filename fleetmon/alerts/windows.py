"""Maintenance windows: planned work (a power cut, a repair in progress) during which faults open no tickets.

A window covers an area subtree, a site or one device, once or every `repeat` seconds (daily,
weekly) until `until`. A fault held back by a window must still last its rule's delay after the
window ends before it opens a ticket: units coming back from a planned power cut get time to boot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from fleetmon.inventory.model import Device, split_area_path
from fleetmon.store.schema import maintenance_windows, utcnow

SCOPES = ("area", "site", "device")


@dataclass(frozen=True, slots=True)
class Window:
    id: int
    scope: str
    target: str
    starts_at: datetime
    ends_at: datetime
    repeat_seconds: int | None = None
    until: datetime | None = None
    reason: str = ""
    created_by: str = ""

    def active(self, at: datetime) -> bool:
        if at < self.starts_at or (self.until is not None and at >= self.until + (self.ends_at - self.starts_at)):
            return False
        if not self.repeat_seconds:
            return at < self.ends_at
        offset = (at - self.starts_at).total_seconds() % self.repeat_seconds
        return offset < (self.ends_at - self.starts_at).total_seconds()

    def covers(self, device: Device | None, area: str, site: str) -> bool:
        """Whether the window is about this device, or the site or area it stands in."""
        if self.scope == "device":
            return device is not None and device.id == self.target
        if self.scope == "site":
            want_area, _, want_site = self.target.rpartition("|")
            return site == want_site and (not want_area or split_area_path(want_area) == split_area_path(area))
        prefix = split_area_path(self.target)
        return split_area_path(area)[: len(prefix)] == prefix

    def describe(self) -> str:
        repeat = f", every {self.repeat_seconds / 3600:g} h" if self.repeat_seconds else ""
        until = f" until {self.until:%Y-%m-%d %H:%M}" if self.until else ""
        return (f"#{self.id} {self.scope} {self.target}: {self.starts_at:%Y-%m-%d %H:%M} - {self.ends_at:%Y-%m-%d %H:%M} UTC"
                f"{repeat}{until}" + (f" ({self.reason})" if self.reason else ""))


def add(conn: Connection, scope: str, target: str, starts_at: datetime, ends_at: datetime, *, repeat_seconds: int | None = None,
        until: datetime | None = None, reason: str = "", created_by: str = "") -> int:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if ends_at <= starts_at:
        raise ValueError("a window must end after it starts")
    if repeat_seconds is not None and repeat_seconds < (ends_at - starts_at).total_seconds():
        raise ValueError("a recurring window must not last longer than its period")
    result = conn.execute(insert(maintenance_windows).values(
        scope=scope, target=target, starts_at=starts_at, ends_at=ends_at, repeat_seconds=repeat_seconds, until=until,
        reason=reason, created_by=created_by, created_at=utcnow()))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def load(conn: Connection) -> list[Window]:
    rows = conn.execute(select(maintenance_windows).order_by(maintenance_windows.c.starts_at)).mappings()
    return [Window(id=r["id"], scope=r["scope"], target=r["target"], starts_at=r["starts_at"], ends_at=r["ends_at"],
                   repeat_seconds=r["repeat_seconds"], until=r["until"], reason=r["reason"], created_by=r["created_by"])
            for r in rows]


def remove(conn: Connection, window_id: int) -> bool:
    return conn.execute(delete(maintenance_windows).where(maintenance_windows.c.id == window_id)).rowcount > 0
