"""A technician works a ticket from the console under the CLI's rules, and the audit log names them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from fleetmon.alerts import tickets, windows
from fleetmon.console import audit
from tests.console.conftest import Client, World, csrf_of


def _post(client: Client, url: str, **data: str) -> str:
    """Post a form of the ticket page with its token; returns the page the redirect lands on."""
    page = client.get(url.rsplit("/", 1)[0])
    return client.post(url, data={"csrf": csrf_of(page.text), **data}).text


def test_technician_acknowledges_and_closes_with_a_repair_record(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("tech")
    [ticket] = [t for t in world.fleet.tickets() if t.device_id == "xl-cam-1"]
    board = client.get("/tickets?severity=high").text
    assert f"#{ticket.id}" in board
    assert "Xong" in _post(client, f"/tickets/{ticket.id}/ack")
    refused = _post(client, f"/tickets/{ticket.id}/close", cause="PoE hỏng", action="thay bộ nguồn PoE", cost="500.000",
                    funding="state_budget")
    assert "Bị từ chối" in refused and "monitoring still sees the fault" in refused
    with world.engine.connect() as conn:
        assert tickets.get(conn, ticket.id).state == tickets.ACKNOWLEDGED and tickets.get(conn, ticket.id).repair is None

    world.fleet.wait(900)  # the camera answers again: the fault is gone
    _post(client, f"/tickets/{ticket.id}/close", cause="PoE hỏng", action="thay bộ nguồn PoE", parts="PoE 48V", cost="500.000",
          hours="1,5", funding="state_budget")
    with world.engine.connect() as conn:
        closed = tickets.get(conn, ticket.id)
        trail = audit.recent(conn)
    assert closed.state == tickets.CLOSED
    assert closed.repair is not None and closed.repair.cost_vnd == 500_000 and closed.repair.hours == 1.5 and closed.repair.by == "tech"
    assert [(e.actor, e.action) for e in reversed(trail)] == [("tech", "ticket.ack"), ("tech", "ticket.close")]
    assert "500000" in trail[0].detail and trail[0].address
    device = client.get("/devices/xl-cam-1").text
    assert "500.000 ₫" in device and "thay bộ nguồn PoE" in device
    client.get("/status?lang=en")
    assert "closed" in client.get(f"/tickets/{ticket.id}").text


def test_windows_are_added_and_removed_with_an_audit_trail(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("tech")
    page = client.get("/windows")
    day = (datetime.now(timezone(timedelta(hours=7))) + timedelta(days=7)).date()  # ended windows leave the page
    added = client.post("/windows/add", data={"csrf": csrf_of(page.text), "scope": "area", "target": "Thanh Hóa / Thọ Xuân",
                                              "starts": f"{day}T08:00", "ends": f"{day}T12:00", "reason": "cắt điện"})
    assert "Thanh Hóa / Thọ Xuân" in added.text and "cắt điện" in added.text
    assert f"{day} 08:00 +07" in added.text  # the console's time zone, Vietnam's by default
    with world.engine.connect() as conn:
        [window] = windows.load(conn)
    assert window.starts_at == datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
    [window_id] = re.findall(r'action="/windows/(\d+)/remove"', added.text)
    client.post(f"/windows/{window_id}/remove", data={"csrf": csrf_of(added.text)})
    with world.engine.connect() as conn:
        assert [(e.actor, e.action) for e in audit.recent(conn)] == [("tech", "window.remove"), ("tech", "window.add")]
    signed_in("police")
    assert client.post("/windows/add", data={"csrf": csrf_of(client.get("/windows").text)}).status_code == 403
