"""Ticket actions and maintenance windows through the JSON API, on a real loopback server: signed in by the
console's session with its CSRF header, under the CLI's rules, area-scoped, and in the audit log."""

from __future__ import annotations

from collections.abc import Callable

from fleetmon.alerts import tickets, windows
from fleetmon.console import audit
from tests.console.conftest import Client, World


def _token(client: Client) -> dict[str, str]:
    answer = client.get("/api/csrf")
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf"]}


def test_a_technician_works_a_ticket_through_the_api(signed_in: Callable[[str], Client], world: World) -> None:
    [ticket] = [t for t in world.fleet.tickets() if t.device_id == "xl-cam-1"]
    client = signed_in("tech")
    assert client.post(f"/api/tickets/{ticket.id}/ack").status_code == 403  # no CSRF header: refused
    headers = _token(client)
    acked = client.post(f"/api/tickets/{ticket.id}/ack", headers=headers)
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assigned = client.post(f"/api/tickets/{ticket.id}/assign", headers=headers, json={"assignee": "lan"})
    assert assigned.json()["assignee"] == "lan"
    assert client.post(f"/api/tickets/{ticket.id}/start", headers=headers).json()["state"] == "in_progress"
    repair = {"cause": "PoE hỏng", "action": "thay bộ nguồn PoE", "cost_vnd": 500000, "hours": 1.5, "funding": "state_budget"}
    refused = client.post(f"/api/tickets/{ticket.id}/close", headers=headers, json=repair)
    assert refused.status_code == 409 and "monitoring still sees the fault" in refused.json()["error"]
    assert client.post(f"/api/tickets/{ticket.id}/close", headers=headers, json={**repair, "cost_vnd": "lots"}).status_code == 400

    world.fleet.wait(900)  # the camera answers again
    closed = client.post(f"/api/tickets/{ticket.id}/close", headers=headers, json=repair)
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed" and closed.json()["repair"]["cost_vnd"] == 500000
    assert closed.json()["repair"]["funding"] == "state_budget" and closed.json()["repair"]["by"] == "tech"
    with world.engine.connect() as conn:
        assert tickets.get(conn, ticket.id).state == tickets.CLOSED
        trail = [(e.actor, e.action) for e in reversed(audit.recent(conn))]
    assert trail == [("tech", "ticket.ack"), ("tech", "ticket.assign"), ("tech", "ticket.start"), ("tech", "ticket.close")]


def test_roles_and_areas_are_the_consoles(client: Client, signed_in: Callable[[str], Client], world: World) -> None:
    [here] = [t for t in world.fleet.tickets() if t.device_id == "xl-cam-1"]
    assert client.post(f"/api/tickets/{here.id}/ack", headers={"X-CSRF-Token": "x"}).status_code == 403  # signed out, no session token
    assert client.get("/api/windows").status_code == 401
    signed_in("police")  # an area viewer of Thọ Xuân: may look, not act
    assert client.post(f"/api/tickets/{here.id}/ack", headers=_token(client)).status_code == 403
    assert client.post("/api/windows", headers=_token(client), json={}).status_code == 403
    with world.engine.begin() as conn:
        mine = windows.add(conn, "area", "Thanh Hóa / Thọ Xuân", world.console.clock(), world.console.clock().replace(year=2030))
        windows.add(conn, "area", "Thanh Hóa / Sầm Sơn", world.console.clock(), world.console.clock().replace(year=2030))
    assert [w["id"] for w in client.get("/api/windows").json()] == [mine]
    with world.engine.connect() as conn:
        assert tickets.get(conn, here.id).state == tickets.OPEN and audit.recent(conn) == []


def test_windows_are_added_listed_and_removed(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("tech")
    headers = _token(client)
    window = {"scope": "area", "target": "Thanh Hóa / Sầm Sơn", "starts_at": "2026-12-01T08:00", "ends_at": "2026-12-01T12:00+07:00",
              "reason": "cắt điện"}
    added = client.post("/api/windows", headers=headers, json=window)
    assert added.status_code == 201, added.text
    assert added.json()["starts_at"] == "2026-12-01T01:00:00+00:00"  # a time without offset is the console's (Vietnam's)
    assert client.post("/api/windows", headers=headers, json={**window, "ends_at": "2026-12-01T07:00"}).status_code == 400
    assert [w["reason"] for w in client.get("/api/windows").json()] == ["cắt điện"]
    window_id = added.json()["id"]
    assert client.delete(f"/api/windows/{window_id}").status_code == 403  # no CSRF header
    assert client.delete(f"/api/windows/{window_id}", headers=headers).status_code == 204
    assert client.delete(f"/api/windows/{window_id}", headers=headers).status_code == 404
    with world.engine.connect() as conn:
        assert windows.load(conn) == []
        assert [(e.actor, e.action) for e in audit.recent(conn)] == [("tech", "window.remove"), ("tech", "window.add")]
