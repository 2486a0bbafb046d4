"""Units out of warranty and past their service life, and what replacing them costs.

The cost to replace a unit is the configured price for its kind when one is set (today's price),
else what the unit cost when bought; a unit with neither is counted, with its cost unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fleetmon.config import ReportsConfig


@dataclass(frozen=True, slots=True)
class Unit:
    """The inventory facts of one device a report needs."""

    device_id: str
    kind: str
    vendor: str
    model: str
    install_date: date | None
    warranty_end: date | None
    purchase_cost_vnd: int | None
    funding: str  # "" when the inventory does not say


def service_end(unit: Unit, config: ReportsConfig) -> date | None:
    """The day a unit reaches the end of its service life (None without an install date)."""
    if unit.install_date is None:
        return None
    years = getattr(config.service_life_years, unit.kind, config.service_life_years.other)
    return unit.install_date + timedelta(days=round(float(years) * 365.25))


def replacement_cost(unit: Unit, config: ReportsConfig) -> int | None:
    price = getattr(config.replacement_price_vnd, unit.kind, config.replacement_price_vnd.other)
    return int(price) if price is not None else unit.purchase_cost_vnd


def out_of_warranty(unit: Unit, on: date) -> bool:
    """Its warranty ended on or before `on` (the period's last day): repairs are paid from now on."""
    return unit.warranty_end is not None and unit.warranty_end <= on


def past_service_life(unit: Unit, config: ReportsConfig, on: date) -> bool:
    end = service_end(unit, config)
    return end is not None and end <= on
