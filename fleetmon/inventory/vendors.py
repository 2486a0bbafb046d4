"""Brands sold in Vietnam are often another maker's firmware under a new badge; probes speak the firmware."""

from __future__ import annotations

FIRMWARE_FAMILY: dict[str, str] = {
    "kbvision": "dahua",
    "imou": "dahua",
    "hdparagon": "hikvision",
    "ezviz": "hikvision",
    "hilook": "hikvision",
}


def firmware_family(vendor: str) -> str:
    """The firmware family of a brand, lower case: "KBVision" -> "dahua"."""
    name = vendor.strip().lower()
    return FIRMWARE_FAMILY.get(name, name)
