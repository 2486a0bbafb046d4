"""Devices in the store: read them back as `Device` values, write an import plan in one go."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, String, bindparam, func, insert, select, update

from fleetmon.inventory.importer import ImportPlan, SheetCheck, plan_import, read_inventory
from fleetmon.inventory.model import AREA_SEPARATOR, AreaLevel, Device, DeviceKind, Funding, Protocol
from fleetmon.store.areas import AreaTree, ensure_path
from fleetmon.store.schema import area_events, areas, devices, inserted_id, inventory_changes, sites, utcnow

_COLUMNS_AS_IS = (
    "vendor", "model", "serial", "mac", "firmware", "onvif_port", "rtsp_port", "snmp_port", "http_port",
    "credential_profile", "latitude", "longitude", "address", "install_date", "warranty_end",
    "purchase_cost_vnd", "owner_contact", "notes", "active", "kind", "host",
)
_COLUMNS_SHARED = (
    "vendor", "model", "firmware", "onvif_port", "rtsp_port", "snmp_port", "http_port", "credential_profile",
    "install_date", "warranty_end", "purchase_cost_vnd", "owner_contact", "notes",
)


def text_limits() -> dict[str, int]:
    """The most characters the store holds per inventory field ("area": per area name), from the schema.

    The sheet check refuses longer text by row, rather than the database failing the import.
    """
    limits = {c.name: c.type.length for c in devices.columns if isinstance(c.type, String) and c.type.length}
    column_of = {"parent": devices.c.parent_id, "site": sites.c.name, "site_operator": sites.c.operator, "area": areas.c.name}
    for name, column in column_of.items():
        if isinstance(column.type, String) and column.type.length:
            limits[name] = column.type.length
    return limits


Revision = tuple[int, ...]
PARTIAL_READ_LIMIT = 10_000  # changed devices beyond which one full read is simpler than a list of ids


def revision(conn: Connection) -> Revision:
    """Where the inventory's change logs stand: equal revisions, the same devices, areas and sites.

    Every write to them goes through `apply_plan` or `store.areas`, which log it in
    inventory_changes or area_events, so a reader can skip re-reading 136,000 unchanged rows.
    Counts as well as newest ids: PostgreSQL may commit a lower id after a higher one.
    """
    logs = [select(func.count(), func.coalesce(func.max(log.c.id), 0)).select_from(log) for log in (inventory_changes, area_events)]
    return tuple(value for query in logs for value in conn.execute(query).one())


def load_devices(conn: Connection, include_retired: bool = True, ids: Collection[str] | None = None) -> dict[str, Device]:
    """Every device by id (or those of `ids`), with its area path and site as the inventory names them."""
    tree = AreaTree.load(conn)
    site_rows = {r.id: r for r in conn.execute(select(sites.c.id, sites.c.name, sites.c.operator))}
    query = select(devices)
    if not include_retired:
        query = query.where(devices.c.active.is_(True))
    if ids is not None:
        query = query.where(devices.c.id.in_(ids))
    found: dict[str, Device] = {}
    # One object per distinct value of the columns a fleet repeats (vendors, models, dates, ports,
    # areas): 136,000 devices otherwise hold 136,000 copies of each. A dict per column, as 80 == 80.0.
    shared: dict[str, dict[Any, Any]] = {name: {} for name in _COLUMNS_SHARED}
    area_paths: dict[int, str] = {}
    protocol_sets: dict[str, tuple[Protocol, ...]] = {}
    for row in conn.execute(query).mappings():
        site = site_rows.get(row["site_id"])
        area_id = row["area_id"]
        if area_id is not None and area_id not in area_paths:
            node = tree.nodes.get(area_id)
            area_paths[area_id] = AREA_SEPARATOR.join(node.path) if node else ""
        if row["protocols"] not in protocol_sets:
            protocol_sets[row["protocols"]] = tuple(Protocol(p) for p in row["protocols"].split(",") if p)
        values: dict[str, Any] = {name: row[name] for name in _COLUMNS_AS_IS}
        for name, seen in shared.items():
            values[name] = seen.setdefault(values[name], values[name])
        values.update(
            id=row["id"],
            kind=DeviceKind(row["kind"]),
            area=area_paths[area_id] if area_id is not None else "",
            site=site.name if site else "",
            site_operator=site.operator if site else "",
            protocols=protocol_sets[row["protocols"]],
            parent=row["parent_id"] or "",
            funding=Funding(row["funding"]) if row["funding"] else None,
        )
        found[row["id"]] = Device(**values)
    return found


class DeviceCache:
    """The inventory as last read, read again only when its revision moves, and then only the
    devices the change log names.

    In `fleetmon run` the monitor and the ticket engine share one (the console reads the monitor's
    view); a console without a monitor keeps its own. A province's 136,000 devices take ~90 MB
    each time they are held: a minute's check of an unchanged inventory costs two count queries,
    and a re-import that changed 1 % of the rows (or a clock set right, which is logged as a
    change) reads that 1 %, keeping every other record as it was: building a second copy of the
    fleet left a worker ~90 MB larger for good (freed, but not given back). Both mappings are
    replaced whole, never changed, so a reader may keep one as long as it likes; an unchanged
    inventory is the same object as before.
    """

    def __init__(self) -> None:
        self._all: Mapping[str, Device] = {}
        self._active: Mapping[str, Device] = {}
        self._revision: Revision | None = None
        self._lock = threading.Lock()

    def read(self, conn: Connection, include_retired: bool = False) -> Mapping[str, Device]:
        with self._lock:
            now = revision(conn)  # before the rows: a change landing in between is read again next time
            if now != self._revision:
                changed = self._changed_since(conn, now)
                if changed is None:
                    everything = load_devices(conn, include_retired=True)
                else:
                    everything = {**self._all, **load_devices(conn, include_retired=True, ids=changed)}
                active = {i: d for i, d in everything.items() if d.active}
                # a fleet with nothing retired holds one mapping, not two of 136,000 entries
                self._all, self._active = everything, everything if len(active) == len(everything) else active
                self._revision = now
            return self._all if include_retired else self._active

    def _changed_since(self, conn: Connection, now: Revision) -> set[str] | None:
        """The devices changed since the last read, when the change log can say for sure: areas and
        sites as they were, and as many new log rows, all numbered after the last read's newest, as
        the count moved (PostgreSQL may commit a lower id late: then the whole inventory is read)."""
        before = self._revision
        if before is None or now[2:] != before[2:]:
            return None
        count, newest = before[0], before[1]
        rows = conn.execute(select(inventory_changes.c.device_id).where(inventory_changes.c.id > newest)
                            .limit(PARTIAL_READ_LIMIT + 1)).scalars().all()
        if len(rows) != now[0] - count or len(rows) > PARTIAL_READ_LIMIT or revision(conn) != now:
            return None
        return set(rows)


class _Placement:
    """Area and site ids for devices, creating areas and sites the sheet names for the first time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tree = AreaTree.load(conn)
        rows = conn.execute(select(sites.c.id, sites.c.area_id, sites.c.name))
        self.sites: dict[tuple[int, str], int] = {(r.area_id, r.name): r.id for r in rows}

    def area_id(self, device: Device) -> int | None:
        path = device.area_path
        return ensure_path(self.conn, self.tree, path) if path else None

    def site_id(self, device: Device, area_id: int | None) -> int | None:
        if not device.site or area_id is None:
            return None
        key = (area_id, device.site)
        if key not in self.sites:
            self.sites[key] = inserted_id(self.conn.execute(
                insert(sites).values(name=device.site, area_id=area_id, operator=device.site_operator)
            ))
        elif device.site_operator:
            self.conn.execute(update(sites).where(sites.c.id == self.sites[key]).values(operator=device.site_operator))
        return self.sites[key]


def _row(device: Device, placement: _Placement) -> dict[str, Any]:
    area_id = placement.area_id(device)
    values = {name: getattr(device, name) for name in _COLUMNS_AS_IS}
    values.update(
        id=device.id,
        kind=device.kind.value,
        area_id=area_id,
        site_id=placement.site_id(device, area_id),
        protocols=",".join(p.value for p in device.protocols),
        parent_id=device.parent or None,
        funding=device.funding.value if device.funding else None,
    )
    return values


def check_sheet(conn: Connection, path: Path, levels: Sequence[AreaLevel], profiles: Collection[str], *,
                retire_missing: bool = False, progress: Callable[[int, int], None] | None = None) -> tuple[SheetCheck, ImportPlan | None]:
    """A sheet checked against the store as an import would apply it: the CLI and the console both
    call this, so a dry run anywhere checks all that the import checks. No plan when any row is wrong."""
    stored = load_devices(conn)
    known_areas = [node.path for node in AreaTree.load(conn).live()]
    check = read_inventory(path, levels, stored, profiles, progress=progress, limits=text_limits(), areas=known_areas,
                           retire_missing=retire_missing)
    if check.errors:
        return check, None
    return check, plan_import(check.devices, stored, retire_missing=retire_missing)


def apply_plan(conn: Connection, plan: ImportPlan, source: str) -> None:
    """Write `plan` in the caller's transaction; each change is logged in inventory_changes."""
    now = utcnow()
    source = source[: inventory_changes.c.source.type.length or len(source)]  # type: ignore[attr-defined]
    placement = _Placement(conn)
    log: list[dict[str, Any]] = []
    if plan.added:
        rows = [_row(d, placement) | {"created_at": now, "updated_at": now} for d in plan.added]
        conn.execute(insert(devices), rows)
        log += [{"device_id": d.id, "action": "added", "detail": "", "at": now, "source": source} for d in plan.added]
    if plan.changed:
        rows = [_row(c.device, placement) | {"updated_at": now, "retired_at": None if c.device.active else now} for c in plan.changed]
        _bulk_update(conn, rows)
        log += [{"device_id": c.device.id, "action": c.action, "detail": c.describe(), "at": now, "source": source} for c in plan.changed]
    if plan.retired:
        conn.execute(
            update(devices).where(devices.c.id.in_(plan.retired)).values(active=False, retired_at=now, updated_at=now)
        )
        log += [{"device_id": d, "action": "retired", "detail": "not in the sheet", "at": now, "source": source} for d in plan.retired]
    if log:
        conn.execute(insert(inventory_changes), log)


def _bulk_update(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    rows = [{**{f"v_{k}": v for k, v in row.items()}, "key": row["id"]} for row in rows]
    columns = [k[2:] for k in rows[0] if k.startswith("v_") and k != "v_id"]
    statement = update(devices).where(devices.c.id == bindparam("key")).values({c: bindparam(f"v_{c}") for c in columns})
    conn.execute(statement, rows)


def device_dicts(found: Iterable[Device]) -> list[dict[str, Any]]:
    """Devices as canonical-column dicts, as the sheet writer takes them."""
    out = []
    for device in found:
        row = dataclasses.asdict(device)
        row["kind"] = device.kind.value
        row["protocols"] = ", ".join(p.value for p in device.protocols)
        row["funding"] = device.funding.value if device.funding else None
        row["active"] = "yes" if device.active else "no"
        out.append(row)
    return out


def record_clock_correction(conn: Connection, device_id: str, method: str, before: float | None, after: float | None) -> None:
    """fleetmon changed a device (its clock): logged with the inventory's other changes."""
    def skew(value: float | None) -> str:
        return "unknown" if value is None else f"{abs(value):.0f} s {'ahead' if value > 0 else 'behind'}"

    conn.execute(insert(inventory_changes).values(
        device_id=device_id, at=utcnow(), action="clock", detail=f"clock: {skew(before)} -> {skew(after)} ({method})",
        source="fleetmon run: clock correction"))
