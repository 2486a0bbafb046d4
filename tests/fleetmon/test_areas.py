"""Reshaping the area tree as Vietnam did in 2025: merges, renames, moves keep devices and history."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.store.areas import AreaError, AreaTree, merge, move, rename
from fleetmon.store.inventory import apply_plan, load_devices
from fleetmon.store.schema import area_events, state_changes

A = "Thanh Hóa / Thọ Xuân / Xuân Lập"
B = "Thanh Hóa / Thọ Xuân / Xuân Hòa"


def _fleet() -> list[Device]:
    def dev(i: str, area: str, site: str) -> Device:
        return Device(id=i, kind=DeviceKind.CAMERA, host=f"127.0.30.{len(i)}", area=area, site=site)

    return [
        dev("a1", A, "Cụm chợ"),
        dev("a22", A, "Cụm trường"),
        dev("b333", B, "Cụm chợ"),
        dev("c4444", "Thanh Hóa / Thọ Xuân", ""),
    ]


@pytest.fixture
def populated(engine: Engine) -> Engine:
    with engine.begin() as conn:
        apply_plan(conn, plan_import(_fleet(), {}), "test")
        start = datetime(2025, 6, 1, tzinfo=UTC)
        conn.execute(
            insert(state_changes),
            [
                {"device_id": d, "at": start + timedelta(hours=h), "state": s, "reason": "test", "cause": ""}
                for d in ("a1", "b333")
                for h, s in ((0, "up"), (5, "down"), (7, "up"))
            ],
        )
    return engine


def test_merging_two_communes_keeps_every_device_and_its_history(populated: Engine) -> None:
    with populated.begin() as conn:
        merge(conn, AreaTree.load(conn), [A, B], into="Xuân Lập Mới")
    with populated.connect() as conn:
        found = load_devices(conn)
        history = conn.execute(select(state_changes.c.device_id, state_changes.c.state).order_by(state_changes.c.id)).all()
        tree = AreaTree.load(conn)
    merged = "Thanh Hóa / Thọ Xuân / Xuân Lập Mới"
    assert {d.id for d in found.values() if d.area == merged} == {"a1", "a22", "b333"}
    assert found["c4444"].area == "Thanh Hóa / Thọ Xuân"
    # The two "Cụm chợ" clusters of the old communes are one cluster of the new commune.
    assert found["a1"].site == found["b333"].site == "Cụm chợ"
    assert len(history) == 6 and {d for d, _ in history} == {"a1", "b333"}
    # The old communes remain on record, merged into the new one, and count under it.
    new_id = tree.find(merged).id
    old = [n for n in tree.nodes.values() if n.merged_into_id == new_id]
    assert sorted(n.name for n in old) == ["Xuân Hòa", "Xuân Lập"]
    assert {n.id for n in old} <= tree.subtree_ids(new_id)
    with pytest.raises(AreaError):
        tree.find(A)


def test_merge_into_an_existing_commune(populated: Engine) -> None:
    with populated.begin() as conn:
        merge(conn, AreaTree.load(conn), [B], into=A)
    with populated.connect() as conn:
        assert {d.area for d in load_devices(conn).values() if d.id != "c4444"} == {A}


def test_rename_and_move_keep_devices(populated: Engine) -> None:
    with populated.begin() as conn:
        tree = AreaTree.load(conn)
        rename(conn, tree, "Thanh Hóa / Thọ Xuân", "Thọ Xuân (cũ)")
    with populated.begin() as conn:
        tree = AreaTree.load(conn)
        # Districts were abolished: the commune now hangs straight under the province.
        move(conn, tree, "Thanh Hóa / Thọ Xuân (cũ) / Xuân Lập", "Thanh Hóa")
    with populated.connect() as conn:
        found = load_devices(conn)
        tree = AreaTree.load(conn)
    assert found["a1"].area == "Thanh Hóa / Xuân Lập"
    assert found["b333"].area == "Thanh Hóa / Thọ Xuân (cũ) / Xuân Hòa"
    assert tree.find("Thanh Hóa / Xuân Lập").depth == 1


def test_an_area_cannot_move_under_itself_nor_be_renamed_onto_a_sibling(populated: Engine) -> None:
    with populated.begin() as conn:
        tree = AreaTree.load(conn)
        with pytest.raises(AreaError, match="under itself"):
            move(conn, tree, "Thanh Hóa / Thọ Xuân", A)
        with pytest.raises(AreaError, match="exists already"):
            rename(conn, tree, A, "Xuân Hòa")


def test_an_area_merged_with_itself_is_refused_and_its_history_written_once(populated: Engine) -> None:
    with populated.begin() as conn:
        before = conn.execute(select(area_events.c.id)).all()
        tree = AreaTree.load(conn)
        with pytest.raises(AreaError, match="are the same area"):
            merge(conn, tree, [A, "thanh hóa / thọ  xuân / XUÂN LẬP"], into="Xuân Mới")
        with pytest.raises(AreaError, match="nothing to merge"):
            merge(conn, tree, [A], into=A)
        with pytest.raises(AreaError, match="lies inside"):
            merge(conn, tree, ["Thanh Hóa / Thọ Xuân"], into=A)
    with populated.connect() as conn:
        assert conn.execute(select(area_events.c.id)).all() == before
        assert {d.area for d in load_devices(conn).values()} == {A, B, "Thanh Hóa / Thọ Xuân"}


def test_area_names_are_found_whatever_their_spelling_and_never_gain_a_level(populated: Engine) -> None:
    with populated.begin() as conn:
        tree = AreaTree.load(conn)
        assert tree.find(unicodedata.normalize("NFD", "thanh hóa /  THỌ XUÂN / xuân lập")).path == tuple(A.split(" / "))
        with pytest.raises(AreaError, match="cannot contain '/'"):
            rename(conn, tree, A, "Xuân Lập/Xuân Hòa")
        with pytest.raises(AreaError, match="exists already"):
            rename(conn, tree, A, "XUÂN HÒA")
        rename(conn, tree, A, "xuân  lập")  # its own name in another case is a rename, not a clash
    with populated.connect() as conn:
        assert AreaTree.load(conn).find("Thanh Hóa / Thọ Xuân / xuân lập").name == "xuân lập"
