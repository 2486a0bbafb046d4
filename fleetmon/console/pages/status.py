"""Fleet status by area, drill-down to site and device, the site map and the charts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from starlette.responses import Response

from fleetmon.alerts import tickets
from fleetmon.console import fleet, svg
from fleetmon.console.fleet import Group, state_of
from fleetmon.console.i18n import word
from fleetmon.console.web import Ctx, Refused, page
from fleetmon.inventory.model import split_area_path


def _area_path(ctx: Ctx) -> tuple[str, ...]:
    asked = split_area_path(ctx.arg("area"))
    scope = ctx.scope.area
    if not asked:
        return scope
    if asked[: len(scope)] != scope:  # above or beside the user's area: show the user's own
        raise Refused(404, ctx._("No such area."))
    return asked


def _crumbs(path: tuple[str, ...], scope: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name, " / ".join(path[: n + 1])) for n, name in enumerate(path) if n + 1 >= len(scope)]


def _availability(ctx: Ctx, key: tuple[object, ...], ids: list[str]) -> list[fleet.Day]:
    def compute() -> list[fleet.Day]:
        with ctx.console.engine.connect() as conn:
            return fleet.availability(conn, ids, 7, ctx.console.clock())

    return ctx.console.charts.get(key, compute)  # type: ignore[return-value]


@page()
def status(ctx: Ctx) -> Response:
    """One area (the user's whole scope by default): its sub-areas and sites worst first, the map, the charts."""
    path = _area_path(ctx)
    devices = ctx.devices()
    states = ctx.states()
    found = fleet.area_status(devices, states, path)
    if path != ctx.scope.area and not found.total.devices:
        raise Refused(404, ctx._("No such area."))
    w = word(ctx.language)

    def label(group: Group) -> str:
        counts = ", ".join(f"{w(s)} {group.count(s)}" for s in svg.STATE_ORDER if group.count(s))
        return f"{group.name} ({group.area}): {counts}"

    ids = [d.id for d in devices.values() if d.area_path[: len(path)] == path]
    now = ctx.console.clock()
    with ctx.console.engine.connect() as conn:
        days = _availability(ctx, ("area", ctx.scope.area, path), ids)
        kinds = Counter(kind for kind, area, device in fleet.faults_by_kind(conn, now - timedelta(days=30))
                        if area and ctx.scope.covers(area) and split_area_path(area)[: len(path)] == path)
    return ctx.render("status.html", found=found, trail=_crumbs(path, ctx.scope.area),
                      map=svg.site_map(found.sites, label),
                      availability=svg.availability_chart(days, {s: w(s) for s in svg.STATE_ORDER}),
                      faults=svg.bar_chart([(w(k), n) for k, n in kinds.most_common()]), states=svg.STATE_ORDER)


@page()
def site(ctx: Ctx) -> Response:
    path = _area_path(ctx)
    name = ctx.arg("site")
    states = ctx.states()
    members = sorted((d for d in ctx.devices().values() if d.area_path == path and d.site == name),
                     key=lambda d: (fleet.WORST_FIRST.index(state_of(states, d.id).state), d.id))
    if not members:
        raise Refused(404, ctx._("No such site."))
    rows = [(d, state_of(states, d.id)) for d in members]
    counts = Counter(s.state.value for _, s in rows)
    return ctx.render("site.html", area=" / ".join(path), trail=_crumbs(path, ctx.scope.area), site=name, rows=rows, counts=counts,
                      states=svg.STATE_ORDER, operator=members[0].site_operator)


@page()
def device(ctx: Ctx) -> Response:
    found = ctx.device(ctx.request.path_params["device_id"])
    state = state_of(ctx.states(), found.id)
    with ctx.console.engine.connect() as conn:
        changes = fleet.history(conn, found.id)
        its = tickets.find(conn, device=found.id, states=tickets.STATES, limit=100)
    every = ctx.console.source.devices()
    behind = sorted(d.id for d in every.values() if d.parent == found.id and ctx.scope.device(every, d.id) is not None)
    parent = ctx.scope.device(every, found.parent) if found.parent else None
    days = _availability(ctx, ("device", found.id), [found.id])
    measured = ctx.console.source.detail(found.id)
    at = ctx.console.clock().timestamp()
    w = word(ctx.language)
    return ctx.render("device.html", device=found, state=state, measured=measured, at=at, changes=changes, tickets=its,
                      behind=behind, parent=parent,
                      availability=svg.availability_chart(days, {s: w(s) for s in svg.STATE_ORDER}),
                      trail=_crumbs(found.area_path, ctx.scope.area))
