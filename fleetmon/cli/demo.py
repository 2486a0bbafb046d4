"""`fleetmon demo`: what a new user runs first, on a sample province when no fleet is configured."""

from __future__ import annotations

import time

import click
from sqlalchemy import func, select

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.sample import sample_fleet
from fleetmon.store.areas import AreaTree
from fleetmon.store.inventory import apply_plan, load_devices
from fleetmon.store.schema import devices


@click.command()
@click.option("--devices", "cameras", type=click.IntRange(1, 200_000), default=14_053, show_default=True,
              help="Cameras in the sample province (NVRs and uplinks are added).")
@pass_app
def demo(app: AppContext, cameras: int) -> None:
    """Load the sample province into the store (unless a fleet is there) and show it."""
    started = time.perf_counter()
    with app.engine.begin() as conn:
        if not load_devices(conn):
            apply_plan(conn, plan_import(sample_fleet(cameras), {}), source="fleetmon demo")
    with app.engine.connect() as conn:
        tree = AreaTree.load(conn)
        count = conn.execute(select(devices.c.kind, func.count()).group_by(devices.c.kind)).all()
    click.echo(f"fleet in {app.config.database.split('@')[-1]} ({time.perf_counter() - started:.1f} s):")
    for kind, n in sorted(count):
        click.echo(f"  {n:>7} {kind}")
    click.echo(f"  {len(tree.live())} areas; try: fleetmon inventory list --area 'Thanh Hóa / Thọ Xuân'")
