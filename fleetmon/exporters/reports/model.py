"""The report as typed values. Every renderer reads these and nothing else.

Hours, not seconds: officers read hours. Money is whole VND (int). Funding is the inventory's
value (`state_budget`, `social`, `household_shared`) or "" when the inventory does not say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fleetmon.exporters.reports.availability import StateSeconds
from fleetmon.exporters.reports.repairs import TicketFigures


@dataclass(frozen=True, slots=True)
class Hours:
    up: float
    degraded: float
    down: float  # the unit's own outages
    network: float  # unreachable: behind a recorder or uplink that was down, or the site dropped
    power: float  # outages that ended with the unit restarted
    unknown: float  # not observed: before first seen, or the monitor was not running
    monitor_gap: float  # the part of `unknown` when the monitor was not running
    availability: float | None  # working share (0..1) of the known time; None if nothing was known

    @property
    def downtime(self) -> float:
        return self.down + self.network + self.power

    @classmethod
    def of(cls, seconds: StateSeconds) -> Hours:
        h = 3600.0
        return cls(seconds.up / h, seconds.degraded / h, seconds.down / h, seconds.network / h, seconds.power / h,
                   seconds.unknown / h, seconds.monitor_gap / h, seconds.availability)


@dataclass(frozen=True, slots=True)
class Figures:
    """What a report says about a group of devices (an area's subtree, or a site)."""

    devices: int
    hours: Hours
    faults: dict[str, int]  # kind -> count
    repeated_failures: int  # units with N or more outages of their own
    out_of_warranty: int
    past_service_life: int
    replacement_cost_vnd: int  # of the units past their service life (known costs only)


@dataclass(frozen=True, slots=True)
class AreaFigures:
    area_id: int
    path: tuple[str, ...]  # from the root
    level: int  # depth below the report's scope (0: the scope itself)
    figures: Figures
    merged: tuple[str, ...] = ()  # areas merged into this one: their history is reported here

    @property
    def name(self) -> str:
        return " / ".join(self.path)


@dataclass(frozen=True, slots=True)
class SiteFigures:
    area: str  # area path
    site: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class DayFigure:
    day: date
    availability: float | None
    known_hours: float


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One unit in a list (failing repeatedly, out of warranty, past service life)."""

    device_id: str
    kind: str
    vendor: str
    model: str
    area: str
    site: str
    funding: str
    install_date: date | None
    warranty_end: date | None
    service_end: date | None  # install date plus service life
    replacement_cost_vnd: int | None
    down_episodes: int = 0
    downtime_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class FundingAmount:
    funding: str
    units: int
    cost_vnd: int
    units_without_cost: int = 0  # neither a purchase cost nor a configured price


@dataclass(frozen=True, slots=True)
class Budget:
    """What the next period needs: units reaching (or past) their service life by its end, and repairs."""

    period_label: str
    first: date
    last: date
    replacements: tuple[FundingAmount, ...]
    repair_estimate: dict[str, int] | None  # funding -> VND, from this period's repair cost; None without tickets

    @property
    def total_vnd(self) -> int:
        return sum(r.cost_vnd for r in self.replacements) + sum((self.repair_estimate or {}).values())


@dataclass(frozen=True, slots=True)
class Settings:
    repeated_failures: int
    service_life_years: dict[str, float]
    replacement_price_vnd: dict[str, int | None]
    timezone: str


@dataclass(frozen=True, slots=True)
class Report:
    period_label: str
    first: date
    last: date
    scope: str  # the area path reported on, "" for the whole fleet
    generated_at: datetime
    observed_until: datetime | None  # the period is not over: figures up to this moment
    total: Figures
    areas: tuple[AreaFigures, ...]
    sites: tuple[SiteFigures, ...]
    days: tuple[DayFigure, ...]
    repeated: tuple[UnitRow, ...]
    out_of_warranty: tuple[UnitRow, ...]
    past_service_life: tuple[UnitRow, ...]
    replacement_by_funding: tuple[FundingAmount, ...]
    out_of_warranty_by_funding: tuple[FundingAmount, ...]  # repairs of these are paid, not covered
    replacement_by_area: dict[str, int]  # top areas under the scope -> VND
    budget: Budget
    tickets: TicketFigures | None  # None: ticket figures are not available yet
    settings: Settings
