"""People work tickets: acknowledge, assign, start, close with a repair record; SLA timers escalate."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from fleetmon.alerts import tickets
from fleetmon.alerts.tickets import ACKNOWLEDGED, CLOSED, IN_PROGRESS, OPEN, RESOLVED, Repair, TicketError
from fleetmon.inventory.model import Device, Funding
from tests.alerts.conftest import START, camera, config, when

REPAIR = Repair(cause="PoE adapter burnt", action="replaced the adapter", parts="PoE 48 V adapter", cost_vnd=450_000, hours=1.5,
                funding=Funding.SOCIAL, by="Lê Văn Tâm")


def test_close_is_refused_while_monitoring_sees_the_fault_then_closes_once_healthy_long_enough(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    [ticket] = fleet.tickets()
    with fleet.store.begin() as conn:
        tickets.acknowledge(conn, ticket.id, "tâm", when(fleet.now))
        tickets.start(conn, ticket.id, "tâm", when(fleet.now))
        with pytest.raises(TicketError, match="monitoring still sees the fault"):
            tickets.close(conn, ticket.id, REPAIR, "tâm", when(fleet.now), fleet.cfg)
    fleet.wait(300)  # answering again for 4 minutes: the default asks for 15 healthy
    with fleet.store.begin() as conn:
        pending = tickets.close(conn, ticket.id, REPAIR, "tâm", when(fleet.now), fleet.cfg)
    assert pending.state == IN_PROGRESS and pending.close_requested_at is not None
    fleet.wait(900)
    [closed] = fleet.tickets()
    assert closed.state == CLOSED
    assert closed.repair == REPAIR
    with fleet.store.connect() as conn:
        actions = [action for _, action, _, _ in tickets.events(conn, closed.id)]
    assert actions[:3] == ["opened", "acknowledged", "started"] and "repair recorded" in actions and actions[-1] == "closed"


def test_a_repair_recorded_while_the_fault_came_back_waits_until_the_unit_is_healthy_again(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.wait(300)
    [ticket] = fleet.tickets()
    with fleet.store.begin() as conn:
        tickets.close(conn, ticket.id, REPAIR, "tâm", when(fleet.now), fleet.cfg)
    fleet.wait(600, down=["cam-1"])  # the repair did not hold
    fleet.wait(600)
    [ticket] = [t for t in fleet.tickets() if t.kind == "device_down"]  # (and down twice in an hour: flapping, its own ticket)
    assert ticket.state != CLOSED
    fleet.wait(1200)
    [ticket] = [t for t in fleet.tickets() if t.kind == "device_down"]
    assert ticket.state == CLOSED


def test_a_closed_ticket_never_reopens_a_new_fault_gets_a_new_ticket(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.wait(1200)
    [ticket] = fleet.tickets()
    with fleet.store.begin() as conn:
        tickets.close(conn, ticket.id, REPAIR, "tâm", when(fleet.now), fleet.cfg)
    fleet.wait(900, down=["cam-1"])
    first, second = fleet.tickets()
    assert (first.state, second.state) == (CLOSED, OPEN)


def test_a_repair_record_needs_a_cause_and_an_action(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.wait(1200)
    [ticket] = fleet.tickets()
    with fleet.store.begin() as conn, pytest.raises(TicketError, match="cause"):
        tickets.close(conn, ticket.id, Repair(cause="", action=""), "tâm", when(fleet.now), fleet.cfg)


def test_not_acknowledged_in_time_escalates_to_the_areas_lead_once(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")], config(tickets={"sla": {"high": {"acknowledge": "30m", "repair": "8h"}}}))
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.wait(1500, down=["cam-1"])
    assert fleet.messages("lead") == []
    fleet.wait(600, down=["cam-1"])
    [ticket] = fleet.tickets()
    assert ticket.escalated_at is not None and ticket.state == OPEN
    [(ticket_id, event, body)] = fleet.messages("lead")
    assert (ticket_id, event) == (ticket.id, "escalated") and "Not acknowledged in time" in body
    fleet.wait(8 * 3600, down=["cam-1"])
    assert [e for _, e, _ in fleet.messages("lead")] == ["escalated"]
    assert [e for _, e, _ in fleet.messages("hook")] == ["opened", "repair_overdue"]


def test_an_acknowledged_ticket_does_not_escalate(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")], config(tickets={"sla": {"high": {"acknowledge": "30m", "repair": "8h"}}}))
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    [ticket] = fleet.tickets()
    with fleet.store.begin() as conn:
        acknowledged = tickets.acknowledge(conn, ticket.id, "tâm", when(fleet.now))
        tickets.assign(conn, ticket.id, "Nguyễn Thị Hoa", "tâm", when(fleet.now))
    assert acknowledged.state == ACKNOWLEDGED and acknowledged.assignee == "tâm"
    fleet.wait(3600, down=["cam-1"])
    assert fleet.messages("lead") == []
    [ticket] = fleet.tickets()
    assert ticket.assignee == "Nguyễn Thị Hoa"


def test_resolving_by_hand_is_refused_while_the_fault_is_seen(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    [ticket] = fleet.tickets()
    with fleet.store.begin() as conn, pytest.raises(TicketError, match="still sees"):
        tickets.resolve(conn, ticket.id, "tâm", when(fleet.now))
    fleet.wait(120)
    with fleet.store.begin() as conn:
        assert tickets.resolve(conn, ticket.id, "tâm", when(fleet.now)).state == RESOLVED


def test_an_upkeep_plan_opens_one_ticket_per_site_on_schedule(make_fleet: Any) -> None:
    from datetime import timedelta

    from fleetmon.alerts.tickets import Ticket

    devices = [camera("cam-a1", site="Chợ"), camera("cam-a2", site="Chợ"), camera("cam-b1", site="Trường"),
               camera("cam-x", area="Thanh Hóa / Quảng Xương / Quảng Tân", site="UBND")]
    plan = {"every": "180d", "area": "Thanh Hóa / Thọ Xuân", "starts": when(START + 86400).isoformat(),
            "tasks": ["lau ống kính", "kiểm tra nguồn và dây", "thử trích xuất hình"]}
    fleet = make_fleet(devices, config(tickets={"plans": {"6-thang": plan}}))
    fleet.sweep()
    assert fleet.tickets() == []  # not due before its start
    fleet.now += 86400
    fleet.step()
    chợ, trường = sorted(fleet.tickets(), key=lambda t: t.site)
    assert (chợ.kind, chợ.site, chợ.affected, chợ.severity) == ("preventive", "Chợ", ("cam-a1", "cam-a2"), "low")
    assert chợ.detail == "lau ống kính; kiểm tra nguồn và dây; thử trích xuất hình" and trường.affected == ("cam-b1",)
    [(_, event, body)] = [m for m in fleet.messages() if m[0] == chợ.id]
    assert event == "opened" and "Tasks: lau ống kính" in body and "Units (2): cam-a1, cam-a2" in body
    fleet.now += 3600
    with fleet.store.begin() as conn:
        done: Ticket = tickets.close(conn, chợ.id, Repair(cause="định kỳ", action="đã lau, kiểm tra, thử", hours=2.0), "tâm",
                                     when(fleet.now), fleet.cfg)
    assert done.state == CLOSED
    fleet.now += timedelta(days=90).total_seconds()
    fleet.step()
    assert len(fleet.tickets()) == 2  # not due again yet
    fleet.now += timedelta(days=91).total_seconds()
    fleet.step()
    by_site = sorted((t.site, t.state) for t in fleet.tickets())
    assert by_site == [("Chợ", CLOSED), ("Chợ", OPEN), ("Trường", OPEN)]  # Trường's is still open: no second one


def household(device_id: str) -> Device:
    return dataclasses.replace(camera(device_id, site=""), funding=Funding.HOUSEHOLD_SHARED, owner_contact="Ông Lê Văn Bình, 0912 345 678",
                               address="Số 12, thôn Đông, Xuân Lập")


OWNER_FIRST = {"owner_first": {"wait": "2h", "channels": ["owners"]}}


def owner_config() -> Any:
    return config(("owners",), tickets=OWNER_FIRST)  # owners: an SMS or Zalo gateway behind a webhook


def test_a_household_camera_owner_is_asked_first_then_a_technician_is_sent(make_fleet: Any) -> None:
    fleet = make_fleet([household("home-1"), camera("cam-1")], owner_config())
    fleet.sweep()
    fleet.wait(900, down=["home-1"])
    [ticket] = fleet.tickets()
    assert (ticket.team, ticket.assignee) == ("owner", "Ông Lê Văn Bình, 0912 345 678")
    [(_, event, body)] = fleet.messages("owners")
    assert event == "ask_owner" and "Dear Ông Lê Văn Bình" in body and "router" in body and "Số 12, thôn Đông" in body
    assert fleet.messages("hook") == [] and fleet.messages("lead") == []  # no technician yet, no escalation
    fleet.wait(7200, down=["home-1"])  # checking power and router did not help
    [ticket] = fleet.tickets()
    assert (ticket.team, ticket.assignee) == ("field", "")
    [(_, event, body)] = fleet.messages("hook")
    assert event == "opened" and "the owner (Ông Lê Văn Bình, 0912 345 678) was asked 120 min ago" in body
    assert len(fleet.messages("owners")) == 1


def test_a_household_camera_the_owner_fixed_never_reaches_a_technician(make_fleet: Any) -> None:
    fleet = make_fleet([household("home-1")], owner_config())
    fleet.sweep()
    fleet.wait(900, down=["home-1"])
    fleet.wait(1800)  # the owner plugged the router back in
    [ticket] = fleet.tickets()
    assert (ticket.team, ticket.state) == ("owner", RESOLVED)
    fleet.wait(7200)
    assert fleet.messages("hook") == [] and [e for _, e, _ in fleet.messages("owners")] == ["ask_owner"]
