"""JSON for scripts and CSV exports: the same scope as the pages (an area viewer gets its subtree only)."""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.responses import JSONResponse, Response

from fleetmon.alerts.tickets import Ticket
from fleetmon.console import fleet
from fleetmon.console.fleet import state_of
from fleetmon.console.pages.tickets import board_tickets, visible_ticket
from fleetmon.console.web import Ctx, page
from fleetmon.inventory.model import Device, split_area_path

# What leaves the console about a device: the inventory's facts, never its credential profile.
DEVICE_FIELDS = ("id", "kind", "host", "area", "site", "vendor", "model", "serial", "firmware", "parent", "latitude", "longitude",
                 "address", "install_date", "warranty_end", "purchase_cost_vnd", "funding", "owner_contact")


def _device(device: Device) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in DEVICE_FIELDS:
        value = getattr(device, name)
        found[name] = value.isoformat() if hasattr(value, "isoformat") else (str(value) if hasattr(value, "value") else value)
    return found


def _ticket(t: Ticket) -> dict[str, Any]:
    found = {name: getattr(t, name) for name in ("id", "subject", "kind", "state", "severity", "team", "device_id", "area", "site",
                                                 "title", "detail", "assignee", "reopened")}
    for name in ("fault_since", "opened_at", "acknowledged_at", "resolved_at", "closed_at"):
        value = getattr(t, name)
        found[name] = value.isoformat() if value else None
    found["affected"] = list(t.affected)
    found["repair"] = None if t.repair is None else {
        "cause": t.repair.cause, "action": t.repair.action, "parts": t.repair.parts, "cost_vnd": t.repair.cost_vnd,
        "hours": t.repair.hours, "funding": t.repair.funding.value if t.repair.funding else None, "by": t.repair.by}
    return found


def _cell(value: object) -> object:
    """A cell a spreadsheet shows as text, never runs as a formula (a sheet is opened in Excel)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


@page(api=True)
def status(ctx: Ctx) -> Response:
    path = split_area_path(ctx.arg("area")) or ctx.scope.area
    if not ctx.scope.covers(path):
        return JSONResponse({"error": "no such area"}, status_code=404)
    found = fleet.area_status(ctx.devices(), ctx.states(), path)

    def counts(group: fleet.Group) -> dict[str, int]:
        return {s.value: group.counts[s] for s in fleet.WORST_FIRST}

    return JSONResponse({"area": " / ".join(path), "counts": counts(found.total),
                         "areas": [{"area": g.area, "counts": counts(g)} for g in found.areas],
                         "sites": [{"area": g.area, "site": g.name, "counts": counts(g)} for g in found.sites]})


@page(api=True)
def device(ctx: Ctx) -> Response:
    found = ctx.device(ctx.request.path_params["device_id"])
    state = state_of(ctx.states(), found.id)
    return JSONResponse(_device(found) | {"state": state.state.value, "since": state.since, "problems": list(state.reasons)})


@page(api=True)
def tickets_list(ctx: Ctx) -> Response:
    found = board_tickets(ctx, ctx.arg("area"), ctx.arg("state"), ctx.arg("severity"), limit=5000)
    return JSONResponse([_ticket(t) for t in found])


@page(api=True)
def ticket(ctx: Ctx) -> Response:
    return JSONResponse(_ticket(visible_ticket(ctx, int(ctx.request.path_params["ticket_id"]))))


@page()
def export_devices(ctx: Ctx) -> Response:
    """CSV of the devices the user may see, with their current state."""
    states = ctx.states()
    prefix = split_area_path(ctx.arg("area"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*DEVICE_FIELDS, "state", "problems"])
    for device in sorted(ctx.devices().values(), key=lambda d: (d.area, d.site, d.id)):
        if device.area_path[: len(prefix)] != prefix:
            continue
        row = _device(device)
        state = state_of(states, device.id)
        writer.writerow([_cell(row[n]) for n in DEVICE_FIELDS] + [state.state.value, _cell("; ".join(state.reasons))])
    return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="fleetmon-devices.csv"'})
