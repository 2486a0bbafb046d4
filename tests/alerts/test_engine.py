"""Health changes from the state-change log become tickets: one per real fault, to the right team."""

from __future__ import annotations

from typing import Any

from fleetmon.alerts.tickets import ACTIVE, OPEN, RESOLVED
from fleetmon.inventory.model import Device, DeviceKind
from tests.alerts.conftest import AREA, camera, config

DISK_FAILED = "disk 2 (HDD2): failed (smartFailed)"


def test_a_camera_off_for_longer_than_the_rule_opens_one_ticket_and_one_message(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1"), camera("cam-2")])
    fleet.sweep()
    fleet.wait(300, down=["cam-1"])
    assert fleet.tickets() == []  # down for 4 minutes: under the default rule's 10
    fleet.wait(600, down=["cam-1"])
    [ticket] = fleet.tickets()
    assert (ticket.subject, ticket.kind, ticket.state, ticket.severity, ticket.team) == ("cam-1", "device_down", OPEN, "high", "field")
    assert ticket.area == AREA and ticket.site == "Chợ Xuân Lập"
    [(ticket_id, event, body)] = fleet.messages()
    assert (ticket_id, event) == (ticket.id, "opened")
    assert "cam-1" in body and "Thôn 3, Xuân Lập" in body and "19.90000, 105.40000" in body and "reachability: timeout" in body
    fleet.wait(1800, down=["cam-1"])
    assert len(fleet.tickets()) == 1 and fleet.count_messages() == 1


def test_a_cleared_fault_resolves_after_the_confirmation_period_and_the_team_is_told(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.wait(300)
    [ticket] = fleet.tickets()
    assert ticket.state == OPEN and not ticket.fault_seen  # back for 4 of the 10 minutes of confirmation
    fleet.wait(600)
    [ticket] = fleet.tickets()
    assert ticket.state == RESOLVED
    assert [e for _, e, _ in fleet.messages()] == ["opened", "resolved"]


def test_a_fault_back_within_the_confirmation_period_keeps_its_ticket_open(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.wait(300)
    fleet.wait(900, down=["cam-1"])
    [ticket] = fleet.tickets()
    assert ticket.state == OPEN and ticket.fault_seen and ticket.reopened == 0
    assert [e for _, e, _ in fleet.messages()] == ["opened"]


def test_a_fault_that_returns_soon_after_its_ticket_resolved_reopens_the_same_ticket(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.wait(1200)
    [resolved] = fleet.tickets()
    assert resolved.state == RESOLVED
    fleet.wait(900, down=["cam-1"])
    [ticket] = fleet.tickets()
    assert (ticket.id, ticket.state, ticket.reopened) == (resolved.id, OPEN, 1)
    assert [e for _, e, _ in fleet.messages()] == ["opened", "resolved", "reopened"]


def test_a_fault_returning_after_the_reopen_period_gets_a_new_ticket(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")], config(tickets={"reopen_within": "30m"}))
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.wait(1200)
    fleet.wait(2400)
    fleet.wait(900, down=["cam-1"])
    first, second = fleet.tickets()
    assert (first.state, second.state) == (RESOLVED, OPEN)


def test_forty_cameras_behind_a_downed_uplink_make_one_ticket_for_the_uplink_listing_them(make_fleet: Any) -> None:
    uplink = Device(id="sw-xl", kind=DeviceKind.SWITCH, host="10.0.1.1", area=AREA, site="Trạm viễn thông")
    cameras = [camera(f"cam-{n:02d}", site=f"Thôn {n % 5}", parent="sw-xl") for n in range(40)]
    fleet = make_fleet([uplink, *cameras, camera("cam-elsewhere", site="Thôn 9")])
    fleet.sweep()
    everything_behind = ["sw-xl"] + [c.id for c in cameras]
    fleet.wait(1200, down=everything_behind)
    [ticket] = fleet.tickets()
    assert (ticket.subject, ticket.kind) == ("sw-xl", "device_down")
    assert ticket.affected == tuple(sorted(c.id for c in cameras))
    assert "40 units behind it unreachable" in ticket.title
    [(_, _, body)] = fleet.messages()
    assert "cam-00" in body and "cam-39" in body


def test_a_whole_site_offline_is_one_ticket_for_the_site(make_fleet: Any) -> None:
    site = [camera(f"cam-{n}", site="UBND xã") for n in range(6)]
    fleet = make_fleet([*site, camera("cam-other", site="Chợ")])
    fleet.sweep()
    fleet.wait(1200, down=[c.id for c in site])
    [ticket] = fleet.tickets()
    assert (ticket.kind, ticket.subject, ticket.site, ticket.severity) == ("site_offline", f"site:{AREA}|UBND xã", "UBND xã", "critical")
    assert ticket.affected == tuple(c.id for c in site)


def test_flapping_makes_one_ticket_that_says_it_flaps(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    for _ in range(30):  # two minutes down, two up, for an hour
        fleet.wait(120, down=["cam-1"])
        fleet.wait(120)
    [ticket] = fleet.tickets()
    assert ticket.kind == "flapping" and "flapping" in ticket.title and "up/down changes" in ticket.detail
    assert [e for _, e, _ in fleet.messages()] == ["opened"]


def test_one_ticket_per_device_and_fault_and_a_new_problem_is_its_own_ticket(make_fleet: Any) -> None:
    fleet = make_fleet([camera("nvr-1")])
    fleet.sweep()
    fleet.wait(120, problems={"nvr-1": (DISK_FAILED,)})
    fleet.wait(3600, problems={"nvr-1": (DISK_FAILED, "recording stopped on channel 3: newest footage 2.5 h old")})
    kinds = sorted((t.kind, t.state) for t in fleet.tickets())
    assert kinds == [("disk_failed", OPEN), ("recording_stopped", OPEN)]


def test_problems_are_not_cleared_by_the_unit_going_offline(make_fleet: Any) -> None:
    fleet = make_fleet([camera("nvr-1")])
    fleet.sweep()
    fleet.wait(120, problems={"nvr-1": (DISK_FAILED,)})
    fleet.wait(3600, down=["nvr-1"])
    by_kind = {t.kind: t for t in fleet.tickets()}
    assert by_kind["disk_failed"].state == OPEN and by_kind["disk_failed"].fault_seen  # unseen while offline, not repaired


def test_each_problem_kind_is_named_by_the_monitors_words(make_fleet: Any) -> None:
    words = {
        "disk_full": "volume /dev/sda 97 % full",
        "footage_short": "only 12.0 days of footage on channel 1 (required 30)",
        "clock_skew": "clock 900 s behind: footage times are wrong",
        "picture": "picture covered: most of the picture is one flat colour",
        "stream_dead": "video stream: not answering",
        "unit_swapped": "answers with serial X9, the inventory says A1: unit swapped or inventory out of date",
        "login_refused": "ONVIF: rejecting fleetmon's login (password changed?)",
    }
    fleet = make_fleet([camera(f"cam-{kind}") for kind in words])
    fleet.sweep()
    fleet.wait(86400 + 120, problems={f"cam-{kind}": (text,) for kind, text in words.items()})
    assert sorted((t.subject, t.kind) for t in fleet.tickets()) == sorted((f"cam-{k}", k) for k in words)
    assert all(t.state in ACTIVE for t in fleet.tickets())


def test_a_storm_is_one_message_per_team_listing_every_ticket(make_fleet: Any) -> None:
    sites = [camera(f"cam-{s}-{n}", site=f"Điểm {s:02d}") for s in range(12) for n in range(3)]
    fleet = make_fleet([*sites, camera("cam-ok", site="Chợ")])
    fleet.sweep()
    fleet.wait(1200, down=[c.id for c in sites])  # a commune's power cut
    opened = fleet.tickets()
    assert len(opened) == 12 and {t.kind for t in opened} == {"site_offline"}
    [(ticket_id, event, body)] = fleet.messages()
    assert (ticket_id, event) == (None, "digest")
    assert all(f"#{t.id} [New fault]" in body for t in opened) and "Điểm 00" in body and "Điểm 11" in body


def test_a_rule_whose_team_is_not_configured_is_refused() -> None:
    import pytest

    from fleetmon.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match=r"tickets.rules.disk_full.team: no team 'recorders' in notifications.teams"):
        parse_config({"tickets": {"rules": {"disk_full": {"team": "recorders"}}},
                      "notifications": {"channels": {"m": {"type": "email", "to": ["a@b"]}}, "teams": {"field": {"channels": ["m"]}}}})
