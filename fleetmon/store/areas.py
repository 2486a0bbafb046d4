"""The area tree as data: any depth, renamed, moved and merged without losing history.

Devices and their state-change log point at areas by id, so a rename or a move changes one row.
A merge re-points the sites, devices and child areas of the merged areas to the surviving one
and keeps the merged areas as records (`merged_into_id`), so history can still name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from fleetmon.inventory.model import AREA_SEPARATOR, AreaNode
from fleetmon.store.schema import area_events, areas, devices, inserted_id, sites, utcnow


class AreaError(Exception):
    pass


@dataclass(slots=True)
class AreaTree:
    """Live (unmerged) areas in memory: a province has a few thousand, cheap to hold."""

    nodes: dict[int, AreaNode]

    @classmethod
    def load(cls, conn: Connection) -> AreaTree:
        rows = conn.execute(select(areas.c.id, areas.c.name, areas.c.parent_id, areas.c.depth, areas.c.merged_into_id)).all()
        nodes = {r.id: AreaNode(r.id, r.name, r.parent_id, r.depth, merged_into_id=r.merged_into_id) for r in rows}
        tree = cls(nodes)
        for node in nodes.values():
            node.path = tree._path_of(node)
        return tree

    def _path_of(self, node: AreaNode) -> tuple[str, ...]:
        names = [node.name]
        parent = node.parent_id
        while parent is not None:
            names.append(self.nodes[parent].name)
            parent = self.nodes[parent].parent_id
        return tuple(reversed(names))

    def live(self) -> list[AreaNode]:
        return [n for n in self.nodes.values() if n.merged_into_id is None]

    def by_path(self) -> dict[tuple[str, ...], AreaNode]:
        return {n.path: n for n in self.live()}

    def find(self, path: str | Sequence[str]) -> AreaNode:
        parts = tuple(p.strip() for p in path.split("/")) if isinstance(path, str) else tuple(path)
        node = self.by_path().get(parts)
        if node is None:
            raise AreaError(f"no area {AREA_SEPARATOR.join(parts)!r}")
        return node

    def children(self, area_id: int | None) -> list[AreaNode]:
        return [n for n in self.live() if n.parent_id == area_id]

    def subtree_ids(self, area_id: int) -> set[int]:
        """The area and everything under it, merged areas included (their history is the area's)."""
        found = {area_id}
        changed = True
        while changed:
            changed = False
            for node in self.nodes.values():
                if node.id not in found and (node.parent_id in found or node.merged_into_id in found):
                    found.add(node.id)
                    changed = True
        return found


def _event(conn: Connection, area_id: int, action: str, detail: str) -> None:
    conn.execute(insert(area_events).values(area_id=area_id, at=utcnow(), action=action, detail=detail))


def ensure_path(conn: Connection, tree: AreaTree, path: Sequence[str]) -> int:
    """The id of the area at `path`, creating missing levels (and updating `tree`)."""
    index = tree.by_path()
    parent: AreaNode | None = None
    for depth in range(len(path)):
        key = tuple(path[: depth + 1])
        node = index.get(key)
        if node is None:
            area_id = inserted_id(conn.execute(
                insert(areas).values(name=path[depth], parent_id=parent.id if parent else None, depth=depth, created_at=utcnow())
            ))
            node = AreaNode(area_id, path[depth], parent.id if parent else None, depth, path=key)
            tree.nodes[area_id] = node
            index[key] = node
            _event(conn, area_id, "created", AREA_SEPARATOR.join(key))
        parent = node
    if parent is None:
        raise AreaError("empty area path")
    return parent.id


def rename(conn: Connection, tree: AreaTree, path: str, new_name: str) -> AreaNode:
    node = tree.find(path)
    sibling_paths = {n.path for n in tree.children(node.parent_id)}
    if (*node.path[:-1], new_name) in sibling_paths:
        raise AreaError(f"{AREA_SEPARATOR.join((*node.path[:-1], new_name))!r} exists already; merge instead")
    conn.execute(update(areas).where(areas.c.id == node.id).values(name=new_name))
    _event(conn, node.id, "renamed", f"{node.name} -> {new_name}")
    return node


def _set_depths(conn: Connection, tree: AreaTree, area_id: int, depth: int) -> None:
    conn.execute(update(areas).where(areas.c.id == area_id).values(depth=depth))
    for child in tree.children(area_id):
        _set_depths(conn, tree, child.id, depth + 1)


def move(conn: Connection, tree: AreaTree, path: str, new_parent_path: str | None) -> AreaNode:
    node = tree.find(path)
    parent = tree.find(new_parent_path) if new_parent_path else None
    if parent is not None and parent.id in tree.subtree_ids(node.id):
        raise AreaError("an area cannot move under itself")
    conn.execute(update(areas).where(areas.c.id == node.id).values(parent_id=parent.id if parent else None))
    _set_depths(conn, tree, node.id, parent.depth + 1 if parent else 0)
    _event(conn, node.id, "moved", f"{AREA_SEPARATOR.join(node.path)} -> under {AREA_SEPARATOR.join(parent.path) if parent else '(root)'}")
    return node


def merge(conn: Connection, tree: AreaTree, sources: Sequence[str], into: str) -> int:
    """Merge `sources` into `into`; `into` is created beside the first source if it is new.

    Returns the surviving area's id. Sites of the same name in two merged areas become one site.
    """
    source_nodes = [tree.find(s) for s in sources]
    try:
        target_id = tree.find(into).id
    except AreaError:
        parent_path = source_nodes[0].path[:-1]
        name = into.split("/")[-1].strip()
        target_id = ensure_path(conn, tree, (*parent_path, name))
    now = utcnow()
    target_sites = {r.name: r.id for r in conn.execute(select(sites.c.id, sites.c.name).where(sites.c.area_id == target_id))}
    for node in source_nodes:
        if node.id == target_id:
            continue
        for site in conn.execute(select(sites.c.id, sites.c.name).where(sites.c.area_id == node.id)).all():
            if site.name in target_sites:
                conn.execute(update(devices).where(devices.c.site_id == site.id).values(site_id=target_sites[site.name]))
                conn.execute(sites.delete().where(sites.c.id == site.id))
            else:
                conn.execute(update(sites).where(sites.c.id == site.id).values(area_id=target_id))
                target_sites[site.name] = site.id
        conn.execute(update(devices).where(devices.c.area_id == node.id).values(area_id=target_id))
        conn.execute(update(areas).where(areas.c.parent_id == node.id).values(parent_id=target_id))
        conn.execute(update(areas).where(areas.c.id == node.id).values(merged_into_id=target_id, retired_at=now))
        _event(conn, node.id, "merged", f"{AREA_SEPARATOR.join(node.path)} -> {into}")
        _event(conn, target_id, "absorbed", AREA_SEPARATOR.join(node.path))
    return target_id
