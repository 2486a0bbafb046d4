"""Preventive maintenance: upkeep plans (`tickets.plans`) open tickets on schedule, one per site.

A plan names its tasks (clean lenses, check power and cabling, test footage retrieval), the
sites it covers (an area subtree, site names, unit models) and how often. A site's ticket is due
at the plan's start, then `every` after the last one opened; while one is still open no other is
made. There is no fault to clear: the ticket closes with its work record like any other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, insert, select

from fleetmon.alerts.tickets import ACTIVE, OPEN, open_key, record
from fleetmon.config import MaintenancePlan
from fleetmon.inventory.model import Device, split_area_path
from fleetmon.store.schema import tickets

KIND = "preventive"


def subject(name: str, area: str, site: str) -> str:
    return f"plan:{name}:{area}|{site}"


@dataclass(frozen=True, slots=True)
class Due:
    plan: str
    area: str
    site: str
    units: tuple[str, ...]


def _sites(plan: MaintenancePlan, sites: Mapping[tuple[str, str], Sequence[str]], devices: Mapping[str, Device]) -> Iterator[Due]:
    prefix = split_area_path(plan.area)
    for (area, site), ids in sorted(sites.items()):
        if split_area_path(area)[: len(prefix)] != prefix or (plan.sites and site not in plan.sites):
            continue
        units = tuple(sorted(i for i in ids if not plan.models or (i in devices and devices[i].model in plan.models)))
        if units:
            yield Due("", area, site, units)


def due(conn: Connection, plans: Mapping[str, MaintenancePlan], sites: Mapping[tuple[str, str], Sequence[str]],
        devices: Mapping[str, Device], now: datetime) -> list[tuple[str, MaintenancePlan, Due]]:
    """Sites whose upkeep is due now and has no open ticket."""
    if not plans:
        return []
    c = tickets.c
    last = {r[0]: r[1] for r in conn.execute(select(c.subject, func.max(c.opened_at)).where(c.kind == KIND).group_by(c.subject))}
    still_open = set(conn.execute(select(c.subject).where(c.kind == KIND, c.state.in_(ACTIVE))).scalars())
    found = []
    for name, plan in plans.items():
        if plan.starts is not None and now < plan.starts:
            continue
        for site in _sites(plan, sites, devices):
            key = subject(name, site.area, site.site)
            previous = last.get(key)
            if key not in still_open and (previous is None or now >= previous + timedelta(seconds=plan.every)):
                found.append((name, plan, Due(name, site.area, site.site, site.units)))
    return found


def open_ticket(conn: Connection, name: str, plan: MaintenancePlan, site: Due, now: datetime, title: str) -> int:
    key = subject(name, site.area, site.site)
    result = conn.execute(insert(tickets).values(
        subject=key, kind=KIND, open_key=open_key(key, KIND), state=OPEN, severity=plan.severity, team=plan.team, device_id=None,
        area=site.area, site=site.site, title=title, detail="; ".join(plan.tasks), affected="\n".join(site.units), assignee="",
        fault_since=now, opened_at=now, sla_from=now, fault_cleared_at=now, reopened=0,
        repair_cause="", repair_action="", repair_parts="", repaired_by=""))
    ticket_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    record(conn, ticket_id, now, "opened", "fleetmon", f"upkeep plan {name}: every {plan.every / 86400:g} days")
    return ticket_id
