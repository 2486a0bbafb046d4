"""`fleetmon status`: the fleet's state by area, worst first, and what is broken, from the store.

It reads the store, not a running process, so it works from any host that reaches the
database, for one worker or many. The broken list is what a technician starts the day with:
each unit down, degraded or unreachable — an unreachable unit behind a broken parent is shown
once, under that parent — with where it is, since when, why, and its ticket.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import Connection, func, select

from fleetmon.alerts import tickets
from fleetmon.alerts.tickets import ACTIVE, Ticket
from fleetmon.cli.context import AppContext, pass_app
from fleetmon.health.model import Health
from fleetmon.inventory.model import AREA_SEPARATOR, Device, split_area_path
from fleetmon.store import statelog
from fleetmon.store.inventory import load_devices
from fleetmon.store.schema import state_changes

COLUMNS = (Health.UP, Health.DEGRADED, Health.DOWN, Health.UNREACHABLE, Health.UNKNOWN)
BROKEN = (Health.DOWN, Health.UNREACHABLE, Health.DEGRADED)  # worst first


@dataclass
class Broken:
    """One broken unit as the technician's list shows it."""

    device: Device
    state: Health
    since: datetime
    reason: str
    ticket: Ticket | None
    behind: list[Broken] = field(default_factory=list)


@click.command()
@click.option("--depth", type=click.IntRange(1, 10), default=2, show_default=True, help="Area levels to group by.")
@click.option("--limit", type=click.IntRange(1), default=30, show_default=True, help="Areas to show, and broken units to list.")
@click.option("--area", default="", help="Only this area and those under it.")
@click.option("--json", "as_json", is_flag=True, help="The broken units as JSON (worst first), no summary.")
@pass_app
def status(app: AppContext, depth: int, limit: int, area: str, as_json: bool) -> None:
    """Devices up / degraded / down per area, worst areas first; then what is broken, where, since when, why, its ticket."""
    with app.engine.connect() as conn:
        devices = load_devices(conn, include_retired=False)
        if area:
            devices = {i: d for i, d in devices.items() if _under(d, area)}
        last = statelog.last_states(conn, devices)
        broken = _broken(conn, devices, last)
        beats = statelog.worker_heartbeats(conn)
    if as_json:
        click.echo(json.dumps([_as_json(b) for b in broken], ensure_ascii=False, indent=1))
        return
    by_area: dict[str, Counter[Health]] = defaultdict(Counter)
    for device_id, device in devices.items():
        name = AREA_SEPARATOR.join(device.area_path[:depth]) or "(no area)"
        by_area[name][last[device_id].state if device_id in last else Health.UNKNOWN] += 1
    total: Counter[Health] = sum(by_area.values(), Counter())

    def badness(counts: Counter[Health]) -> float:
        n = sum(counts.values())
        return (counts[Health.DOWN] + counts[Health.UNREACHABLE] + 0.5 * counts[Health.DEGRADED]) / n if n else 0.0

    header = f"{'AREA':<48}" + "".join(f"{h.value.upper():>12}" for h in COLUMNS) + f"{'AVAILABLE':>11}"
    click.echo(header)
    for name, counts in sorted(by_area.items(), key=lambda kv: (-badness(kv[1]), kv[0]))[:limit]:
        click.echo(_line(name, counts))
    click.echo(_line("all devices", total))
    now = time.time()
    for worker, at in sorted(beats.items()):
        click.echo(f"worker {worker}: last heartbeat {now - at:.0f} s ago")
    if not beats:
        click.echo("no monitor has run yet: start one with `fleetmon run`")
    _echo_broken(broken, limit)


def _under(device: Device, area: str) -> bool:
    wanted = tuple(split_area_path(area))
    return tuple(device.area_path[: len(wanted)]) == wanted


def _broken(conn: Connection, devices: dict[str, Device], last: dict[str, statelog.LastState]) -> list[Broken]:
    """Broken units worst first, oldest first within a state; unreachable units nest under their broken parent."""
    ids = [i for i, found in last.items() if found.state in BROKEN and i in devices]
    reasons = _reasons(conn, ids)
    by_device: dict[str, Ticket] = {}
    for ticket in tickets.find(conn, states=ACTIVE, limit=100_000):
        for device_id in (ticket.device_id, *ticket.affected):
            if device_id and device_id not in by_device:
                by_device[device_id] = ticket
    found = {i: Broken(devices[i], last[i].state, datetime.fromtimestamp(last[i].at, UTC), reasons.get(i, ""), by_device.get(i))
             for i in ids}
    top: list[Broken] = []
    for item in found.values():
        parent = found.get(item.device.parent)
        if item.state is Health.UNREACHABLE and parent is not None and parent.state in (Health.DOWN, Health.UNREACHABLE):
            parent.behind.append(item)
        else:
            top.append(item)
    for item in found.values():
        item.behind.sort(key=lambda b: b.device.id)
    return sorted(top, key=lambda b: (BROKEN.index(b.state), -len(b.behind), b.since, b.device.id))


def _reasons(conn: Connection, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        newest = (select(func.max(state_changes.c.id).label("id")).where(state_changes.c.device_id.in_(chunk))
                  .group_by(state_changes.c.device_id).subquery())
        rows = conn.execute(select(state_changes.c.device_id, state_changes.c.reason).join(newest, newest.c.id == state_changes.c.id))
        found.update({row.device_id: row.reason for row in rows})
    return found


def _as_json(item: Broken) -> dict[str, Any]:
    d, t = item.device, item.ticket
    return {
        "device_id": d.id, "kind": d.kind.value, "state": item.state.value, "since": item.since.isoformat(), "why": item.reason,
        "area": d.area, "site": d.site, "address": d.address, "host": d.host,
        "ticket": None if t is None else {"id": t.id, "state": t.state, "assignee": t.assignee, "severity": t.severity},
        "behind": [_as_json(b) for b in item.behind],
    }


def _echo_broken(broken: list[Broken], limit: int) -> None:
    if not broken:
        click.echo("\nnothing is broken")
        return
    click.echo(f"\nBROKEN ({len(broken)} shown worst first)")
    for item in broken[:limit]:
        d, t = item.device, item.ticket
        ticket = f"ticket #{t.id} {t.state}, {t.assignee or 'unassigned'}" if t else "no ticket"
        click.echo(f"{item.state.value.upper():<12} {d.id}  since {item.since:%Y-%m-%d %H:%M} UTC  [{ticket}]")
        where = " · ".join(part for part in (d.area, d.site, d.address) if part)
        click.echo(f"{'':<13}{where or '(no area)'}")
        click.echo(f"{'':<13}why: {item.reason or '-'}")
        behind = _all_behind(item)
        if behind:
            names = ", ".join(b.device.id for b in behind[:20]) + (" …" if len(behind) > 20 else "")
            click.echo(f"{'':<13}unreachable behind it ({len(behind)}): {names}")
    if len(broken) > limit:
        click.echo(f"… and {len(broken) - limit} more (--limit, --area, --json)")


def _all_behind(item: Broken) -> list[Broken]:
    """The units behind `item`, and behind those (a camera behind an NVR behind a dead switch)."""
    return [found for b in item.behind for found in (b, *_all_behind(b))]


def _line(area: str, counts: Counter[Health]) -> str:
    n = sum(counts.values())
    working = counts[Health.UP] + counts[Health.DEGRADED]
    share = f"{100 * working / n:.1f} %" if n else "-"
    name = area if len(area) <= 47 else "…" + area[-46:]
    return f"{name:<48}" + "".join(f"{counts[h]:>12}" for h in COLUMNS) + f"{share:>11}"
