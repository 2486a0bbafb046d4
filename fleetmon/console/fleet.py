"""Fleet status for the pages: device states from the running monitor or the store, counted by area and site.

Inside `fleetmon run` the states come from the monitor's in-memory view (read on its event loop);
elsewhere, and for devices another worker probes, from the newest row of the state-change log.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, func, select

from fleetmon.health.model import HEALTH_ORDER, DeviceStatus, Health
from fleetmon.inventory.model import AREA_SEPARATOR, Device, split_area_path
from fleetmon.store.inventory import DeviceCache
from fleetmon.store.schema import state_changes, tickets

WORST_FIRST = (Health.DOWN, Health.UNREACHABLE, Health.DEGRADED, Health.UNKNOWN, Health.UP)


@dataclass(frozen=True, slots=True)
class DeviceState:
    state: Health
    since: float | None = None
    reasons: tuple[str, ...] = ()


class FleetSource(Protocol):
    """Where the console reads the inventory and each device's current state."""

    def devices(self) -> Mapping[str, Device]: ...

    def states(self) -> dict[str, DeviceState]: ...

    def detail(self, device_id: str) -> DeviceStatus | None:
        """What the monitor measured last (disks, footage per channel, picture checks); None without a running monitor."""
        ...


def stored_states(conn: Connection, device_ids: Iterable[str] | None = None) -> dict[str, DeviceState]:
    """Each device's newest logged state, since when and why."""
    newest = select(state_changes.c.device_id, func.max(state_changes.c.id).label("id")).group_by(state_changes.c.device_id)
    ids = list(device_ids) if device_ids is not None else None
    found: dict[str, DeviceState] = {}
    chunks = [newest] if ids is None else [newest.where(state_changes.c.device_id.in_(ids[i:i + 5000])) for i in range(0, len(ids), 5000)]
    for chunk in chunks:
        sub = chunk.subquery()
        rows = conn.execute(select(state_changes.c.device_id, state_changes.c.state, state_changes.c.at, state_changes.c.reason)
                            .join(sub, sub.c.id == state_changes.c.id))
        for row in rows:
            found[row.device_id] = DeviceState(Health(row.state), row.at.timestamp(), tuple(r for r in row.reason.split("; ") if r))
    return found


class StateLog:
    """Each device's newest logged state, kept up to date by reading only the rows added since the last look.

    On PostgreSQL a row may commit after one with a higher id; a full read every `full_every`
    seconds picks up any such row the incremental reads stepped over.
    """

    def __init__(self, full_every: float = 60.0) -> None:
        self._states: dict[str, DeviceState] = {}
        self._last_id = 0
        self._full_at = 0.0
        self.full_every = full_every
        self._lock = threading.Lock()

    def read(self, conn: Connection) -> dict[str, DeviceState]:
        with self._lock:
            if not self._last_id or time.monotonic() - self._full_at > self.full_every:
                self._full_at = time.monotonic()
                self._last_id = int(conn.execute(select(func.coalesce(func.max(state_changes.c.id), 0))).scalar_one())
                self._states = stored_states(conn)
            else:
                rows = conn.execute(select(state_changes.c.id, state_changes.c.device_id, state_changes.c.state, state_changes.c.at,
                                           state_changes.c.reason).where(state_changes.c.id > self._last_id).order_by(state_changes.c.id))
                for row in rows:
                    self._states[row.device_id] = DeviceState(Health(row.state), row.at.timestamp(),
                                                              tuple(r for r in row.reason.split("; ") if r))
                    self._last_id = row.id
            return dict(self._states)


class StoreSource:
    """The store only: for a console without a running monitor, and for tests (states as last logged)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inventory = DeviceCache()
        self._log = StateLog()

    def devices(self) -> Mapping[str, Device]:
        with self.engine.connect() as conn:
            return self._inventory.read(conn)

    def states(self) -> dict[str, DeviceState]:
        with self.engine.connect() as conn:
            return self._log.read(conn)

    def detail(self, device_id: str) -> DeviceStatus | None:
        return None


class LiveSource:
    """The running monitor's view, read on its loop by `live_states`; the log fills in devices it does not probe."""

    def __init__(self, engine: Engine, devices: Callable[[], Mapping[str, Device]],
                 live_states: Callable[[], dict[str, DeviceState]], live_detail: Callable[[str], DeviceStatus | None]) -> None:
        self.engine = engine
        self._devices = devices
        self._live = live_states
        self._detail = live_detail
        self._log = StateLog()

    def detail(self, device_id: str) -> DeviceStatus | None:
        return self._detail(device_id)

    def devices(self) -> Mapping[str, Device]:
        return self._devices()

    def states(self) -> dict[str, DeviceState]:
        live = self._live()
        if len(live) >= len(self._devices()):
            return live
        with self.engine.connect() as conn:
            found = self._log.read(conn)
        found.update(live)
        return found


def state_of(states: Mapping[str, DeviceState], device_id: str) -> DeviceState:
    return states.get(device_id) or DeviceState(Health.UNKNOWN)


@dataclass(slots=True)
class Group:
    """An area or a site with its devices counted by state."""

    name: str
    area: str  # area path
    site: str = ""
    counts: Counter[Health] = field(default_factory=Counter)
    devices: int = 0
    lat: float = 0.0
    lon: float = 0.0
    located: int = 0

    def add(self, device: Device, state: Health) -> None:
        self.counts[state] += 1
        self.devices += 1
        if device.latitude is not None and device.longitude is not None:
            self.lat += device.latitude
            self.lon += device.longitude
            self.located += 1

    def merge(self, other: Group) -> None:
        """Add the devices `other` counted."""
        self.counts.update(other.counts)
        self.devices += other.devices
        self.lat += other.lat
        self.lon += other.lon
        self.located += other.located

    @property
    def worst(self) -> Health:
        return next((h for h in WORST_FIRST if self.counts[h]), Health.UNKNOWN)

    def sort_key(self) -> tuple[int, ...]:
        return tuple(-self.counts[h] for h in WORST_FIRST[:4])

    @property
    def position(self) -> tuple[float, float] | None:
        return (self.lat / self.located, self.lon / self.located) if self.located else None

    def count(self, state: str) -> int:
        return self.counts[Health(state)]


@dataclass(slots=True)
class AreaStatus:
    path: tuple[str, ...]
    total: Group
    areas: list[Group]  # the areas one level down
    sites: list[Group]  # sites of this area and below, worst first


def area_status(devices: Mapping[str, Device], states: Mapping[str, DeviceState], path: tuple[str, ...]) -> AreaStatus:
    """Counts for the area at `path` (the devices given are already the user's scope).

    Devices are counted once per (area, site) cell, keyed by the area's text; each distinct area
    is split into its path once and its cells are rolled up into the total, the child areas and
    the sites. A province is ~15,000 devices but a few hundred cells.
    """
    depth = len(path)
    cells: dict[tuple[str, str], Group] = {}
    unknown = DeviceState(Health.UNKNOWN)
    for device in devices.values():
        key = (device.area, device.site)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Group(name=device.site, area=device.area, site=device.site)
        cell.add(device, states.get(device.id, unknown).state)
    total = Group(name=path[-1] if path else "", area=AREA_SEPARATOR.join(path))
    children: dict[str, Group] = {}
    sites: dict[tuple[str, str], Group] = {}
    paths: dict[str, tuple[str, ...]] = {}
    for (area, site), cell in cells.items():
        where = paths.get(area)
        if where is None:
            where = paths[area] = split_area_path(area)
        if where[:depth] != path:
            continue
        total.merge(cell)
        if len(where) > depth:
            name = where[depth]
            children.setdefault(name, Group(name=name, area=AREA_SEPARATOR.join(where[: depth + 1]))).merge(cell)
        if site:
            sites.setdefault((area, site), Group(name=site, area=area, site=site)).merge(cell)
    return AreaStatus(path=path, total=total, areas=sorted(children.values(), key=lambda g: (g.sort_key(), g.name)),
                      sites=sorted(sites.values(), key=lambda g: (g.sort_key(), g.area, g.name)))


@dataclass(frozen=True, slots=True)
class Change:
    at: datetime
    state: str
    reason: str
    cause: str


def history(conn: Connection, device_id: str, limit: int = 100) -> list[Change]:
    rows = conn.execute(select(state_changes).where(state_changes.c.device_id == device_id)
                        .order_by(state_changes.c.id.desc()).limit(limit))
    return [Change(r.at, r.state, r.reason, r.cause) for r in rows]


@dataclass(frozen=True, slots=True)
class Day:
    day: datetime
    shares: dict[str, float]  # state -> share of the device-time of the day (0..1)


def availability(conn: Connection, device_ids: Iterable[str], days: int, now: datetime | None = None) -> list[Day]:
    """Share of device-time per state for each of the last `days` days (UTC), from the state-change log.

    Time before a device's first logged change, and time the monitor was not running (logged as
    unknown), count as unknown, never as up.
    """
    now = now or datetime.now(UTC)
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = end - timedelta(days=days)
    ids = list(device_ids)
    before: dict[str, str] = {}
    changes: list[tuple[str, datetime, str]] = []
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        newest = (select(state_changes.c.device_id, func.max(state_changes.c.id).label("id"))
                  .where(state_changes.c.device_id.in_(chunk), state_changes.c.at < start).group_by(state_changes.c.device_id).subquery())
        for row in conn.execute(select(state_changes.c.device_id, state_changes.c.state).join(newest, newest.c.id == state_changes.c.id)):
            before[row.device_id] = row.state
        rows = conn.execute(select(state_changes.c.device_id, state_changes.c.at, state_changes.c.state)
                            .where(state_changes.c.device_id.in_(chunk), state_changes.c.at >= start, state_changes.c.at < end)
                            .order_by(state_changes.c.id))
        changes += [(r.device_id, r.at, r.state) for r in rows]
    seconds: list[defaultdict[str, float]] = [defaultdict(float) for _ in range(days)]
    by_device: dict[str, list[tuple[datetime, str]]] = {i: [] for i in ids}
    for device_id, at, state in changes:
        by_device[device_id].append((at, state))
    for device_id, moves in by_device.items():
        state, at = before.get(device_id, Health.UNKNOWN.value), start
        for when, new in [*moves, (min(now, end), "")]:
            _spread(seconds, start, at, when, state)
            state, at = new, when
        if now < end:
            _spread(seconds, start, now, end, "future")
    found = []
    for n, counter in enumerate(seconds):
        counter.pop("future", None)
        total = sum(counter.values())
        found.append(Day(start + timedelta(days=n), {s.value: (counter[s.value] / total if total else 0.0) for s in HEALTH_ORDER}))
    return found


def _spread(seconds: list[defaultdict[str, float]], start: datetime, a: datetime, b: datetime, state: str) -> None:
    while a < b:
        index = int((a - start).total_seconds() // 86400)
        day_end = start + timedelta(days=index + 1)
        step_end = min(b, day_end)
        if 0 <= index < len(seconds):
            seconds[index][state] += (step_end - a).total_seconds()
        a = step_end


class Recent:
    """Charts over days change slowly: each is computed at most once per `ttl` seconds for the same question."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._found: dict[tuple[object, ...], tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], compute: Callable[[], object]) -> object:
        now = time.monotonic()
        with self._lock:
            hit = self._found.get(key)
            if hit is not None and now - hit[0] < self.ttl:
                return hit[1]
        value = compute()
        with self._lock:
            if len(self._found) > 1000:
                self._found.clear()
            self._found[key] = (now, value)
        return value


def faults_by_kind(conn: Connection, since: datetime) -> list[tuple[str, str, str]]:
    """(kind, area, device id) of tickets opened since then; the caller's scope filters by area."""
    rows = conn.execute(select(tickets.c.kind, tickets.c.area, tickets.c.device_id).where(tickets.c.opened_at >= since))
    return [(r.kind, r.area, r.device_id or "") for r in rows]
