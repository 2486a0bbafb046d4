"""The fleet as typed values: what an inventory row says about one device.

These are the types other parts meet through (the simulator emulates them, probes read their
addresses, reports group by their area and funding). They carry no database identity; the store
maps them to rows.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import date

from fleetmon.probes.target import DEFAULT_PORTS


class DeviceKind(enum.StrEnum):
    CAMERA = "camera"
    NVR = "nvr"
    SWITCH = "switch"
    OTHER = "other"


class Protocol(enum.StrEnum):
    ONVIF = "onvif"
    SNMP = "snmp"
    HTTP = "http"


class Funding(enum.StrEnum):
    """Who paid for a unit: budget reports split by this."""

    STATE_BUDGET = "state_budget"  # ngân sách nhà nước
    SOCIAL = "social"  # xã hội hóa: citizens, businesses
    HOUSEHOLD_SHARED = "household_shared"  # a household's own camera shared with police


AREA_SEPARATOR = " / "


@dataclass(frozen=True, slots=True)
class Device:
    """One unit as the inventory declares it.

    `area` is the path of area names from the root ("Thanh Hóa / Thọ Xuân / Xuân Lập");
    `protocols` is what to probe, which may be less than what the unit speaks.
    """

    id: str
    kind: DeviceKind
    host: str
    area: str = ""
    site: str = ""
    site_operator: str = ""
    vendor: str = ""
    model: str = ""
    serial: str = ""
    mac: str = ""
    firmware: str = ""
    onvif_port: int | None = None
    rtsp_port: int | None = None
    snmp_port: int | None = None
    http_port: int | None = None
    protocols: tuple[Protocol, ...] = ()
    credential_profile: str = ""
    parent: str = ""
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    install_date: date | None = None
    warranty_end: date | None = None
    purchase_cost_vnd: int | None = None
    funding: Funding | None = None
    owner_contact: str = ""
    notes: str = ""
    active: bool = True

    def port(self, name: str) -> int:
        """The port for `name` ("onvif_port", ...), falling back to the protocol's standard one.

        The web API shares the ONVIF port unless the inventory says otherwise, as on most units.
        """
        value: int | None = getattr(self, name)
        if value is None and name == "http_port":
            return self.port("onvif_port")
        return value if value is not None else DEFAULT_PORTS[name]

    @property
    def area_path(self) -> tuple[str, ...]:
        return split_area_path(self.area)


DEVICE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Device))


AREA_SEPARATORS = ("/", ">")


def normalise_name(text: str) -> str:
    """A name as one spelling: composed Unicode (NFC), single spaces, no spaces around.

    "Xuân  Lập" and "Xuân Lập" typed with combining accents (NFD) are the same area.
    """
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def name_key(text: str) -> str:
    """What two spellings of one name share: the normalised name without case."""
    return normalise_name(text).casefold()


def split_area_path(path: str) -> tuple[str, ...]:
    """Area names from the root, normalised; accepts " / ", "/" or ">" between levels."""
    return tuple(n for n in (normalise_name(p) for p in re.split(r"[/>]", path)) if n)


def join_area_path(names: tuple[str, ...] | list[str]) -> str:
    return AREA_SEPARATOR.join(names)


@dataclass(frozen=True, slots=True)
class AreaLevel:
    """A level of the area tree (province, district, commune...), named by configuration."""

    key: str
    label: str
    label_vi: str = ""


# Vietnam's three tiers before July 2025; a config names its own (two tiers since).
DEFAULT_AREA_LEVELS = (
    AreaLevel(key="province", label="Province", label_vi="Tỉnh"),
    AreaLevel(key="district", label="District", label_vi="Huyện"),
    AreaLevel(key="commune", label="Commune", label_vi="Xã"),
)


@dataclass(slots=True)
class AreaNode:
    """An area as the store holds it: identity survives renames, moves and merges."""

    id: int
    name: str
    parent_id: int | None
    depth: int
    path: tuple[str, ...] = field(default_factory=tuple)
    merged_into_id: int | None = None
