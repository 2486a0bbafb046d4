"""The device state machine and root cause, driven by observations as a sweep would make them."""

from __future__ import annotations

from fleetmon.health.machine import Policy, apply
from fleetmon.health.model import Cause, DeviceStatus, Health, Observation, Transition
from fleetmon.health.rootcause import resolve
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.findings import Problem
from fleetmon.probes.result import ProbeStatus

POLICY = Policy()


def seen(device_id: str, at: float, alive: bool = True, probe: str = "reachability", **facts: object) -> Observation:
    return Observation(
        device_id=device_id, probe=probe, at=at, duration_seconds=0.01, alive=alive,
        status=ProbeStatus.OK if alive else ProbeStatus.TIMEOUT, **facts,  # type: ignore[arg-type]
    )


def run(status: DeviceStatus, *observations: Observation, liveness: bool = True) -> list[Transition]:
    return [t for o in observations if (t := apply(status, o, POLICY, liveness=liveness))]


def test_down_after_two_failed_sweeps_and_up_after_two_answers() -> None:
    status = DeviceStatus()
    assert [t.new for t in run(status, seen("c", 0))] == [Health.UP]
    assert run(status, seen("c", 60, alive=False)) == []  # one lost probe is not an outage
    [down] = run(status, seen("c", 120, alive=False))
    assert (down.new, down.cause, status.since) == (Health.DOWN, Cause.DEVICE, 120)
    assert run(status, seen("c", 180)) == []
    [up] = run(status, seen("c", 240))
    assert (up.old, up.new, up.reason) == (Health.DOWN, Health.UP, "answering again")


def test_problems_from_any_probe_degrade_and_clearing_them_restores() -> None:
    status = DeviceStatus()
    run(status, seen("n", 0))
    [degraded] = run(status, seen("n", 10, probe="snmp", problems=("disk 2 failed",)), liveness=False)
    assert (degraded.new, degraded.reason) == (Health.DEGRADED, "disk 2 failed")
    [worse] = run(status, seen("n", 20, probe="onvif", problems=("recording stopped 2 h ago",)), liveness=False)
    assert worse.reason == "disk 2 failed; recording stopped 2 h ago"
    run(status, seen("n", 30, probe="snmp"), seen("n", 40, probe="onvif"), liveness=False)
    assert status.state is Health.UP


def test_a_probe_failing_twice_while_the_device_answers_degrades_it_not_downs_it() -> None:
    status = DeviceStatus()
    run(status, seen("c", 0))

    def login(at: float) -> Observation:
        return Observation(device_id="c", probe="onvif", status=ProbeStatus.AUTH_FAILED, at=at, duration_seconds=0.1,
                           alive=False, problems=("ONVIF login refused: wrong password?",))

    assert run(status, login(5), liveness=False) == []  # once may be a lost packet
    [t] = run(status, login(65), liveness=False)
    assert t.new is Health.DEGRADED and "wrong password" in t.reason


def test_a_problem_whose_number_moves_is_no_change_a_new_or_cleared_problem_is() -> None:
    status = DeviceStatus()
    run(status, seen("c", 0))

    def clock(at: float, seconds: int, *more: str) -> Observation:
        return seen("c", at, probe="onvif", problems=(Problem(f"clock {seconds} s ahead", "clock_skew"), *more))

    [degraded] = run(status, clock(10, 600), liveness=False)
    assert (degraded.new, degraded.reason) == (Health.DEGRADED, "clock 600 s ahead")
    assert run(status, clock(20, 601), clock(30, 603), liveness=False) == []  # the state-change log stays quiet
    assert status.reasons == ("clock 603 s ahead",)  # the status shows today's words
    [worse] = run(status, clock(40, 604, "port rtsp:554 refusing connections"), liveness=False)
    assert (worse.old, worse.new, worse.reason) == (Health.DEGRADED, Health.DEGRADED,
                                                     "clock 604 s ahead; port rtsp:554 refusing connections")
    [better] = run(status, clock(50, 605), liveness=False)
    assert better.reason == "clock 605 s ahead"


def test_reboots_are_counted_and_three_within_an_hour_are_a_loop() -> None:
    status = DeviceStatus()
    run(status, seen("n", 0))
    run(status, seen("n", 0, probe="snmp", uptime_seconds=50_000.0), liveness=False)
    run(status, seen("n", 60, probe="snmp", uptime_seconds=50_060.0), liveness=False)
    assert status.reboots == 0
    for at in (120, 300, 600):
        run(status, seen("n", at, probe="snmp", uptime_seconds=20.0), liveness=False)
    assert status.reboots == 3
    assert any(r.startswith("reboot loop: 3 reboots") for r in status.reasons)


def test_uptime_counter_wrap_after_497_days_is_not_a_reboot() -> None:
    status = DeviceStatus()
    run(status, seen("n", 0, probe="snmp", uptime_seconds=2**32 / 100 - 10), liveness=False)
    run(status, seen("n", 60, probe="snmp", uptime_seconds=50.0), liveness=False)
    assert status.reboots == 0


def test_returning_with_a_reset_uptime_records_a_power_cut() -> None:
    status = DeviceStatus()
    run(status, seen("sw", 0, uptime_seconds=10_000.0), seen("sw", 60, alive=False), seen("sw", 120, alive=False))
    [back] = run(status, seen("sw", 600, uptime_seconds=90.0), seen("sw", 660, uptime_seconds=150.0))[-1:]
    assert back.new is Health.UP and back.cause is Cause.POWER


def test_flapping_is_named_as_a_reason() -> None:
    status = DeviceStatus()
    at = 0.0
    for _ in range(3):
        for alive in (True, True, False, False):
            run(status, seen("c", at, alive=alive))
            at += 60
    run(status, seen("c", at), seen("c", at + 60))
    assert status.flapping and status.state is Health.DEGRADED
    assert any(r.startswith("flapping") for r in status.reasons)


def _site() -> dict[str, Device]:
    def dev(i: str, kind: DeviceKind, parent: str = "") -> Device:
        return Device(id=i, kind=kind, host="127.0.0.1", parent=parent, site="Chợ", area="A")

    return {
        "sw": dev("sw", DeviceKind.SWITCH),
        "nvr": dev("nvr", DeviceKind.NVR, "sw"),
        "cam1": dev("cam1", DeviceKind.CAMERA, "nvr"),
        "cam2": dev("cam2", DeviceKind.CAMERA, "nvr"),
        "other": Device(id="other", kind=DeviceKind.CAMERA, host="127.0.0.2", site="Trường", area="A"),
    }


def test_an_nvr_down_makes_its_cameras_unreachable_not_down() -> None:
    devices = _site()
    statuses = {i: DeviceStatus() for i in devices}
    for at, alive_nvr in ((0, True), (60, False), (120, False)):
        for i in devices:
            run(statuses[i], seen(i, at, alive=alive_nvr or i in ("sw", "other")))
        resolve(devices, statuses, at, POLICY)
    assert {i: s.state for i, s in statuses.items()} == {
        "sw": Health.UP, "nvr": Health.DOWN, "cam1": Health.UNREACHABLE, "cam2": Health.UNREACHABLE, "other": Health.UP,
    }
    assert statuses["cam1"].cause is Cause.NETWORK


def test_a_whole_site_dropping_is_the_sites_outage() -> None:
    devices = _site()
    statuses = {i: DeviceStatus() for i in devices}
    for at, alive in ((0, True), (60, False), (120, False)):
        for i in devices:
            run(statuses[i], seen(i, at, alive=alive or i == "other"))
        resolve(devices, statuses, at, POLICY)
    assert statuses["sw"].state is Health.DOWN and statuses["sw"].cause is Cause.NETWORK
    assert statuses["cam2"].state is Health.UNREACHABLE
    assert statuses["other"].state is Health.UP


def test_a_camera_still_dead_after_its_nvr_returns_is_down_on_its_own() -> None:
    devices = _site()
    statuses = {i: DeviceStatus() for i in devices}
    plan = [(0, {"nvr": True, "cam1": True}), (60, {"nvr": False, "cam1": False}), (120, {"nvr": False, "cam1": False}),
            (180, {"nvr": True, "cam1": False}), (240, {"nvr": True, "cam1": False})]
    for at, alive in plan:
        for i in ("sw", "nvr", "cam1"):
            run(statuses[i], seen(i, at, alive=alive.get(i, True)))
        resolve(devices, statuses, at, POLICY)
    assert statuses["nvr"].state is Health.UP
    assert statuses["cam1"].state is Health.DOWN and statuses["cam1"].cause is Cause.DEVICE


def test_flapping_clears_once_the_unit_has_held_steady_for_the_window() -> None:
    status = DeviceStatus()
    at = 0.0
    for _ in range(3):
        for alive in (True, True, False, False):
            run(status, seen("c", at, alive=alive))
            at += 60
    run(status, seen("c", at), seen("c", at + 60))
    assert status.flapping and status.state is Health.DEGRADED
    settled = status.recent_changes[-1]
    steady = [seen("c", t) for t in range(int(at) + 120, int(settled + POLICY.flap_window_seconds) + 120, 60)]
    [calm] = run(status, *steady)  # its ticket resolves: the window has moved past the flaps
    assert (calm.old, calm.new, calm.reason) == (Health.DEGRADED, Health.UP, "answering")
    assert not status.flapping


def test_a_reboot_loop_clears_once_the_unit_has_stayed_up_for_the_window() -> None:
    status = DeviceStatus()
    run(status, seen("n", 0))
    run(status, seen("n", 0, probe="snmp", uptime_seconds=50_000.0), liveness=False)
    for at in (120, 300, 600):
        run(status, seen("n", at, probe="snmp", uptime_seconds=20.0), liveness=False)
    assert status.state is Health.DEGRADED and status.reasons[0].startswith("reboot loop")
    # Up ever since its last reboot; the liveness probe keeps answering, every minute
    later = [o for t in range(660, 600 + int(POLICY.reboot_window_seconds) + 120, 60)
             for o in (seen("n", t, probe="snmp", uptime_seconds=20.0 + t - 600), seen("n", t))]
    changes = [t for o in later if (t := apply(status, o, POLICY, liveness=o.probe == "reachability"))]
    assert [(t.old, t.new) for t in changes] == [(Health.DEGRADED, Health.UP)]
    assert status.reboots == 3 and status.reasons == ()
