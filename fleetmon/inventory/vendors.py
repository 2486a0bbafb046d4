"""Brands sold in Vietnam are often another maker's firmware under a new badge; probes speak the firmware.

The brand table lives with the rest of the vendor knowledge in `fleetmon/probes/data/vendors.yaml`;
this module only reads it for the inventory side.
"""

from __future__ import annotations

from fleetmon.probes.vendors import family_of_brand


def firmware_family(vendor: str) -> str:
    """The firmware family of a brand, lower case: "KBVision" -> "dahua"."""
    return family_of_brand(vendor)
