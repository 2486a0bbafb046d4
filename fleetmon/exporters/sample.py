"""Monitor views shaped like a province in service: what the exporter renders, without a fleet.

The counterpart of `fleetmon.inventory.sample` for the exporter's tests and the scrape benchmark,
which measure the same views without one importing the other. Every kind of fact the exporter
renders occurs: NVRs with volumes, disks and a recording per channel, cameras with clock skew and
picture faults, devices down, degraded and unknown.
"""

from __future__ import annotations

import random

from fleetmon.health.model import NO_PROBES, Cause, DeviceStatus, Health, ProbeLedger, ProbeStats
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.monitor.view import MonitorView, SweepStats
from fleetmon.probes.findings import Disk, Recording, Volume
from fleetmon.probes.result import ProbeStatus

NOW = 1_790_000_000.0
TB = 1_000_000_000_000
PROBES = {
    DeviceKind.CAMERA: ("reachability", "onvif", "snapshot"),
    DeviceKind.NVR: ("reachability", "snmp", "vendor_http"),
    DeviceKind.SWITCH: ("snmp",),
    DeviceKind.OTHER: ("reachability",),
}


def _probes(kind: DeviceKind, working: bool, rng: random.Random) -> ProbeLedger:
    out = {}
    for probe in PROBES[kind]:
        runs = rng.randint(100, 5000)
        failed = rng.randint(0, 20) + (0 if working else 3)
        out[probe] = ProbeStats(
            last_status=ProbeStatus.OK if working else rng.choice((ProbeStatus.TIMEOUT, ProbeStatus.REFUSED)),
            last_success=NOW - rng.uniform(1, 60) - (0 if working else 3600),
            last_duration=rng.uniform(0.001, 0.4),
            runs=runs,
            failures={"timeout": failed, "refused": failed // 3} if failed else {},
        )
    return ProbeLedger.of(out)


def _status(device: Device, rng: random.Random) -> DeviceStatus:
    roll = rng.random()
    state = Health.UP if roll < 0.93 else Health.DEGRADED if roll < 0.96 else Health.DOWN if roll < 0.985 else Health.UNKNOWN
    working = state in (Health.UP, Health.DEGRADED)
    status = DeviceStatus(state=state, since=NOW - rng.uniform(0, 30 * 86400),
                          cause=Cause.DEVICE if state is Health.DOWN else Cause.NONE,
                          probes=_probes(device.kind, working, rng) if state is not Health.UNKNOWN else NO_PROBES,
                          reboots=rng.randint(0, 12))
    if state is Health.UNKNOWN:
        return status
    status.uptime_seconds = rng.uniform(60, 90 * 86400)
    if device.kind is DeviceKind.CAMERA:
        status.clock_skew_seconds = rng.gauss(0, 2)
        if state is Health.DEGRADED:
            status.image_faults = (rng.choice(("blank", "frozen", "covered", "blurred", "moved")),)
    if device.kind is DeviceKind.NVR:
        size = rng.choice((4, 8, 16)) * TB
        status.volumes = tuple(Volume(f"volume{i}", size, int(size * rng.uniform(0.5, 1.0))) for i in (1, 2))
        status.disks = tuple(Disk(str(i), f"hdd{i}", "failed" if state is Health.DEGRADED and i == 1 else "ok",
                                  capacity_bytes=size // 2, free_bytes=int(size // 2 * rng.uniform(0, 0.3))) for i in (1, 2, 3, 4))
        status.recordings = tuple(Recording(f"ch{c}", NOW - rng.uniform(0, 120), NOW - rng.uniform(20, 40) * 86400)
                                  for c in range(1, 17 if "16" in device.model else 33))
    return status


def province_view(cameras: int = 14_053, seed: int = 6) -> MonitorView:
    """A worker probing the whole sample province of `cameras` cameras (plus NVRs and switches)."""
    rng = random.Random(seed)
    devices = {d.id: d for d in sample_fleet(cameras)}
    view = MonitorView(worker_id="worker-a", devices=devices, started_at=NOW - 86400)
    view.statuses = {i: _status(d, rng) for i, d in devices.items()}
    view.sweeps = {
        "reachability": SweepStats("reachability", 60.0, NOW - 30, 48.2, len(devices), 1440, 1, 12, 0.004),
        "snmp": SweepStats("snmp", 60.0, NOW - 20, 11.5, 923, 1440, 0, 3, 0.002),
    }
    return view
