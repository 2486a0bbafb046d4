"""Inventory import from the browser: the CLI's row-numbered errors, nothing written from a bad sheet, a dry run first."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fleetmon.console import audit
from fleetmon.inventory.columns import COLUMNS
from fleetmon.store.inventory import load_devices
from tests.console.conftest import Client, World, csrf_of

HEADERS = ["id", "kind", "host", "area", "site", "latitude", "longitude"]


def _sheet(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([COLUMNS[h][1] for h in HEADERS])  # the Vietnamese headers officials write
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _check(client: Client, name: str, body: bytes) -> tuple[int, str]:
    page = client.get("/inventory")
    answer = client.post("/inventory/check", data={"csrf": csrf_of(page.text)}, files={"sheet": (name, body, "text/csv")})
    return answer.status_code, answer.text


def test_a_bad_row_shows_file_row_field_errors_and_writes_nothing(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("admin")
    before = len(world.fleet.devices)
    status, page = _check(client, "tho-xuan.csv", _sheet([
        ["xl-cam-9", "camera", "10.1.0.9", "Thanh Hóa / Thọ Xuân / Xuân Lập", "Chợ", "19.9", "105.4"],
        ["xl-cam-10", "camera", "not a host!", "Thanh Hóa / Thọ Xuân / Xuân Lập", "Chợ", "91", "105.4"],
    ]))
    assert status == 422
    assert "tho-xuan.csv:3: host" in page and "tho-xuan.csv:3: latitude" in page
    assert "Import it" not in page and "/inventory/apply" not in page
    with world.engine.connect() as conn:
        assert len(load_devices(conn)) == before
        assert audit.recent(conn) == []
    assert not any(world.console.upload_dir.iterdir())  # a refused upload is not kept


def test_a_good_sheet_is_a_dry_run_first_then_imported_and_audited(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("admin")
    row = ["xl-cam-9", "camera", "10.1.0.9", "Thanh Hóa / Thọ Xuân / Xuân Lập", "Chợ", "19.9", "105.4"]
    status, page = _check(client, "new.csv", _sheet([row]))
    assert status == 200 and "+ xl-cam-9" in page
    with world.engine.connect() as conn:
        assert "xl-cam-9" not in load_devices(conn)
    done = client.post("/inventory/apply", data={"csrf": csrf_of(page), "token": page.split('name="token" value="')[1].split('"')[0],
                                                 "name": "new.csv"})
    assert "new.csv" in done.text
    with world.engine.connect() as conn:
        assert load_devices(conn)["xl-cam-9"].area == "Thanh Hóa / Thọ Xuân / Xuân Lập"
        [entry] = audit.recent(conn)
    assert (entry.actor, entry.action, entry.target) == ("admin", "inventory.import", "new.csv") and "1 added" in entry.detail


def test_only_administrators_import(signed_in: Callable[[str], Client]) -> None:
    client = signed_in("tech")
    assert client.get("/inventory").status_code == 403
