"""`fleetmon status`: the fleet's state by area, worst first, from the state-change log.

It reads the store, not a running process, so it works from any host that reaches the
database, for one worker or many.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import click

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.health.model import Health
from fleetmon.inventory.model import AREA_SEPARATOR
from fleetmon.store import statelog
from fleetmon.store.inventory import load_devices

COLUMNS = (Health.UP, Health.DEGRADED, Health.DOWN, Health.UNREACHABLE, Health.UNKNOWN)


@click.command()
@click.option("--depth", type=click.IntRange(1, 10), default=2, show_default=True, help="Area levels to group by.")
@click.option("--limit", type=click.IntRange(1), default=30, show_default=True, help="Areas to show.")
@pass_app
def status(app: AppContext, depth: int, limit: int) -> None:
    """Devices up / degraded / down per area, the worst areas first."""
    with app.engine.connect() as conn:
        devices = load_devices(conn, include_retired=False)
        last = statelog.last_states(conn, devices)
        beats = statelog.worker_heartbeats(conn)
    by_area: dict[str, Counter[Health]] = defaultdict(Counter)
    for device_id, device in devices.items():
        area = AREA_SEPARATOR.join(device.area_path[:depth]) or "(no area)"
        by_area[area][last.get(device_id, (Health.UNKNOWN, 0.0))[0]] += 1
    total: Counter[Health] = sum(by_area.values(), Counter())

    def badness(counts: Counter[Health]) -> float:
        n = sum(counts.values())
        return (counts[Health.DOWN] + counts[Health.UNREACHABLE] + 0.5 * counts[Health.DEGRADED]) / n if n else 0.0

    header = f"{'AREA':<48}" + "".join(f"{h.value.upper():>12}" for h in COLUMNS) + f"{'AVAILABLE':>11}"
    click.echo(header)
    for area, counts in sorted(by_area.items(), key=lambda kv: (-badness(kv[1]), kv[0]))[:limit]:
        click.echo(_line(area, counts))
    click.echo(_line("all devices", total))
    now = time.time()
    for worker, at in sorted(beats.items()):
        click.echo(f"worker {worker}: last heartbeat {now - at:.0f} s ago")
    if not beats:
        click.echo("no monitor has run yet: start one with `fleetmon run`")


def _line(area: str, counts: Counter[Health]) -> str:
    n = sum(counts.values())
    working = counts[Health.UP] + counts[Health.DEGRADED]
    share = f"{100 * working / n:.1f} %" if n else "-"
    name = area if len(area) <= 47 else "…" + area[-46:]
    return f"{name:<48}" + "".join(f"{counts[h]:>12}" for h in COLUMNS) + f"{share:>11}"
