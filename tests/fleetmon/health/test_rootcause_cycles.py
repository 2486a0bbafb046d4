"""A parent cycle that reached the store (the import refuses new ones) must not hide an outage."""

from __future__ import annotations

from fleetmon.health.machine import Policy, apply
from fleetmon.health.model import DeviceStatus, Health, Observation
from fleetmon.health.rootcause import resolve
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.result import ProbeStatus

POLICY = Policy()


def _fleet() -> dict[str, Device]:
    def dev(i: str, kind: DeviceKind, parent: str, host: str) -> Device:
        return Device(id=i, kind=kind, host=host, parent=parent, area="A", site=f"site-{i}")

    return {
        "nvr-a": dev("nvr-a", DeviceKind.NVR, "nvr-b", "127.0.0.1"),  # behind each other: a cycle
        "nvr-b": dev("nvr-b", DeviceKind.NVR, "nvr-a", "127.0.0.2"),
        "cam": dev("cam", DeviceKind.CAMERA, "nvr-a", "127.0.0.3"),  # hangs off the cycle
    }


def _sweep(statuses: dict[str, DeviceStatus], at: float, alive: bool) -> None:
    for device_id, status in statuses.items():
        obs = Observation(device_id=device_id, probe="reachability", at=at, duration_seconds=0.01, alive=alive,
                          status=ProbeStatus.OK if alive else ProbeStatus.TIMEOUT)
        apply(status, obs, POLICY, liveness=True)


def test_members_of_a_parent_cycle_going_offline_are_down_not_unreachable_behind_each_other() -> None:
    devices = _fleet()
    statuses = {i: DeviceStatus() for i in devices}
    for at, alive in ((0, True), (60, False), (120, False), (180, False)):
        _sweep(statuses, at, alive)
        resolve(devices, statuses, at, POLICY)
    assert statuses["nvr-a"].state is Health.DOWN
    assert statuses["nvr-b"].state is Health.DOWN
    assert statuses["cam"].state is Health.UNREACHABLE  # behind nvr-a, which is reported down


def test_cycle_members_already_unreachable_in_the_store_become_down() -> None:
    devices = _fleet()
    statuses = {i: DeviceStatus() for i in devices}
    for at in (0, 60, 120):
        _sweep(statuses, at, alive=False)
    for status in statuses.values():
        status.state = Health.UNREACHABLE  # as the previous version left them
    transitions = resolve(devices, statuses, 180, POLICY)
    assert {t.device_id: t.new for t in transitions} == {"nvr-a": Health.DOWN, "nvr-b": Health.DOWN}
