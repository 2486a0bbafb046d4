"""Store and config in, `Report` out: the only part of the reports that reads the store.

Devices are grouped by the area they are in now. A merge re-points devices to the surviving
area, so the history of a merged area is reported under its survivor; a renamed area keeps its
id, so its history follows the new name. Retired devices count for the periods they served in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from fleetmon.config import ReportsConfig
from fleetmon.exporters.reports import inventory
from fleetmon.exporters.reports.availability import DeviceTime, StateSeconds, device_time
from fleetmon.exporters.reports.changes import load_histories
from fleetmon.exporters.reports.inventory import Unit
from fleetmon.exporters.reports.model import (
    AreaFigures,
    Budget,
    DayFigure,
    Figures,
    FundingAmount,
    Hours,
    Report,
    Settings,
    SiteFigures,
    UnitRow,
)
from fleetmon.exporters.reports.period import Period
from fleetmon.exporters.reports.repairs import RepairFacts, ticket_figures
from fleetmon.inventory.model import AREA_SEPARATOR, AreaNode, split_area_path
from fleetmon.store import statelog
from fleetmon.store.areas import AreaError, AreaTree
from fleetmon.store.schema import devices, sites

NO_SITE = ""


@dataclass(slots=True)
class _Tally:
    devices: int = 0
    seconds: StateSeconds = field(default_factory=StateSeconds)
    faults: Counter[str] = field(default_factory=Counter)
    repeated: int = 0
    out_of_warranty: int = 0
    past_life: int = 0
    replacement_cost: int = 0

    def add(self, time: DeviceTime, repeated: bool, warranty_over: bool, past_life: bool, cost: int | None) -> None:
        self.devices += 1
        self.seconds.add(time.seconds)
        self.faults.update(time.faults)
        self.repeated += repeated
        self.out_of_warranty += warranty_over
        self.past_life += past_life
        if past_life and cost:
            self.replacement_cost += cost

    def figures(self) -> Figures:
        return Figures(self.devices, Hours.of(self.seconds), dict(self.faults.most_common()), self.repeated,
                       self.out_of_warranty, self.past_life, self.replacement_cost)


def scope_node(tree: AreaTree, path: str) -> AreaNode:
    """The live area at `path`; a merged area's path leads to the area it was merged into."""
    try:
        return tree.find(path)
    except AreaError:
        parts = split_area_path(path)
        for node in tree.nodes.values():
            if node.merged_into_id is not None and node.path == parts:
                return tree.nodes[survivor(tree, node.id)]
        raise


def survivor(tree: AreaTree, area_id: int) -> int:
    seen = set()
    while tree.nodes[area_id].merged_into_id is not None and area_id not in seen:
        seen.add(area_id)
        area_id = tree.nodes[area_id].merged_into_id  # type: ignore[assignment]
    return area_id


def _chain(tree: AreaTree, area_id: int, stop: int | None) -> list[int]:
    """The area and its ancestors up to `stop` (included), or to the root."""
    chain = []
    current: int | None = area_id
    while current is not None:
        chain.append(current)
        if current == stop:
            break
        current = tree.nodes[current].parent_id
    return chain


def _by_funding(rows: Sequence[UnitRow]) -> tuple[FundingAmount, ...]:
    units: Counter[str] = Counter()
    cost: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for row in rows:
        units[row.funding] += 1
        if row.replacement_cost_vnd is None:
            unknown[row.funding] += 1
        else:
            cost[row.funding] += row.replacement_cost_vnd
    return tuple(FundingAmount(key, units[key], cost[key], unknown[key]) for key in sorted(units, key=lambda k: (k == "", k)))


def build_report(
    conn: Connection,
    config: ReportsConfig,
    period: Period,
    area: str | None = None,
    repairs: Sequence[RepairFacts] | None = None,
    now: datetime | None = None,
) -> Report:
    now = now or datetime.now(UTC)
    tree = AreaTree.load(conn)
    scope = scope_node(tree, area) if area else None
    in_scope = tree.subtree_ids(scope.id) if scope else set(tree.nodes)
    start = period.start
    # A period not over yet is reported up to now: the rest of it is neither up nor unknown, it has not happened.
    end = max(start, min(period.end, now))
    beats = statelog.worker_heartbeats(conn).values()
    watched_until = max(beats) if beats and max(beats) < end.timestamp() else None
    following = period.following()

    query = select(devices.c.id, devices.c.kind, devices.c.vendor, devices.c.model, devices.c.area_id, devices.c.site_id,
                   devices.c.install_date, devices.c.warranty_end, devices.c.purchase_cost_vnd, devices.c.funding,
                   devices.c.active, devices.c.retired_at)
    rows = [r for r in conn.execute(query)
            if (r.retired_at is None or r.retired_at >= start) and (scope is None or r.area_id in in_scope)]
    site_rows = {r.id: (r.name, r.area_id) for r in conn.execute(select(sites.c.id, sites.c.name, sites.c.area_id))}
    histories = load_histories(conn, (r.id for r in rows), start, end)
    day_bounds = period.day_bounds()
    day_starts = [b for _, b, _ in day_bounds]

    total = _Tally()
    by_area: dict[int, _Tally] = {}
    by_site: dict[tuple[int | None, str], _Tally] = {}
    daily_working = [0.0] * len(day_starts)
    daily_known = [0.0] * len(day_starts)
    repeated_rows: list[UnitRow] = []
    warranty_rows: list[UnitRow] = []
    life_rows: list[UnitRow] = []
    due_rows: list[UnitRow] = []
    cost_by_top: Counter[str] = Counter()
    area_of_device: dict[str, str] = {}
    top_ids = {n.id for n in tree.children(scope.id if scope else None)}  # the areas costs are charted by

    for row in rows:
        history = histories[row.id]
        time = device_time(history.before, history.during, start.timestamp(), end.timestamp(), day_starts, history.after, watched_until)
        unit = Unit(row.id, row.kind, row.vendor, row.model, row.install_date, row.warranty_end, row.purchase_cost_vnd, row.funding or "")
        live_area = survivor(tree, row.area_id) if row.area_id is not None else None
        area_path = AREA_SEPARATOR.join(tree.nodes[live_area].path) if live_area is not None else ""
        area_of_device[row.id] = area_path
        site_name = site_rows[row.site_id][0] if row.site_id in site_rows else NO_SITE
        repeated = time.down_episodes >= config.repeated_failures
        warranty_over = bool(row.active) and inventory.out_of_warranty(unit, period.last)
        past_life = bool(row.active) and inventory.past_service_life(unit, config, period.last)
        cost = inventory.replacement_cost(unit, config)
        ends = inventory.service_end(unit, config)

        listed = UnitRow(unit.device_id, unit.kind, unit.vendor, unit.model, area_path, site_name, unit.funding,
                         unit.install_date, unit.warranty_end, ends, cost, time.down_episodes, time.seconds.offline / 3600)
        for wanted, found in ((repeated, repeated_rows), (warranty_over, warranty_rows), (past_life, life_rows),
                              (row.active and ends is not None and ends <= following.last, due_rows)):
            if wanted:
                found.append(listed)

        for tally in (total, by_site.setdefault((live_area, site_name), _Tally())):
            tally.add(time, repeated, warranty_over, past_life, cost)
        if live_area is not None:
            chain = _chain(tree, live_area, scope.id if scope else None)
            for area_id in chain:
                by_area.setdefault(area_id, _Tally()).add(time, repeated, warranty_over, past_life, cost)
            tops = [a for a in chain if a in top_ids]
            if past_life and cost and tops:
                cost_by_top[tree.nodes[tops[0]].name] += cost
        for i in range(len(day_starts)):
            daily_working[i] += time.daily_working[i]
            daily_known[i] += time.daily_known[i]

    live_in_scope = sorted((n for n in tree.live() if n.id in in_scope), key=lambda n: n.path)
    base_depth = scope.depth if scope else 0
    merged: dict[int, list[str]] = {}
    for node in tree.nodes.values():
        if node.merged_into_id is not None:
            merged.setdefault(node.merged_into_id, []).append(AREA_SEPARATOR.join(node.path))
    areas = tuple(
        AreaFigures(node.id, node.path, node.depth - base_depth, by_area.get(node.id, _Tally()).figures(),
                    tuple(sorted(merged.get(node.id, []))))
        for node in live_in_scope
    )
    site_list = tuple(
        SiteFigures(AREA_SEPARATOR.join(tree.nodes[area_id].path) if area_id is not None else "", name, tally.figures())
        for (area_id, name), tally in sorted(by_site.items(), key=lambda kv: (
            tree.nodes[kv[0][0]].path if kv[0][0] is not None else (), kv[0][1]))
    )
    days = tuple(DayFigure(day, (w / k) if k > 0 else None, k / 3600)
                 for (day, _, _), w, k in zip(day_bounds, daily_working, daily_known, strict=True))

    tickets = None
    repair_estimate = None
    if repairs is not None:
        tickets = ticket_figures(repairs, start, end, area_of_device.get)
        scale = following.seconds / max(1.0, (end - start).total_seconds())  # this period's repair rate, so far
        repair_estimate = {k: round(v * scale) for k, v in tickets.cost_by_funding.items()}
    budget = Budget(following.label, following.first, following.last, _by_funding(due_rows), repair_estimate)
    life = config.service_life_years
    prices = config.replacement_price_vnd
    settings = Settings(config.repeated_failures, {"camera": life.camera, "nvr": life.nvr, "switch": life.switch, "other": life.other},
                        {"camera": prices.camera, "nvr": prices.nvr, "switch": prices.switch, "other": prices.other}, str(period.zone))
    total_figures = total.figures()
    return Report(
        period_label=period.label, first=period.first, last=period.last,
        scope=AREA_SEPARATOR.join(scope.path) if scope else "",
        generated_at=now,
        observed_until=end if end < period.end else None,
        total=total_figures, areas=areas, sites=site_list, days=days,
        repeated=tuple(sorted(repeated_rows, key=lambda r: (-r.down_episodes, r.area, r.site, r.device_id))),
        out_of_warranty=tuple(sorted(warranty_rows, key=lambda r: (r.area, r.site, r.device_id))),
        past_service_life=tuple(sorted(life_rows, key=lambda r: (r.area, r.site, r.device_id))),
        replacement_by_funding=_by_funding(life_rows),
        out_of_warranty_by_funding=_by_funding(warranty_rows),
        replacement_by_area=dict(cost_by_top.most_common()),
        budget=budget, tickets=tickets, settings=settings,
    )
