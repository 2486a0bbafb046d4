"""Importing officials' sheets through the CLI, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook, load_workbook
from sqlalchemy import Connection, func, select

from fleetmon.cli import main
from fleetmon.inventory.sample import sample_fleet
from fleetmon.inventory.sheets import write_sheet
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import device_dicts, load_devices
from fleetmon.store.schema import devices, inventory_changes


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


@pytest.fixture
def config(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "fleetmon.yaml"
    path.write_text(f"data_dir: data\ndatabase_url: '{store_url}'\n", encoding="utf-8")
    return path


@pytest.fixture
def sample_xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.xlsx"
    write_sheet(path, device_dicts(sample_fleet(200)))
    return path


@contextmanager
def connected(url: str) -> Iterator[Connection]:
    """A connection to the store at `url`, its engine disposed afterwards."""
    engine = open_store(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def device_count(url: str) -> int:
    with connected(url) as conn:
        return int(conn.execute(select(func.count()).select_from(devices)).scalar_one())


def test_good_sheet_imported_twice_leaves_one_copy_of_each_device(config: Path, sample_xlsx: Path, store_url: str) -> None:
    first = run(config, "inventory", "import", str(sample_xlsx))
    assert first.exit_code == 0, first.output
    count = device_count(store_url)
    assert count == len(sample_fleet(200))
    second = run(config, "inventory", "import", str(sample_xlsx))
    assert second.exit_code == 0
    assert "0 added, 0 changed, 0 retired" in second.output
    assert device_count(store_url) == count


def test_sheet_with_mistakes_names_file_row_and_field_and_writes_nothing(config: Path, sample_xlsx: Path, store_url: str) -> None:
    run(config, "inventory", "import", str(sample_xlsx))
    with connected(store_url) as conn:
        before = load_devices(conn)
    workbook = load_workbook(sample_xlsx)
    sheet = workbook.active
    headers = {cell.value: cell.column_letter for cell in sheet[1]}
    sheet[f"{headers['Host']}4"] = "10.0.0.x"
    sheet[f"{headers['Kind']}6"] = "toaster"
    sheet[f"{headers['Funding']}9"] = "lottery"
    sheet[f"{headers['Model']}10"] = "changed model that must not land"
    sheet[f"{headers['Device ID']}11"] = sheet[f"{headers['Device ID']}12"].value
    serial, host = sheet[f"{headers['Serial']}11"].value, sheet[f"{headers['Host']}11"].value
    bad = sample_xlsx.with_name("bad.xlsx")
    workbook.save(bad)

    result = run(config, "inventory", "import", str(bad))

    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(bad))]
    assert lines == [
        f"{bad}:4: host (Host): '10.0.0.x' is not an IP address",
        f"{bad}:6: kind (Kind): 'toaster' is not a known device kind (one of: camera, nvr, switch, other)",
        f"{bad}:9: funding (Funding): 'lottery' is not a known funding source (one of: state_budget, social, household_shared)",
        # Row 11 took row 12's id but kept cam-000009's serial and address: it would take that device over.
        f"{bad}:11: serial: {serial!r} is also the serial of 'cam-000009' (the inventory); "
        "to change that device use its id 'cam-000009', or correct the serial",
        f"{bad}:11: host: {host} is also the address of 'cam-000009' (the inventory), on the same ports: one unit would be probed as two",
        f"{bad}:12: id: {sheet[headers['Device ID'] + '12'].value!r} is also on row 11",
    ]
    with connected(store_url) as conn:
        assert load_devices(conn) == before


def test_dry_run_shows_added_changed_retired_and_writes_nothing(config: Path, sample_xlsx: Path, store_url: str, tmp_path: Path) -> None:
    run(config, "inventory", "import", str(sample_xlsx))
    fleet = sample_fleet(200)
    edited = [d for d in fleet if d.id != "cam-000003"]
    edited[5] = dataclasses.replace(edited[5], firmware="V9.9.9")
    sheet = tmp_path / "edited.csv"
    write_sheet(sheet, device_dicts(edited))

    result = run(config, "inventory", "import", "--dry-run", "--retire-missing", str(sheet))

    assert result.exit_code == 0, result.output
    assert f"~ {edited[5].id}: firmware: " in result.output
    assert "- cam-000003 (retire)" in result.output
    assert "would be 0 added, 1 changed, 1 retired" in result.output
    with connected(store_url) as conn:
        assert load_devices(conn)["cam-000003"].active
        not_added = select(func.count()).select_from(inventory_changes).where(inventory_changes.c.action != "added")
        assert conn.execute(not_added).scalar_one() == 0


def test_retire_and_reactivate_are_logged(config: Path, sample_xlsx: Path, store_url: str, tmp_path: Path) -> None:
    run(config, "inventory", "import", str(sample_xlsx))
    fleet = sample_fleet(200)
    sheet = tmp_path / "less.csv"
    write_sheet(sheet, device_dicts([d for d in fleet if d.id != "cam-000003"]))
    assert run(config, "inventory", "import", "--retire-missing", str(sheet)).exit_code == 0
    assert run(config, "inventory", "import", str(sample_xlsx)).exit_code == 0
    with connected(store_url) as conn:
        actions = conn.execute(
            select(inventory_changes.c.action).where(inventory_changes.c.device_id == "cam-000003").order_by(inventory_changes.c.id)
        ).scalars().all()
        assert actions == ["added", "retired", "reactivated"]
        assert load_devices(conn)["cam-000003"].active


def test_vietnamese_excel_sheet_with_title_merged_headers_and_quirks(tmp_path: Path) -> None:
    """A sheet as an official keeps it: a title row, 'Địa bàn' merged over three level columns,
    numbers stored as text, an IP with a space, Vietnamese amounts and dates."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["DANH SÁCH CAMERA AN NINH TRẬT TỰ HUYỆN THỌ XUÂN"])
    sheet.append(["STT", "Mã thiết bị", "Loại thiết bị", "Địa chỉ IP", "Địa bàn", None, None, "Mô hình", "Nguồn kinh phí",
                  "Giá mua (VNĐ)", "Ngày lắp đặt", "Đầu ghi", "Cổng ONVIF"])
    sheet.append([None, None, None, None, "Tỉnh", "Huyện", "Xã"])
    sheet.merge_cells("E2:G2")
    sheet.append([1, "DG-01", "Đầu ghi", "127.0.10.1", "Thanh Hóa", "Thọ Xuân", "Xuân Lập", "Camera ANTT Xuân Lập", "Ngân sách nhà nước",
                  "12.500.000", "15/03/2023", None, "80"])
    sheet.append([2, "CAM-01", "mắt camera", "127.0.10. 2", "Thanh Hóa", "Thọ Xuân", "Xuân Lập", "Camera ANTT Xuân Lập", "Xã hội hóa",
                  "1,800,000 đ", "2023-03-15", "DG-01", "8000"])
    path = tmp_path / "tho-xuan.xlsx"
    workbook.save(path)
    config = tmp_path / "fleetmon.yaml"
    config.write_text("data_dir: data\n", encoding="utf-8")

    result = run(config, "inventory", "import", str(path))

    assert result.exit_code == 0, result.output
    with connected(f"sqlite:///{tmp_path / 'data' / 'fleetmon.db'}") as conn:
        found = load_devices(conn)
    camera = found["CAM-01"]
    assert camera.host == "127.0.10.2"
    assert camera.area == "Thanh Hóa / Thọ Xuân / Xuân Lập"
    assert camera.parent == "DG-01" and found["DG-01"].kind.value == "nvr"
    assert camera.funding.value == "social" and found["DG-01"].funding.value == "state_budget"
    assert (found["DG-01"].purchase_cost_vnd, camera.purchase_cost_vnd) == (12_500_000, 1_800_000)
    assert str(camera.install_date) == "2023-03-15" == str(found["DG-01"].install_date)
    assert camera.onvif_port == 8000


def test_csv_with_bom_semicolons_and_unknown_parent(tmp_path: Path) -> None:
    path = tmp_path / "export-from-excel.csv"
    path.write_bytes(
        "\ufeffMã thiết bị;Loại;IP;Đầu ghi;Hồ sơ đăng nhập\n"
        "cam-1;camera;127.0.20.1;nvr-9;hik\nnvr-1;nvr;127.0.20.2;;dahua\n".encode("utf-8")
    )
    config = tmp_path / "fleetmon.yaml"
    config.write_text("data_dir: data\ncredentials:\n  hik: {username: admin}\n", encoding="utf-8")

    result = run(config, "inventory", "import", str(path))

    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith(str(path))] == [
        f"{path}:2: parent: no device 'nvr-9' in the sheet or the inventory",
        f"{path}:3: credential_profile: no credential profile 'dahua' in the config",
    ]


def test_export_round_trips_through_import(config: Path, sample_xlsx: Path, store_url: str, tmp_path: Path) -> None:
    run(config, "inventory", "import", str(sample_xlsx))
    for name in ("again.xlsx", "again.csv"):
        exported = tmp_path / name
        assert run(config, "inventory", "export", "--vietnamese", str(exported)).exit_code == 0
        assert "0 added, 0 changed, 0 retired" in run(config, "inventory", "import", str(exported)).output


def test_list_and_show_filter_by_area_site_and_kind(config: Path, sample_xlsx: Path) -> None:
    run(config, "inventory", "import", str(sample_xlsx))
    nvrs = run(config, "inventory", "list", "--kind", "nvr")
    assert nvrs.exit_code == 0
    rows = [line for line in nvrs.output.splitlines() if line.startswith("nvr-")]
    assert rows and all(" nvr " in row for row in rows)
    site = sample_fleet(200)[0].site
    in_site = run(config, "inventory", "list", "--site", site).output
    assert "sw-0001" in in_site and "sw-0002" not in in_site
    shown = run(config, "inventory", "show", "nvr-0001-1").output
    assert "kind: nvr" in shown and "behind it" in shown


def test_a_parent_cycle_is_refused_naming_file_row_and_members(tmp_path: Path) -> None:
    path = tmp_path / "cycle.csv"
    path.write_text(
        "id,kind,host,parent\n"
        "sw-1,switch,127.0.21.1,\n"
        "nvr-a,nvr,127.0.21.2,nvr-b\n"
        "nvr-b,nvr,127.0.21.3,nvr-c\n"
        "nvr-c,nvr,127.0.21.4,nvr-a\n"
        "cam-1,camera,127.0.21.5,nvr-a\n",
        encoding="utf-8",
    )
    config = tmp_path / "fleetmon.yaml"
    config.write_text("data_dir: data\n", encoding="utf-8")

    result = run(config, "inventory", "import", str(path))

    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith(str(path))] == [
        f"{path}:3: parent: devices behind each other in a circle: nvr-a (row 3) -> nvr-b (row 4) -> nvr-c (row 5) -> nvr-a (row 3); "
        "give one of them another parent",
    ]
    assert device_count(f"sqlite:///{tmp_path / 'data' / 'fleetmon.db'}") == 0


def test_a_cycle_closed_through_the_stored_inventory_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "fleetmon.yaml"
    config.write_text("data_dir: data\n", encoding="utf-8")
    first = tmp_path / "first.csv"
    first.write_text("id,kind,host,parent\nnvr-a,nvr,127.0.22.1,\nnvr-b,nvr,127.0.22.2,nvr-a\n", encoding="utf-8")
    assert run(config, "inventory", "import", str(first)).exit_code == 0
    second = tmp_path / "second.csv"
    second.write_text("id,kind,host,parent\nnvr-a,nvr,127.0.22.1,nvr-b\n", encoding="utf-8")

    result = run(config, "inventory", "import", str(second))

    assert result.exit_code == 1
    cycle = "nvr-a (row 2) -> nvr-b (inventory) -> nvr-a (row 2)"
    assert f"{second}:2: parent: devices behind each other in a circle: {cycle}" in result.stderr
