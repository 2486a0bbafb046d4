"""An area viewer sees its area subtree and nothing else: pages, JSON API and exports alike."""

from __future__ import annotations

from collections.abc import Callable

from tests.console.conftest import SAM_SON, XUAN_LAP, Client, World


def _other_ticket(world: World) -> int:
    [found] = [t.id for t in world.fleet.tickets() if t.device_id == "ss-cam-1"]
    return found


def test_an_area_viewer_cannot_see_another_areas_device(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("police")
    other = _other_ticket(world)
    for url in ("/devices/ss-cam-1", "/api/devices/ss-cam-1", f"/tickets/{other}", f"/api/tickets/{other}",
                "/status?area=Thanh Hóa / Sầm Sơn", "/api/status?area=Thanh Hóa / Sầm Sơn", "/status?area=Thanh Hóa",
                f"/site?area={SAM_SON}&site=Bãi biển"):
        answer = client.get(url)
        assert answer.status_code in (403, 404), url
        assert "ss-cam" not in answer.text and "Sầm Sơn" not in answer.text, url
    export = client.get("/export/devices.csv").text
    assert "xl-cam-1" in export and "ss-cam" not in export
    listed = client.get("/api/tickets").json()
    assert [t["device_id"] for t in listed] == ["xl-cam-1"]
    for url in ("/status", "/tickets", "/windows", "/api/status", f"/site?area={XUAN_LAP}&site=Chợ Xuân Lập"):
        page = client.get(url)
        assert page.status_code == 200 and "ss-cam" not in page.text and "Sầm Sơn" not in page.text, url
    assert client.get("/devices/xl-cam-1").status_code == 200
    assert client.get("/api/devices/xl-cam-1").json()["state"] == "down"


def test_the_whole_fleet_for_other_roles(signed_in: Callable[[str], Client]) -> None:
    client = signed_in("budget")
    export = client.get("/export/devices.csv").text
    assert "xl-cam-1" in export and "ss-cam-1" in export
    counts = client.get("/api/status").json()["counts"]
    assert counts["down"] == 2 and counts["up"] == 2


def test_the_api_asks_for_a_session(client: Client) -> None:
    answer = client.get("/api/devices/xl-cam-1")
    assert answer.status_code == 401 and "xl-cam" not in answer.text


def test_an_area_viewer_without_an_area_sees_nothing(signed_in: Callable[[str], Client], world: World) -> None:
    from sqlalchemy import update

    from fleetmon.store.schema import console_users

    with world.engine.begin() as conn:  # only a hand edit of the table can do this; the console and CLI refuse it
        conn.execute(update(console_users).where(console_users.c.name == "police").values(area=""))
    client = signed_in("police")
    assert client.get("/api/status").json()["counts"]["down"] == 0
    assert client.get("/api/tickets").json() == []
    assert "cam" not in client.get("/export/devices.csv").text


def test_exported_cells_never_run_as_spreadsheet_formulas() -> None:
    from fleetmon.console.pages.api import _cell

    assert _cell('=HYPERLINK("http://x","bấm")') == '\'=HYPERLINK("http://x","bấm")'
    assert _cell("-1+2") == "'-1+2" and _cell("Thôn 3") == "Thôn 3" and _cell(None) == "" and _cell(19.9) == 19.9
