"""The MIB view an emulated device answers, rendered on demand from its `EmulatedDevice`.

A province is 15,000 devices: a pre-built OID tree each would cost megabytes. Devices of the
same shape (kind, vendor family, disk and port count) share one `View`: a sorted OID list and,
per OID, a getter that reads the live device (uptime, disks, faults) when asked. So a GET is
one dict lookup, a GETNEXT one bisect, and a device costs no memory here.

    SNMPv2-MIB   system group; sysUpTime from boot_time (reboots reset it); sysDescr/sysObjectID
                 per vendor
    IF-MIB       ifNumber, ifTable (camera 1 port, NVR 2, switch 28); counters grow with uptime
    HOST-RESOURCES-MIB (NVRs)  hrMemorySize, hrStorageTable (RAM + one row per disk),
                 hrDeviceTable + hrDiskStorageTable per disk
    HIKVISION-MIB (Hikvision NVRs, enterprise 50001) serial and hikDiskTable, laid out as the
                 recorded unit in tests/data/snmprec/hikvision-nvr.snmprec answers
                 (`...241.1.<column>.<disk>.0`, sizes in MiB)

Fault effects: DISK_FULL fills `Disk.used_bytes` (hrStorageUsed = hrStorageSize, Hikvision free
0); DISK_FAILED marks `Disk.failed` (hrDeviceStatus down(5), Hikvision status abnormal(2)).
"""

from __future__ import annotations

import bisect
import ipaddress
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from fleetmon.inventory.model import DeviceKind
from fleetmon.probes.snmp import ber
from fleetmon.probes.snmp.ber import Oid
from fleetmon.simulator.state import EmulatedDevice

Getter = Callable[[EmulatedDevice, float], bytes]  # (device, now) -> encoded value TLV

# Vendor (lower case) -> (sysDescr, sysObjectID). "{model}"/"{firmware}" are filled per device.
SYSTEM_IDENTITY: dict[str, tuple[str, Oid]] = {
    "hikvision": ("Hikvision company products", (1, 3, 6, 1, 4, 1, 50001)),  # as the recorded NVR says
    "dahua": ("Dahua {model} {firmware}", (1, 3, 6, 1, 4, 1, 1004849)),
    "kbvision": ("Dahua {model} {firmware}", (1, 3, 6, 1, 4, 1, 1004849)),  # Dahua OEM
    "tp-link": ("JetStream 24-Port Gigabit L2+ Managed Switch with 4 SFP Slots", (1, 3, 6, 1, 4, 1, 11863, 5, 48)),
}
DEFAULT_IDENTITY = ("Linux {model} 3.18.20 armv7l {firmware}", (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10))

PORTS_BY_KIND = {DeviceKind.CAMERA: 1, DeviceKind.NVR: 2, DeviceKind.SWITCH: 28, DeviceKind.OTHER: 1}
# ifOutOctets rate per second: a camera streams ~4 Mbit/s, an NVR and a switch carry more.
OCTETS_PER_SECOND = {DeviceKind.CAMERA: 500_000, DeviceKind.NVR: 4_000_000, DeviceKind.SWITCH: 8_000_000}

HIKVISION_DISK_NORMAL = 0
HIKVISION_DISK_ABNORMAL = 2  # hikDiskStatus: 0 normal, 1 unformatted, 2 abnormal, 3 smartfailed ...
HR_DEVICE_RUNNING, HR_DEVICE_DOWN = 2, 5
RAM_BYTES = 4 << 30
ALLOCATION_UNIT = 65536  # bytes: keeps an 8 TiB disk within hrStorageSize's Integer32
INT32_MAX = 2**31 - 1
MIB = 1 << 20

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
HR_SYSTEM_DATE = (1, 3, 6, 1, 2, 1, 25, 1, 2, 0)
HR_MEMORY_SIZE = (1, 3, 6, 1, 2, 1, 25, 2, 2, 0)
HR_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_RAM = (1, 3, 6, 1, 2, 1, 25, 2, 1, 2)
HR_STORAGE_FIXED_DISK = (1, 3, 6, 1, 2, 1, 25, 2, 1, 4)
HR_DEVICE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 3, 2, 1)
HR_DEVICE_DISK_STORAGE = (1, 3, 6, 1, 2, 1, 25, 3, 1, 6)
HR_DISK_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 3, 6, 1)
HR_DISK_INDEX_BASE = 196608  # net-snmp numbers disk devices from 3 << 16
HIKVISION = (1, 3, 6, 1, 4, 1, 50001, 1)
HIKVISION_DISK_ENTRY = HIKVISION + (241, 1)


def identity(device: EmulatedDevice) -> tuple[str, Oid]:
    descr, object_id = SYSTEM_IDENTITY.get(device.device.vendor.lower(), DEFAULT_IDENTITY)
    return descr.format(model=device.device.model, firmware=device.device.firmware).strip(), object_id


def timeticks(seconds: float) -> bytes:
    return ber.integer(int(seconds * 100) & 0xFFFFFFFF, ber.TIMETICKS)


def _int(value: int, tag: int = ber.INTEGER) -> Getter:
    encoded = ber.integer(value, tag)
    return lambda d, now: encoded


def _text(value: str) -> Getter:
    encoded = ber.octets(value)
    return lambda d, now: encoded


def _oid(value: Oid) -> Getter:
    encoded = ber.encode_oid(value)
    return lambda d, now: encoded


def _mac(d: EmulatedDevice) -> bytes:
    try:
        return bytes.fromhex(d.device.mac.replace(":", "").replace("-", ""))
    except ValueError:
        return b""


def _system() -> list[tuple[Oid, Getter]]:
    return [
        (SYSTEM + (1, 0), lambda d, now: ber.octets(identity(d)[0])),
        (SYSTEM + (2, 0), lambda d, now: ber.encode_oid(identity(d)[1])),
        (SYSTEM + (3, 0), lambda d, now: timeticks(d.uptime_seconds(now))),
        (SYSTEM + (4, 0), lambda d, now: ber.octets(d.device.site_operator)),
        (SYSTEM + (5, 0), lambda d, now: ber.octets(d.device.id)),
        (SYSTEM + (6, 0), lambda d, now: ber.octets(d.device.address or d.device.area)),
        (SYSTEM + (7, 0), _int(72)),
    ]


def _interfaces(kind: DeviceKind, ports: int) -> list[tuple[Oid, Getter]]:
    rate = OCTETS_PER_SECOND.get(kind, 100_000)

    def counter(per_second: float) -> Getter:
        return lambda d, now: ber.integer(int(d.uptime_seconds(now) * per_second) & 0xFFFFFFFF, ber.COUNTER32)

    rows: list[tuple[Oid, Getter]] = [(IF_NUMBER, _int(ports))]
    for i in range(1, ports + 1):
        up = kind is not DeviceKind.SWITCH or i <= 24  # a switch's 4 SFP cages stay empty
        share = rate / ports
        columns: dict[int, Getter] = {
            1: _int(i),
            2: _text(f"GigabitEthernet1/0/{i}" if kind is DeviceKind.SWITCH else f"eth{i - 1}"),
            3: _int(6),  # ethernetCsmacd
            4: _int(1500),
            5: lambda d, now: ber.integer(1_000_000_000, ber.GAUGE32),
            6: lambda d, now: ber.octets(_mac(d)),
            7: _int(1),
            8: _int(1 if up else 2),
            9: lambda d, now: timeticks(0),
            10: counter(share / 20 if up else 0),
            11: counter(share / 20 / 800 if up else 0),
            13: _int(0, ber.COUNTER32),
            14: _int(0, ber.COUNTER32),
            16: counter(share if up else 0),
            17: counter(share / 1200 if up else 0),
            19: _int(0, ber.COUNTER32),
            20: _int(0, ber.COUNTER32),
        }
        rows.extend((IF_ENTRY + (column, i), getter) for column, getter in columns.items())
    return rows


def _storage_units(byte_count: int) -> int:
    return min(byte_count // ALLOCATION_UNIT, INT32_MAX)


def _system_date(d: EmulatedDevice, now: float) -> bytes:
    """hrSystemDate as DateAndTime in UTC, from the device's own (possibly skewed) clock."""
    at = time.gmtime(d.clock(now))
    return ber.octets(struct.pack(">HBBBBBBcBB", at.tm_year, at.tm_mon, at.tm_mday, at.tm_hour, at.tm_min,
                                  min(at.tm_sec, 59), 0, b"+", 0, 0))


def _host_resources(disks: int) -> list[tuple[Oid, Getter]]:
    rows: list[tuple[Oid, Getter]] = [(HR_MEMORY_SIZE, _int(RAM_BYTES // 1024)), (HR_SYSTEM_DATE, _system_date)]
    ram = {1: _int(1), 2: _oid(HR_STORAGE_RAM), 3: _text("Physical memory"), 4: _int(ALLOCATION_UNIT),
           5: _int(_storage_units(RAM_BYTES)), 6: _int(_storage_units(RAM_BYTES * 3 // 5)), 7: _int(0)}
    storage: dict[tuple[int, int], Getter] = {(column, 1): getter for column, getter in ram.items()}
    devices: dict[tuple[int, int], Getter] = {}
    disk_storage: dict[tuple[int, int], Getter] = {}
    for i in range(disks):
        row, index = i + 2, HR_DISK_INDEX_BASE + i

        def size(d: EmulatedDevice, now: float, i: int = i) -> bytes:
            return ber.integer(_storage_units(d.disks[i].capacity_bytes))

        def used(d: EmulatedDevice, now: float, i: int = i) -> bytes:
            return ber.integer(_storage_units(d.disks[i].used_bytes))

        def status(d: EmulatedDevice, now: float, i: int = i) -> bytes:
            return ber.integer(HR_DEVICE_DOWN if d.disks[i].failed else HR_DEVICE_RUNNING)

        def errors(d: EmulatedDevice, now: float, i: int = i) -> bytes:
            return ber.integer(17 if d.disks[i].failed else 0, ber.COUNTER32)

        def capacity_kib(d: EmulatedDevice, now: float, i: int = i) -> bytes:
            return ber.integer(min(d.disks[i].capacity_bytes // 1024, INT32_MAX))

        storage.update({(1, row): _int(row), (2, row): _oid(HR_STORAGE_FIXED_DISK), (3, row): _text(f"/mnt/hdd{i + 1}"),
                        (4, row): _int(ALLOCATION_UNIT), (5, row): size, (6, row): used, (7, row): _int(0)})
        devices.update({(1, index): _int(index), (2, index): _oid(HR_DEVICE_DISK_STORAGE),
                        (3, index): _text(f"HDD{i + 1} ST8000VX004 SkyHawk"), (4, index): _oid((0, 0)),
                        (5, index): status, (6, index): errors})
        disk_storage.update({(1, index): _int(1), (2, index): _int(3), (3, index): _int(2), (4, index): capacity_kib})
    for entry, table in ((HR_STORAGE_ENTRY, storage), (HR_DEVICE_ENTRY, devices), (HR_DISK_STORAGE_ENTRY, disk_storage)):
        rows.extend((entry + key, getter) for key, getter in table.items())
    return rows


def _hikvision(disks: int) -> list[tuple[Oid, Getter]]:
    def address(d: EmulatedDevice, now: float) -> bytes:
        return ber.tlv(ber.IP_ADDRESS, ipaddress.IPv4Address(d.device.host).packed)

    rows: list[tuple[Oid, Getter]] = [
        (HIKVISION + (1, 0), address),
        (HIKVISION + (3, 0), lambda d, now: ber.octets(d.device.serial)),
        (HIKVISION + (240, 0), _int(disks)),
    ]
    for i in range(disks):

        def status(d: EmulatedDevice, now: float, i: int = i) -> bytes:
            return ber.integer(HIKVISION_DISK_ABNORMAL if d.disks[i].failed else HIKVISION_DISK_NORMAL)

        def free_mib(d: EmulatedDevice, now: float, i: int = i) -> bytes:
            return ber.integer((d.disks[i].capacity_bytes - d.disks[i].used_bytes) // MIB)

        def capacity_mib(d: EmulatedDevice, now: float, i: int = i) -> bytes:
            return ber.integer(d.disks[i].capacity_bytes // MIB)

        columns: dict[int, Getter] = {1: _int(i + 1), 2: _text(f"HDD{i + 1}"), 3: status, 4: free_mib, 5: capacity_mib}
        rows.extend((HIKVISION_DISK_ENTRY + (column, i + 1, 0), getter) for column, getter in columns.items())
    return rows


@dataclass(frozen=True, slots=True)
class View:
    """The OIDs a shape of device answers, sorted, each with its getter."""

    oids: tuple[Oid, ...]
    getters: dict[Oid, Getter]

    def get(self, device: EmulatedDevice, oid: Oid, now: float) -> bytes:
        getter = self.getters.get(oid)
        return getter(device, now) if getter else bytes((ber.NO_SUCH_OBJECT, 0))

    def next(self, device: EmulatedDevice, oid: Oid, now: float) -> tuple[Oid, bytes] | None:
        """The first OID after `oid` and its value; None past the end of the view."""
        i = bisect.bisect_right(self.oids, oid)
        if i == len(self.oids):
            return None
        found = self.oids[i]
        return found, self.getters[found](device, now)


@cache
def _view(kind: DeviceKind, vendor: str, disks: int) -> View:
    rows = _system() + _interfaces(kind, PORTS_BY_KIND[kind])
    if kind is DeviceKind.NVR:
        rows += _host_resources(disks)
        if vendor == "hikvision":
            rows += _hikvision(disks)
    getters = dict(rows)
    return View(oids=tuple(sorted(getters)), getters=getters)


def view_for(device: EmulatedDevice) -> View:
    """The device's view; shared by every device of the same shape, so it is built once per shape."""
    return _view(device.device.kind, device.device.vendor.lower(), len(device.disks))
