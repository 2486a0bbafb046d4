"""`fleetmon area ...`: the area tree, renamed, moved and merged as units are reorganised."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import Connection, select

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.inventory.model import AREA_SEPARATOR
from fleetmon.store.areas import AreaTree, merge, move, rename
from fleetmon.store.schema import area_events, devices


@click.group()
def area() -> None:
    """The area tree (province, district, commune...): list, rename, move, merge, history."""


@contextmanager
def _changing(app: AppContext) -> Iterator[tuple[Connection, AreaTree]]:
    """The tree as loaded in one transaction: a change commits whole or not at all."""
    with app.engine.begin() as conn:
        yield conn, AreaTree.load(conn)


@area.command("list")
@pass_app
def list_(app: AppContext) -> None:
    """The tree with active device counts (every device under an area counts for it)."""
    with app.engine.connect() as conn:
        tree = AreaTree.load(conn)
        direct = Counter(r.area_id for r in conn.execute(select(devices.c.area_id).where(devices.c.active.is_(True))))
    levels = app.config.areas.levels
    for node in sorted(tree.live(), key=lambda n: n.path):
        total = sum(direct[i] for i in tree.subtree_ids(node.id))
        level = levels[node.depth].label if node.depth < len(levels) else f"level {node.depth + 1}"
        click.echo(f"{'  ' * node.depth}{node.name}  [{level}, {total} devices]")


@area.command("rename")
@click.argument("path")
@click.argument("new_name")
@pass_app
def rename_(app: AppContext, path: str, new_name: str) -> None:
    """Rename the area at PATH ('Thanh Hóa / Thọ Xuân'); its devices and history stay with it."""
    with _changing(app) as (conn, tree):
        rename(conn, tree, path, new_name)
    click.echo(f"renamed {path} to {new_name}")


@area.command("move")
@click.argument("path")
@click.argument("new_parent", required=False)
@pass_app
def move_(app: AppContext, path: str, new_parent: str | None) -> None:
    """Put the area at PATH under NEW_PARENT (omit it to make PATH a root)."""
    with _changing(app) as (conn, tree):
        move(conn, tree, path, new_parent)
    click.echo(f"moved {path} under {new_parent or '(root)'}")


@area.command("merge")
@click.argument("sources", nargs=-1, required=True)
@click.option("--into", required=True, help="Surviving area: an existing path, or a new name beside the first source.")
@pass_app
def merge_(app: AppContext, sources: tuple[str, ...], into: str) -> None:
    """Merge SOURCES into one area; devices, sites and history move with them."""
    with _changing(app) as (conn, tree):
        merge(conn, tree, sources, into)
    click.echo(f"merged {', '.join(sources)} into {into}")


@area.command("history")
@click.argument("path")
@pass_app
def history(app: AppContext, path: str) -> None:
    """What happened to the area at PATH and to the areas merged into it."""
    with app.engine.connect() as conn:
        tree = AreaTree.load(conn)
        ids = tree.subtree_ids(tree.find(path).id)
        rows = conn.execute(select(area_events).where(area_events.c.area_id.in_(ids)).order_by(area_events.c.at, area_events.c.id)).all()
    for row in rows:
        name = AREA_SEPARATOR.join(tree.nodes[row.area_id].path)
        click.echo(f"{row.at:%Y-%m-%d %H:%M}  {row.action:<9} {name}: {row.detail}")
