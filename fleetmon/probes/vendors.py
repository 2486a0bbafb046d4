"""Vendor knowledge from `fleetmon/probes/data/vendors.yaml`, the one file that holds it.

Brands sold in Vietnam are often another maker's firmware under a new badge (KBVision runs Dahua
firmware), so every probe speaks a *family*: `family_of_brand("KBVision") == "dahua"`. The same file
names each family's enterprise numbers, SNMP tables (read by `fleetmon.probes.snmp.oids`) and the
disk-state words of its HTTP API (read by `fleetmon.probes.http.vendor_api`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

DISK_STATE_NAMES = ("ok", "failed", "full", "unformatted", "other")
SENSOR_STATE_NAMES = ("ok", "failed", "out_of_range", "other")


class VendorDataError(ValueError):
    """vendors.yaml says something the probes cannot use (a typo in a state name, a bad OID)."""


@dataclass(frozen=True, slots=True)
class VendorData:
    brands: dict[str, str]  # brand (lower case) -> family
    enterprises: dict[int, str]  # enterprise number -> family
    families: dict[str, dict[str, Any]]  # family -> its raw section (identity, disk_tables, ...)
    host_resources_device_status: dict[str, list[str]]
    http_disk_words: dict[str, dict[str, str]]  # family -> vendor word (lower case) -> disk state
    generic_agents: frozenset[str] = frozenset()  # families naming agent software, not the unit's maker

    def family_of_brand(self, brand: str) -> str:
        """The firmware family of a brand, lower case ("KBVision" -> "dahua"; unknown brands are their own)."""
        name = brand.strip().lower()
        return self.brands.get(name, name)

    def family_of_enterprise(self, number: int) -> str:
        return self.enterprises.get(number, "")


def _http_words(families: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    words: dict[str, dict[str, str]] = {}
    for family, section in families.items():
        for word, state in (section.get("http_disk_words") or {}).items():
            if state not in DISK_STATE_NAMES:
                raise VendorDataError(f"vendors.yaml: {family} HTTP word {word!r} maps to unknown state {state!r}")
            words.setdefault(family, {})[str(word).lower()] = str(state)
    return words


def parse(data: dict[str, Any]) -> VendorData:
    families = {str(name): dict(section or {}) for name, section in (data.get("families") or {}).items()}
    brands = {str(brand).lower(): str(family) for brand, family in (data.get("brands") or {}).items()}
    brands.update({family: family for family in families if family not in brands})
    return VendorData(
        brands=brands,
        enterprises={int(number): str(name) for number, name in (data.get("enterprises") or {}).items()},
        families=families,
        host_resources_device_status={str(k): list(v) for k, v in (data.get("host_resources_device_status") or {}).items()},
        http_disk_words=_http_words(families),
        generic_agents=frozenset(str(name) for name in data.get("generic_agents") or ()),
    )


@cache
def vendor_data() -> VendorData:
    """The parsed `vendors.yaml` shipped with the package (read once per process)."""
    text = resources.files("fleetmon.probes").joinpath("data/vendors.yaml").read_text(encoding="utf-8")
    return parse(yaml.safe_load(text))


def family_of_brand(brand: str) -> str:
    return vendor_data().family_of_brand(brand)
