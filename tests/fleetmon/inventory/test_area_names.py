"""An area named in a sheet is one area, however it is spelt; a name never adds a level; a site needs an area."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from sqlalchemy import insert

from fleetmon.store.engine import open_store
from fleetmon.store.schema import areas, utcnow
from tests.fleetmon.inventory.conftest import Run, area_count, problems, stored, write_csv

HEADER = "id,kind,host,area,site"
AREA = "Thanh Hóa / Thọ Xuân / Xuân Lập"


def test_spellings_of_one_area_make_one_area(run: Run, tmp_path: Path, store_url: str) -> None:
    path = write_csv(
        tmp_path / "spellings.csv",
        HEADER,
        f"cam-1,camera,127.0.70.1,{AREA},Cụm chợ",
        f"cam-2,camera,127.0.70.2,{unicodedata.normalize('NFD', AREA)},{unicodedata.normalize('NFD', 'Cụm chợ')}",
        "cam-3,camera,127.0.70.3,Thanh Hóa /  Thọ  Xuân / Xuân  Lập ,Cụm  chợ",
        "cam-4,camera,127.0.70.4,Thanh Hóa / Thọ Xuân / xuân lập,Cụm chợ",
    )

    result = run("inventory", "import", str(path))

    assert result.exit_code == 0, result.output
    assert problems(result, path) == [f"{path}:5: area: 'xuân lập' is spelt 'Xuân Lập' on row 2; imported as 'Xuân Lập' (warning)"]
    found = stored(store_url)
    assert {d.area for d in found.values()} == {AREA} and {d.site for d in found.values()} == {"Cụm chợ"}
    assert area_count(store_url) == 3
    # Later sheets match the stored spelling whatever their case, silently.
    later = write_csv(tmp_path / "later.csv", HEADER, "cam-5,camera,127.0.70.5,THANH HÓA / thọ xuân / XUÂN LẬP,Cụm chợ")
    again = run("inventory", "import", str(later))
    assert again.exit_code == 0 and problems(again, later) == []
    assert stored(store_url)["cam-5"].area == AREA and area_count(store_url) == 3


def test_a_slash_in_a_level_column_is_refused_not_a_new_level(run: Run, tmp_path: Path, store_url: str) -> None:
    path = write_csv(tmp_path / "levels.csv", "id,kind,host,Tỉnh,Huyện,Xã", "cam-1,camera,127.0.70.1,Thanh Hóa,Thọ Xuân,Xuân Lập/Xuân Hòa")
    result = run("inventory", "import", str(path))
    assert problems(result, path) == [
        f"{path}:2: commune (Xã): 'Xuân Lập/Xuân Hòa' contains '/' or '>', which separate area levels; one level per column",
    ]
    assert area_count(store_url) == 0


def test_a_site_without_an_area_is_refused_rather_than_dropped(run: Run, tmp_path: Path, store_url: str) -> None:
    path = write_csv(tmp_path / "site.csv", HEADER, "cam-1,camera,127.0.70.1,,Cụm chợ")
    result = run("inventory", "import", str(path))
    assert problems(result, path) == [f"{path}:2: site: a site belongs to an area: give the row an area"]
    fixed = write_csv(tmp_path / "fixed.csv", HEADER, f"cam-1,camera,127.0.70.1,{AREA},Cụm chợ")
    assert run("inventory", "import", str(fixed)).exit_code == 0
    assert "0 added, 0 changed, 0 retired, 1 unchanged" in run("inventory", "import", str(fixed)).output


def test_areas_differing_only_in_case_are_ambiguous(run: Run, tmp_path: Path, store_url: str) -> None:
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(insert(areas), [{"name": n, "parent_id": None, "depth": 0, "created_at": utcnow()} for n in ("Xuân Lập", "XUÂN LẬP")])
    engine.dispose()
    path = write_csv(tmp_path / "ambiguous.csv", HEADER, "cam-1,camera,127.0.70.1,xuân lập,")
    result = run("inventory", "import", str(path))
    assert problems(result, path) == [
        f"{path}:2: area: 'xuân lập' could be 'XUÂN LẬP' and 'Xuân Lập', areas differing only in case; "
        "merge or rename one of them (fleetmon area)",
    ]


def test_area_merge_naming_one_area_twice_is_one_line_and_changes_nothing(run: Run, tmp_path: Path, store_url: str) -> None:
    path = write_csv(tmp_path / "fleet.csv", HEADER, f"cam-1,camera,127.0.70.1,{AREA},Cụm chợ")
    assert run("inventory", "import", str(path)).exit_code == 0

    result = run("area", "merge", AREA, "thanh hóa / thọ xuân / XUÂN  LẬP", "--into", "Xuân Mới")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: 'thanh hóa / thọ xuân / XUÂN  LẬP' and '{AREA}' are the same area; name each area to merge once",
    ]
    assert "merged" not in run("area", "history", AREA).output
    assert stored(store_url)["cam-1"].area == AREA and area_count(store_url) == 3
