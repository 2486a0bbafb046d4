"""Tickets and repair cost: the typed input a report accepts, and the figures made from it.

Tickets are built elsewhere (their own tables and lifecycle); a report does not read them. Whoever
has them hands the report one `RepairFacts` per ticket of the devices in scope. Without them the
report says that ticket figures are not available, rather than showing zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from fleetmon.inventory.model import Funding


@dataclass(frozen=True, slots=True)
class RepairFacts:
    """One maintenance ticket as a report needs it. Times are aware datetimes."""

    device_id: str
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    cost_vnd: int | None = None  # what the repair cost, when it is closed with a repair record
    funding: Funding | None = None  # who pays for the repair


@dataclass(frozen=True, slots=True)
class TicketFigures:
    opened: int
    resolved: int
    still_open: int  # opened before the end and not resolved by it
    mtta_hours: float | None  # mean time to acknowledge, of the tickets acknowledged in the period
    mttr_hours: float | None  # mean time to repair (open to resolved), of the tickets resolved in the period
    cost_by_funding: dict[str, int]  # funding value ("" unspecified) -> VND, repairs resolved in the period
    cost_by_area: dict[str, int]  # area path -> VND

    @property
    def cost_total(self) -> int:
        return sum(self.cost_by_funding.values())


def _mean_hours(spans: list[float]) -> float | None:
    return sum(spans) / len(spans) / 3600 if spans else None


def ticket_figures(facts: Iterable[RepairFacts], start: datetime, end: datetime, area_of: Callable[[str], str | None]) -> TicketFigures:
    """Figures of the tickets whose device `area_of` places in scope (None: out of scope)."""
    opened = resolved = still_open = 0
    to_ack: list[float] = []
    to_repair: list[float] = []
    by_funding: dict[str, int] = {}
    by_area: dict[str, int] = {}
    for fact in facts:
        area = area_of(fact.device_id)
        if area is None:
            continue
        if start <= fact.opened_at < end:
            opened += 1
        if fact.opened_at < end and (fact.resolved_at is None or fact.resolved_at >= end):
            still_open += 1
        if fact.acknowledged_at is not None and start <= fact.acknowledged_at < end:
            to_ack.append((fact.acknowledged_at - fact.opened_at).total_seconds())
        if fact.resolved_at is not None and start <= fact.resolved_at < end:
            resolved += 1
            to_repair.append((fact.resolved_at - fact.opened_at).total_seconds())
            if fact.cost_vnd:
                key = fact.funding.value if fact.funding else ""
                by_funding[key] = by_funding.get(key, 0) + fact.cost_vnd
                by_area[area] = by_area.get(area, 0) + fact.cost_vnd
    return TicketFigures(opened, resolved, still_open, _mean_hours(to_ack), _mean_hours(to_repair), by_funding, by_area)
