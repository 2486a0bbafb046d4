"""The OIDs the SNMP probe reads: standard MIB-II/HOST-RESOURCES/IF-MIB here, vendors' from data.

Standard objects are constants; vendor knowledge (enterprise numbers, disk tables, state codes)
lives in `fleetmon/probes/data/vendor_mibs.yaml`, loaded once into the typed tables below, so a firmware
with a new state code is a data edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import get_args

import yaml

from fleetmon.probes.findings import DiskState
from fleetmon.probes.snmp.ber import Oid, parse_oid

DISK_STATES: tuple[DiskState, ...] = get_args(DiskState)

ENTERPRISES = (1, 3, 6, 1, 4, 1)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3)
HR_SYSTEM_DATE = (1, 3, 6, 1, 2, 1, 25, 1, 2)
SCALARS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, HR_SYSTEM_DATE)  # read as GETBULK non-repeaters

IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_DESCR, IF_TYPE, IF_ADMIN, IF_OPER, IF_IN_OCTETS, IF_IN_ERRORS, IF_OUT_ERRORS = 2, 3, 7, 8, 10, 14, 20
IF_COLUMNS = (IF_DESCR, IF_TYPE, IF_ADMIN, IF_OPER, IF_IN_OCTETS, IF_IN_ERRORS, IF_OUT_ERRORS)
IF_SOFTWARE_LOOPBACK = 24
IF_OPER_STATES = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}

HR_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED = 2, 3, 4, 5, 6
HR_STORAGE_COLUMNS = (HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED)
HR_STORAGE_FIXED_DISK = (1, 3, 6, 1, 2, 1, 25, 2, 1, 4)  # hrStorageRam (.2), virtual memory (.3)... are not volumes
HR_STORAGE_NETWORK_DISK = (1, 3, 6, 1, 2, 1, 25, 2, 1, 10)
VOLUME_TYPES = frozenset((HR_STORAGE_FIXED_DISK, HR_STORAGE_NETWORK_DISK))

HR_DEVICE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 3, 2, 1)
HR_DEVICE_TYPE, HR_DEVICE_DESCR, HR_DEVICE_STATUS = 2, 3, 5
HR_DEVICE_COLUMNS = (HR_DEVICE_TYPE, HR_DEVICE_DESCR, HR_DEVICE_STATUS)
HR_DEVICE_DISK_STORAGE = (1, 3, 6, 1, 2, 1, 25, 3, 1, 6)
HR_DISK_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 3, 6, 1)
HR_DISK_REMOVABLE, HR_DISK_CAPACITY = 3, 4  # capacity in KiB; removable: true(1)
HR_DISK_COLUMNS = (HR_DISK_REMOVABLE, HR_DISK_CAPACITY)

StateTable = dict[str, tuple[DiskState, str]]  # vendor code (as text, lower case) -> (state, vendor word)


@dataclass(frozen=True, slots=True)
class DiskTable:
    """A vendor's disk table; `columns` maps name/state/free/capacity/used_percent to sub-identifiers."""

    mib: str
    vendor: str
    entry: Oid
    columns: dict[str, int]
    states: StateTable
    unit_bytes: int = 1


@dataclass(frozen=True, slots=True)
class DiskScalars:
    mib: str
    vendor: str
    name: str
    capacity: Oid
    used_percent: Oid


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    mib: str
    vendor: str
    oid: Oid
    states: StateTable


@dataclass(frozen=True, slots=True)
class VendorMibs:
    enterprises: dict[int, str]
    brands: dict[str, str]  # inventory brand (lower case) -> vendor whose MIBs it answers
    device_states: StateTable  # hrDeviceStatus
    disk_tables: tuple[DiskTable, ...]
    disk_scalars: tuple[DiskScalars, ...]
    device_status: tuple[DeviceStatus, ...]

    def vendor_of(self, sys_object_id: Oid) -> str:
        """The vendor named by an agent's sysObjectID (its enterprise number), or ""."""
        if sys_object_id[:6] != ENTERPRISES or len(sys_object_id) < 7:
            return ""
        return self.enterprises.get(sys_object_id[6], "")

    def vendor_of_brand(self, brand: str) -> str:
        """The vendor an inventory brand's units answer as ("" when unknown: learnt from sysObjectID)."""
        return self.brands.get(brand.strip().lower(), "")


def _states(raw: dict[object, list[str]]) -> StateTable:
    table: StateTable = {}
    for code, (state, word) in raw.items():
        if state not in DISK_STATES:
            raise ValueError(f"vendor_mibs.yaml: unknown disk state {state!r} for code {code!r}")
        table[str(code).lower()] = (state, str(word))
    return table


@cache
def vendor_mibs() -> VendorMibs:
    """The parsed `vendor_mibs.yaml` shipped with the package."""
    data = yaml.safe_load(resources.files("fleetmon.probes").joinpath("data/vendor_mibs.yaml").read_text(encoding="utf-8"))
    return VendorMibs(
        enterprises={int(number): str(name) for number, name in data["enterprises"].items()},
        brands={str(brand).lower(): str(vendor) for brand, vendor in data["brands"].items()},
        device_states=_states(data["host_resources_device_status"]),
        disk_tables=tuple(DiskTable(t["mib"], t["vendor"], parse_oid(t["entry"]), dict(t["columns"]), _states(t["states"]),
                                    int(t.get("unit_bytes", 1))) for t in data["disk_tables"]),
        disk_scalars=tuple(DiskScalars(s["mib"], s["vendor"], s["name"], parse_oid(s["capacity"]),
                                       parse_oid(s["used_percent"])) for s in data["disk_scalars"]),
        device_status=tuple(DeviceStatus(s["mib"], s["vendor"], parse_oid(s["oid"]), _states(s["states"]))
                            for s in data["device_status"]),
    )
