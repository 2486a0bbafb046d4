"""A device's health over SNMP: uptime, identity, volumes, disks, ports and clock, in few requests.

    probe_snmp(target, client) -> SnmpResult

One GETBULK carries the scalars (sysDescr, sysObjectID, sysUpTime, hrSystemDate, as
non-repeaters) and the first rows of every table the device's kind can have; a table longer
than that is continued, column by column, from where the reply stopped. A camera or a
recorder answers in one request, a 28-port switch in one or two.

    tables      IF-MIB ifTable (every kind); HOST-RESOURCES-MIB hrStorageTable, hrDeviceTable and
                hrDiskStorageTable, and the vendor's disk table (recorders and unknown kinds)
    vendors     from sysObjectID's enterprise number (or the inventory's vendor, which lets the
                vendor's columns ride in the first request); disk tables and state codes come
                from `fleetmon/probes/data/vendor_mibs.yaml` through `fleetmon.probes.snmp.oids`
    problems    what the unit says is wrong, in technician words: "disk 2 (HDD2): failed (abnormal)",
                "port eth1 down"; the clock skew and volume fill are measurements, judged
                against the configuration by the monitor (`fleetmon.monitor.observe`)

Statuses: ok when the device answered (findings may be partial, then `error` says why);
timeout when it never did (also a wrong v2c community); auth_failed for SNMPv3 reports;
protocol_error for bytes that are not SNMP; not_supported without SNMP credentials or when
the agent has no system group. Reboots are seen by comparing two results (`rebooted_between`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from fleetmon.probes.findings import Disk, Volume, disk_state
from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.snmp import ber
from fleetmon.probes.snmp.client import ERROR_NAMES, GETBULK, TOO_BIG, Failure, Reply, Request, SnmpClient
from fleetmon.probes.snmp.oids import (
    HR_DEVICE_COLUMNS,
    HR_DEVICE_DESCR,
    HR_DEVICE_DISK_STORAGE,
    HR_DEVICE_ENTRY,
    HR_DEVICE_STATUS,
    HR_DEVICE_TYPE,
    HR_DISK_CAPACITY,
    HR_DISK_COLUMNS,
    HR_DISK_REMOVABLE,
    HR_DISK_STORAGE_ENTRY,
    HR_STORAGE_COLUMNS,
    HR_STORAGE_DESCR,
    HR_STORAGE_ENTRY,
    HR_STORAGE_SIZE,
    HR_STORAGE_TYPE,
    HR_STORAGE_UNITS,
    HR_STORAGE_USED,
    HR_SYSTEM_DATE,
    IF_ADMIN,
    IF_COLUMNS,
    IF_DESCR,
    IF_ENTRY,
    IF_IN_ERRORS,
    IF_IN_OCTETS,
    IF_OPER,
    IF_OPER_STATES,
    IF_OUT_ERRORS,
    IF_SOFTWARE_LOOPBACK,
    IF_TYPE,
    SCALARS,
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    VOLUME_TYPES,
    DiskTable,
    VendorMibs,
    vendor_mibs,
)
from fleetmon.probes.target import Target

TIMETICKS_WRAP_SECONDS = 2**32 / 100  # sysUpTime wraps after ~497 days
REBOOT_SLACK_SECONDS = 30.0
MAX_REQUESTS = 12  # per probe: a hostile agent cannot keep a probe walking
MAX_VARBINDS = 10_000
REPETITIONS = {"camera": 2, "switch": 30}
DEFAULT_REPETITIONS = 10
SHORT_TABLES_KINDS = frozenset(("camera", "switch"))  # ports only: no recordings on them
MAX_TEXT = 255

Values = dict[ber.Oid, tuple[int, bytes]]  # every varbind kept: OID -> (tag, content)


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    oper_status: str  # up, down, lowerLayerDown... (IF-MIB ifOperStatus)
    admin_up: bool
    in_errors: int | None
    out_errors: int | None
    carried_traffic: bool | None  # ifInOctets > 0 (None: not reported); an empty cage that is down is no fault

    @property
    def down_in_service(self) -> bool:
        return self.admin_up and self.oper_status in ("down", "lowerLayerDown") and self.carried_traffic is not False


@dataclass(slots=True, kw_only=True)
class SnmpResult(ProbeResult):
    uptime_seconds: float | None = None
    sys_descr: str = ""
    sys_object_id: str = ""
    vendor: str = ""
    clock_skew_seconds: float | None = None  # device clock minus ours (hrSystemDate)
    volumes: list[Volume] = field(default_factory=list)
    disks: list[Disk] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    unit_status: str = ""  # the vendor's own verdict on the unit, e.g. "bad" (DAHUA deviceStatus)
    measured_at: float = field(default_factory=time.time)

    @property
    def problems(self) -> list[str]:
        """What the unit itself says is wrong; the clock and volume fill are judged by the monitor."""
        found: list[str] = [disk.describe() for disk in self.disks if disk.state in ("failed", "full", "unformatted")]
        found += [f"port {i.name} {i.oper_status}" for i in self.interfaces if i.down_in_service]
        if self.unit_status:
            found.append(f"unit reports itself {self.unit_status}")
        return found

    @property
    def boot_time(self) -> float | None:
        return None if self.uptime_seconds is None else self.measured_at - self.uptime_seconds


def rebooted_between(earlier: SnmpResult, later: SnmpResult) -> bool:
    """Whether the device restarted between two answered probes (sysUpTime went back, not wrapped)."""
    if earlier.uptime_seconds is None or later.uptime_seconds is None:
        return False
    expected = earlier.uptime_seconds + (later.measured_at - earlier.measured_at)
    lost = expected - later.uptime_seconds
    wrapped = abs(lost - TIMETICKS_WRAP_SECONDS) < REBOOT_SLACK_SECONDS
    return lost > REBOOT_SLACK_SECONDS and not wrapped


@dataclass(slots=True)
class _Column:
    prefix: ber.Oid
    last: ber.Oid
    done: bool = False


def _columns(entry: ber.Oid, numbers: tuple[int, ...] | list[int]) -> list[_Column]:
    return [_Column(entry + (n,), entry + (n,)) for n in numbers]


def _vendor_columns(mibs: VendorMibs, vendor: str) -> list[_Column]:
    return [column for table in mibs.disk_tables if table.vendor == vendor
            for column in _columns(table.entry, sorted(table.columns.values()))]


def _vendor_scalars(mibs: VendorMibs, vendor: str) -> list[ber.Oid]:
    return ([oid for s in mibs.disk_scalars if s.vendor == vendor for oid in (s.capacity, s.used_percent)]
            + [s.oid for s in mibs.device_status if s.vendor == vendor])


@dataclass(slots=True)
class _Walk:
    """The requests of one probe: scalars once, then table columns until each leaves its subtree."""

    target: Target
    client: SnmpClient
    deadline: float
    values: Values = field(default_factory=dict)
    requests: int = 0

    async def bulk(self, scalars: list[ber.Oid], columns: list[_Column], repetitions: int) -> Failure | None:
        """Read `scalars` (instance OIDs) once and walk `columns`; None when all went well."""
        assert self.target.credentials.snmp is not None
        while (scalars or columns) and self.requests < MAX_REQUESTS and len(self.values) < MAX_VARBINDS:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return Failure(ProbeStatus.TIMEOUT, "SNMP tables incomplete: time budget spent")
            request = Request(GETBULK, tuple(oid[:-1] for oid in scalars) + tuple(c.last for c in columns),
                              non_repeaters=len(scalars), max_repetitions=repetitions)
            self.requests += 1
            reply = await self.client.request(self.target.host, self.target.snmp_port, self.target.credentials.snmp,
                                              request, remaining)
            if isinstance(reply, Failure):
                return reply
            if reply.error_status == TOO_BIG and repetitions > 1:
                repetitions //= 2
                continue
            if reply.error_status:
                name = ERROR_NAMES.get(reply.error_status, str(reply.error_status))
                return Failure(ProbeStatus.PROTOCOL_ERROR, f"agent answered error {name}")
            if not self._take(reply, scalars, columns):
                return Failure(ProbeStatus.PROTOCOL_ERROR, "agent's GETBULK reply made no progress")
            scalars = []
            columns = [c for c in columns if not c.done]
        if scalars or columns:
            return Failure(ProbeStatus.PROTOCOL_ERROR,
                           f"SNMP tables cut after {self.requests} requests and {len(self.values)} values")
        return None

    def _take(self, reply: Reply, scalars: list[ber.Oid], columns: list[_Column]) -> bool:
        """Keep what answers the request; False when the reply advanced nothing."""
        progressed = False
        for (oid, tag, content), wanted in zip(reply.varbinds, scalars):
            if oid == wanted and tag not in (ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW):
                self.values[oid] = (tag, content)
            progressed = True
        repeated = reply.varbinds[len(scalars):]
        for k, (oid, tag, content) in enumerate(repeated):
            column = columns[k % len(columns)] if columns else None
            if column is None or column.done:
                continue
            progressed = True
            if tag == ber.END_OF_MIB_VIEW or oid[:len(column.prefix)] != column.prefix or oid <= column.last:
                column.done = True
                continue
            column.last = oid
            self.values[oid] = (tag, content)
        if columns and not repeated:
            for column in columns:  # an agent that returns no rows has nothing more
                column.done = True
            progressed = True
        return progressed


def _text(values: Values, oid: ber.Oid) -> str:
    found = values.get(oid)
    if found is None or found[0] != ber.OCTET_STRING:
        return ""
    return found[1][:MAX_TEXT].decode("utf-8", errors="replace").strip().strip("\x00")


def _number(values: Values, oid: ber.Oid) -> int | None:
    found = values.get(oid)
    if found is None or found[0] not in (ber.INTEGER, ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64):
        return None
    try:
        return ber.to_int(*found)
    except ber.BerError:
        return None


def _object_id(values: Values, oid: ber.Oid) -> ber.Oid:
    found = values.get(oid)
    if found is None or found[0] != ber.OBJECT_IDENTIFIER:
        return ()
    try:
        return ber.decode_oid(found[1])
    except ber.BerError:
        return ()


def _rows(values: Values, entry: ber.Oid) -> dict[ber.Oid, dict[int, ber.Oid]]:
    """Row index -> column -> the OID holding that cell, for one table."""
    rows: dict[ber.Oid, dict[int, ber.Oid]] = {}
    size = len(entry)
    for oid in values:
        if oid[:size] == entry and len(oid) > size + 1:
            rows.setdefault(oid[size + 1:], {})[oid[size]] = oid
    return rows


def date_and_time(content: bytes) -> float | None:
    """SNMPv2-TC DateAndTime -> POSIX seconds; without a zone it is read in the monitor's own zone."""
    if len(content) not in (8, 11):
        return None
    year = int.from_bytes(content[:2], "big")
    month, day, hour, minute, second, deci = content[2:8]
    try:
        if len(content) == 11:
            sign = -1 if content[8:9] == b"-" else 1
            zone = timezone(sign * timedelta(hours=content[9], minutes=content[10]))
            moment = datetime(year, month, day, hour, minute, min(second, 59), deci * 100_000, tzinfo=zone)
        else:
            moment = datetime(year, month, day, hour, minute, min(second, 59), deci * 100_000)
        return moment.timestamp()
    except (ValueError, OverflowError):
        return None


def _unsigned32(value: int | None) -> int | None:
    # hrStorageSize/Used are Integer32: agents with disks over 2^31 units send them wrapped.
    return None if value is None else value & 0xFFFFFFFF


def _volumes(values: Values) -> list[Volume]:
    volumes = []
    for _, cells in sorted(_rows(values, HR_STORAGE_ENTRY).items()):
        if _object_id(values, cells.get(HR_STORAGE_TYPE, ())) not in VOLUME_TYPES:
            continue
        units = _number(values, cells.get(HR_STORAGE_UNITS, ())) or 0
        size = _unsigned32(_number(values, cells.get(HR_STORAGE_SIZE, ())))
        used = _unsigned32(_number(values, cells.get(HR_STORAGE_USED, ())))
        if units > 0 and size is not None and used is not None:
            volumes.append(Volume(_text(values, cells.get(HR_STORAGE_DESCR, ())), size * units, used * units))
    return volumes


def _host_disks(values: Values, mibs: VendorMibs) -> list[Disk]:
    disks = []
    storage = _rows(values, HR_DISK_STORAGE_ENTRY)
    for index, cells in sorted(_rows(values, HR_DEVICE_ENTRY).items()):
        if _object_id(values, cells.get(HR_DEVICE_TYPE, ())) != HR_DEVICE_DISK_STORAGE:
            continue
        disk_cells = storage.get(index, {})
        if _number(values, disk_cells.get(HR_DISK_REMOVABLE, ())) == 1:
            continue  # optical drives and card readers
        code = _number(values, cells.get(HR_DEVICE_STATUS, ()))
        state, word = mibs.device_states.get(str(code), ("other", "")) if code is not None else ("other", "")
        kib = _number(values, disk_cells.get(HR_DISK_CAPACITY, ()))
        disks.append(Disk(".".join(map(str, index)), _text(values, cells.get(HR_DEVICE_DESCR, ())), state, word,
                          kib * 1024 if kib else None))
    return disks


def _table_disks(values: Values, table: DiskTable) -> list[Disk]:
    disks = []
    columns = table.columns
    for index, cells in sorted(_rows(values, table.entry).items()):
        state_cell = values.get(cells.get(columns.get("state", -1), ()))
        code = ""
        if state_cell is not None:
            code = _text(values, cells[columns["state"]]) if state_cell[0] == ber.OCTET_STRING else str(
                _number(values, cells[columns["state"]]))
        state, word = table.states.get(code.lower(), ("other", code))
        capacity = _number(values, cells.get(columns.get("capacity", -1), ()))
        free = _number(values, cells.get(columns.get("free", -1), ()))
        percent = _number(values, cells.get(columns.get("used_percent", -1), ()))
        capacity_bytes = capacity * table.unit_bytes if capacity is not None else None
        free_bytes = free * table.unit_bytes if free is not None else None
        if state == "ok" and percent is not None and percent >= 100:
            state = "full"
        disk_id = str(index[0]) if index else "?"
        disks.append(Disk(disk_id, _text(values, cells.get(columns.get("name", -1), ())) or f"disk {disk_id}",
                          disk_state(state, capacity_bytes, free_bytes), word, capacity_bytes, free_bytes))
    return disks


def _leading_number(text: str) -> float | None:
    head = text.strip().split(" ")[0] if text.strip() else ""
    try:
        return float(head)
    except ValueError:
        return None


def _scalar_disks(values: Values, mibs: VendorMibs, vendor: str) -> list[Disk]:
    disks = []
    for scalars in mibs.disk_scalars:
        if scalars.vendor != vendor:
            continue
        percent = _number(values, scalars.used_percent)
        if percent is None:
            parsed = _leading_number(_text(values, scalars.used_percent))
            percent = None if parsed is None else int(parsed)
        if percent is None:
            continue
        size_text = _text(values, scalars.capacity)
        size = _leading_number(size_text)
        unit = 1 << 30 if "GB" in size_text.upper() else 1 << 20
        capacity = int(size * unit) if size else None
        free = capacity - capacity * percent // 100 if capacity else None
        disks.append(Disk("1", scalars.name, "full" if percent >= 100 else "ok", f"{percent} % used", capacity, free))
    return disks


def _unit_status(values: Values, mibs: VendorMibs, vendor: str) -> str:
    for status in mibs.device_status:
        code = _number(values, status.oid)
        if status.vendor == vendor and code is not None:
            state, word = status.states.get(str(code), ("other", str(code)))
            if state != "ok":
                return f"{word} ({status.mib})"
    return ""


def _interfaces(values: Values) -> list[Interface]:
    interfaces = []
    for _, cells in sorted(_rows(values, IF_ENTRY).items()):
        if _number(values, cells.get(IF_TYPE, ())) == IF_SOFTWARE_LOOPBACK:
            continue
        oper = _number(values, cells.get(IF_OPER, ()))
        octets = _number(values, cells.get(IF_IN_OCTETS, ()))
        interfaces.append(Interface(
            name=_text(values, cells.get(IF_DESCR, ())),
            oper_status=IF_OPER_STATES.get(oper or 0, "unknown"),
            admin_up=_number(values, cells.get(IF_ADMIN, ())) == 1,
            in_errors=_number(values, cells.get(IF_IN_ERRORS, ())),
            out_errors=_number(values, cells.get(IF_OUT_ERRORS, ())),
            carried_traffic=None if octets is None else octets > 0,
        ))
    return interfaces


async def probe_snmp(target: Target, client: SnmpClient) -> SnmpResult:
    """Read the device's health over SNMP within `target.timeout`; faults are statuses, never exceptions."""
    started = time.perf_counter()
    walk = _Walk(target, client, time.monotonic() + target.timeout)

    def result(status: ProbeStatus, error: str = "", **findings: object) -> SnmpResult:
        return SnmpResult(device_id=target.device_id, probe="snmp", status=status,
                          duration_seconds=time.perf_counter() - started, error=error, **findings)  # type: ignore[arg-type]

    if target.credentials.snmp is None:
        return result(ProbeStatus.NOT_SUPPORTED, "no SNMP credentials for this device")
    mibs = vendor_mibs()
    kind = target.kind.strip().lower()
    hinted = mibs.vendor_of_brand(target.vendor)
    columns = _columns(IF_ENTRY, IF_COLUMNS)
    if kind not in SHORT_TABLES_KINDS:
        columns += (_columns(HR_STORAGE_ENTRY, HR_STORAGE_COLUMNS) + _columns(HR_DEVICE_ENTRY, HR_DEVICE_COLUMNS)
                    + _columns(HR_DISK_STORAGE_ENTRY, HR_DISK_COLUMNS) + _vendor_columns(mibs, hinted))
    scalars = [oid + (0,) for oid in SCALARS] + _vendor_scalars(mibs, hinted)
    failure = await walk.bulk(scalars, columns, REPETITIONS.get(kind, DEFAULT_REPETITIONS))
    values = walk.values
    object_id = _object_id(values, SYS_OBJECT_ID + (0,))
    vendor = mibs.vendor_of(object_id)
    if failure is None and vendor and vendor != hinted:
        late_columns = _vendor_columns(mibs, vendor) if kind not in SHORT_TABLES_KINDS else []
        failure = await walk.bulk(_vendor_scalars(mibs, vendor), late_columns, DEFAULT_REPETITIONS)
    if not values:
        assert failure is not None
        return result(failure.status, failure.error)
    uptime = _number(values, SYS_UPTIME + (0,))
    if uptime is None:
        return result(ProbeStatus.NOT_SUPPORTED, "the agent answers without the SNMPv2-MIB system group")
    date = values.get(HR_SYSTEM_DATE + (0,))
    device_clock = date_and_time(date[1]) if date and date[0] == ber.OCTET_STRING else None
    disks = [disk for table in mibs.disk_tables if table.vendor == vendor for disk in _table_disks(values, table)]
    disks = (disks or _host_disks(values, mibs)) + _scalar_disks(values, mibs, vendor)
    return result(
        ProbeStatus.OK, failure.error if failure else "",
        uptime_seconds=uptime / 100, sys_descr=_text(values, SYS_DESCR + (0,)),
        sys_object_id=".".join(map(str, object_id)), vendor=vendor,
        clock_skew_seconds=None if device_clock is None else device_clock - time.time(),
        volumes=_volumes(values), disks=disks, interfaces=_interfaces(values),
        unit_status=_unit_status(values, mibs, vendor),
    )
