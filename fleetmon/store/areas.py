"""The area tree as data: any depth, renamed, moved and merged without losing history.

Devices and their state-change log point at areas by id, so a rename or a move changes one row.
A merge re-points the sites, devices and child areas of the merged areas to the surviving one
and keeps the merged areas as records (`merged_into_id`), so history can still name them.

Names are held normalised (NFC, single spaces) and looked up whatever their case: "xuân  lập"
finds "Xuân Lập" and never makes a second, visually identical area. Where two live siblings
differ only in case, a lookup is ambiguous and refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from fleetmon.inventory.model import AREA_SEPARATOR, AREA_SEPARATORS, AreaNode, name_key, normalise_name, split_area_path
from fleetmon.store.schema import area_events, areas, devices, inserted_id, sites, utcnow


class AreaError(Exception):
    pass


@dataclass(slots=True)
class AreaTree:
    """Live (unmerged) areas in memory: a province has a few thousand, cheap to hold."""

    nodes: dict[int, AreaNode]
    # Live areas by (parent id, name key), built on first lookup and kept up by `add`: an import
    # looks up every device's path.
    _by_key: dict[tuple[int | None, str], list[AreaNode]] | None = None

    def add(self, node: AreaNode) -> None:
        self.nodes[node.id] = node
        if self._by_key is not None:
            self._by_key.setdefault((node.parent_id, name_key(node.name)), []).append(node)

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
        parts = split_area_path(path) if isinstance(path, str) else tuple(normalise_name(p) for p in path)
        node: AreaNode | None = None
        for name in parts:
            node = self.child(node.id if node else None, name)
            if node is None:
                break
        if node is None:
            raise AreaError(f"no area {AREA_SEPARATOR.join(parts)!r}")
        return node

    def child(self, parent_id: int | None, name: str) -> AreaNode | None:
        """The live area `name` under `parent_id`, whatever the case of either spelling."""
        if self._by_key is None:
            self._by_key = {}
            for node in self.live():
                self._by_key.setdefault((node.parent_id, name_key(node.name)), []).append(node)
        found = self._by_key.get((parent_id, name_key(name)), [])
        if len(found) > 1:
            exact = [n for n in found if n.name == normalise_name(name)]
            if len(exact) == 1:
                return exact[0]
            names = " and ".join(repr(n.name) for n in found)
            raise AreaError(f"{name!r} could be {names}, areas differing only in case; rename or merge one of them")
        return found[0] if found else None

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


def checked_name(name: str) -> str:
    """`name` normalised, refused if empty or holding a level separator (it would add a level)."""
    normal = normalise_name(name)
    if not normal:
        raise AreaError("an area name cannot be empty")
    if any(sep in normal for sep in AREA_SEPARATORS):
        raise AreaError(f"{normal!r}: an area name cannot contain '/' or '>', which separate levels")
    limit = areas.c.name.type.length  # type: ignore[attr-defined]
    if limit and len(normal) > limit:
        raise AreaError(f"{normal[:60]!r}...: an area name has at most {limit} characters")
    return normal


def ensure_path(conn: Connection, tree: AreaTree, path: Sequence[str]) -> int:
    """The id of the area at `path`, creating missing levels (and updating `tree`)."""
    parent: AreaNode | None = None
    for depth, raw in enumerate(path):
        name = checked_name(raw)
        node = tree.child(parent.id if parent else None, name)
        if node is None:
            key = (*(parent.path if parent else ()), name)
            area_id = inserted_id(conn.execute(
                insert(areas).values(name=name, parent_id=parent.id if parent else None, depth=depth, created_at=utcnow())
            ))
            node = AreaNode(area_id, name, parent.id if parent else None, depth, path=key)
            tree.add(node)
            _event(conn, area_id, "created", AREA_SEPARATOR.join(key))
        parent = node
    if parent is None:
        raise AreaError("empty area path")
    return parent.id


def rename(conn: Connection, tree: AreaTree, path: str, new_name: str) -> AreaNode:
    node = tree.find(path)
    new_name = checked_name(new_name)
    if any(name_key(n.name) == name_key(new_name) for n in tree.children(node.parent_id) if n.id != node.id):
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
    seen: dict[int, str] = {}
    for given, node in zip(sources, source_nodes, strict=True):
        if node.id in seen:
            raise AreaError(f"{given!r} and {seen[node.id]!r} are the same area; name each area to merge once")
        seen[node.id] = given
    for node in source_nodes:
        inside = [other for other in source_nodes if other.id != node.id and other.id in tree.subtree_ids(node.id)]
        if inside:
            raise AreaError(f"{AREA_SEPARATOR.join(inside[0].path)!r} lies inside {AREA_SEPARATOR.join(node.path)!r}; merge one of them")
    try:
        target = tree.find(into)
    except AreaError:
        parent_path = source_nodes[0].path[:-1]
        target = tree.nodes[ensure_path(conn, tree, (*parent_path, split_area_path(into)[-1] if split_area_path(into) else ""))]
    target_id = target.id
    if all(node.id == target_id for node in source_nodes):
        raise AreaError(f"nothing to merge: {into!r} is the only area named")
    for node in source_nodes:
        if node.id != target_id and target_id in tree.subtree_ids(node.id):
            raise AreaError(f"{AREA_SEPARATOR.join(target.path)!r} lies inside {AREA_SEPARATOR.join(node.path)!r}, which is merged into it")
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
        _event(conn, node.id, "merged", f"{AREA_SEPARATOR.join(node.path)} -> {AREA_SEPARATOR.join(target.path)}")
        _event(conn, target_id, "absorbed", AREA_SEPARATOR.join(node.path))
    return target_id
