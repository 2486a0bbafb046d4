"""Sizes in the unit that fits: a 16 MiB system volume is "16 MiB", not "0.0 GB"."""

from __future__ import annotations

_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(size: int | float) -> str:
    """1536 -> "1.5 KiB", 16 * 2**20 -> "16 MiB", 3.9e12 -> "3.6 TiB" (binary units, as disks are sold in the MIBs)."""
    value = float(size)
    unit = 0
    while abs(value) >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{int(value)} bytes"
    text = f"{value:.1f}".removesuffix(".0") if value < 100 else f"{value:.0f}"
    return f"{text} {_UNITS[unit]}"
