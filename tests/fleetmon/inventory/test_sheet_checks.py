"""Rows that would silently take over, duplicate or garble a device: refused, or imported with a warning."""

from __future__ import annotations

from pathlib import Path

from tests.fleetmon.inventory.conftest import Run, problems, stored, write_csv

HEADER = "id,kind,host,serial,onvif_port,install_date,warranty_end"


def test_a_new_id_with_an_existing_serial_does_not_take_the_device_over(run: Run, tmp_path: Path, store_url: str) -> None:
    first = write_csv(tmp_path / "first.csv", HEADER, "cam-1,camera,127.0.50.1,HK0001,,,")
    assert run("inventory", "import", str(first)).exit_code == 0
    second = write_csv(tmp_path / "second.csv", HEADER, "cam-new,camera,127.0.50.9,HK0001,,,")

    result = run("inventory", "import", str(second))

    assert result.exit_code == 1
    assert problems(result, second) == [
        f"{second}:2: serial: 'HK0001' is also the serial of 'cam-1' (the inventory); to change that device use its id 'cam-1', "
        "or correct the serial",
    ]
    found = stored(store_url)
    assert set(found) == {"cam-1"} and found["cam-1"].host == "127.0.50.1"


def test_a_row_without_an_id_still_updates_the_device_with_its_serial(run: Run, tmp_path: Path, store_url: str) -> None:
    first = write_csv(tmp_path / "first.csv", HEADER, "cam-1,camera,127.0.50.1,HK0001,,,")
    assert run("inventory", "import", str(first)).exit_code == 0
    second = write_csv(tmp_path / "second.csv", HEADER, ",camera,127.0.50.2,HK0001,,,")

    result = run("inventory", "import", str(second))

    assert result.exit_code == 0, result.output
    assert "0 added, 1 changed" in result.output
    assert stored(store_url)["cam-1"].host == "127.0.50.2"


def test_a_host_that_is_not_an_address_is_refused_not_squeezed(run: Run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "hosts.csv", HEADER, "cam-1,camera,not an address,,,,", "cam-2,camera,127.0.50. 2,,,,")
    result = run("inventory", "import", str(path))
    assert problems(result, path) == [f"{path}:2: host: 'not an address' is not an IP address or host name"]


def test_duplicate_addresses_and_serials_in_the_sheet_and_against_the_store(run: Run, tmp_path: Path, store_url: str) -> None:
    first = write_csv(tmp_path / "first.csv", HEADER, "nvr-1,nvr,127.0.50.1,DH0001,,,")
    assert run("inventory", "import", str(first)).exit_code == 0
    path = write_csv(
        tmp_path / "dups.csv",
        HEADER,
        "cam-1,camera,127.0.50.11,HK0001,,,",
        "cam-2,camera,127.0.50.12,HK0001,,,",
        "cam-3,camera,127.0.50.11,HK0003,,,",
        "cam-4,camera,127.0.50.1,HK0004,,,",
    )

    result = run("inventory", "import", "--dry-run", str(path))

    assert result.exit_code == 1
    assert problems(result, path) == [
        f"{path}:3: serial: 'HK0001' is also the serial of 'cam-1' (row 2)",
        f"{path}:4: host: 127.0.50.11 is also the address of 'cam-1' (row 2), on the same ports: one unit would be probed as two",
        f"{path}:5: host: 127.0.50.1 is also the address of 'nvr-1' (the inventory), on the same ports: one unit would be probed as two",
    ]
    assert set(stored(store_url)) == {"nvr-1"}


def test_odd_but_plausible_rows_are_imported_with_a_warning_and_impossible_dates_refused(run: Run, tmp_path: Path, store_url: str) -> None:
    """Decided: a date outside 1980-2099 (an Excel serial 99999 is 2173) is a mistake; a warranty that
    ended before the install (bought long before) or two cameras on one router's ports happen: warned."""
    odd = write_csv(
        tmp_path / "odd.csv",
        HEADER,
        "cam-1,camera,127.0.50.1,HK0001,8001,2024-05-01,2023-05-01",
        "cam-2,camera,127.0.50.1,HK0002,8002,,",
    )

    result = run("inventory", "import", str(odd))

    assert result.exit_code == 0, result.output
    assert problems(result, odd) == [
        f"{odd}:2: install_date: 2024-05-01 is after the warranty end 2023-05-01 (warning)",
        f"{odd}:3: host: 127.0.50.1 is also the address of 'cam-1' (row 2), on other ports (behind one router?) (warning)",
    ]
    assert set(stored(store_url)) == {"cam-1", "cam-2"}

    wrong = write_csv(tmp_path / "wrong.csv", HEADER, "cam-3,camera,127.0.50.3,HK0003,,99999,", "cam-4,camera,127.0.50.4,HK0004,,,1/1/1900")
    result = run("inventory", "import", str(wrong))
    assert problems(result, wrong) == [
        f"{wrong}:2: install_date: 2173-10-13 is not a plausible date (from 1980 to 2099)",
        f"{wrong}:3: warranty_end: 1900-01-01 is not a plausible date (from 1980 to 2099)",
    ]
