"""From each protocol's typed result to the `Observation` health understands, in a technician's words.

This is where "what a probe found" becomes "what is wrong": a failed disk, footage that
stopped, a clock that drifted. One function per probe kind, all of one shape.
"""

from __future__ import annotations

import time

from collections.abc import Iterable

from fleetmon.health.model import DiskHealth, Observation, Volume
from probes.reachability import ReachabilityResult
from probes.result import ProbeResult, ProbeStatus
from probes.snmp import SnmpResult
from probes.vendor_http import Disk, VendorHttpResult

_UNANSWERED = {
    ProbeStatus.TIMEOUT: "not answering",
    ProbeStatus.REFUSED: "refusing connections",
    ProbeStatus.UNREACHABLE: "unreachable",
    ProbeStatus.AUTH_FAILED: "rejecting fleetmon's login (password changed?)",
    ProbeStatus.PROTOCOL_ERROR: "answering with garbage",
    ProbeStatus.NOT_SUPPORTED: "not offering it",
}


def _base(result: ProbeResult, alive: bool, problems: tuple[str, ...] = (), **facts: object) -> Observation:
    return Observation(
        device_id=result.device_id, probe=result.probe, status=result.status, at=time.time(),
        duration_seconds=result.duration_seconds, alive=alive, problems=problems, error=result.error, **facts,  # type: ignore[arg-type]
    )


def failed(result: ProbeResult, what: str) -> Observation:
    """A probe that got no usable answer: named as a problem, in words."""
    return _base(result, alive=False, problems=(f"{what}: {_UNANSWERED.get(result.status, result.status.value)}",))


def reachability(result: ReachabilityResult) -> Observation:
    """Alive when a service port answers. A ping alone is not alive: a camera whose ONVIF and
    RTSP are dead records nothing, whatever its network stack says."""
    services = [c for c in result.checks if c.name != "icmp"]
    answering = [c for c in services if c.status is ProbeStatus.OK]
    if not answering:
        pinged = any(c.name == "icmp" and c.status is ProbeStatus.OK for c in result.checks)
        note = "answers ping but none of its service ports" if pinged else "none of its service ports answer"
        return _base(result, alive=False, problems=(note,))
    problems = tuple(f"port {c.name} {_UNANSWERED.get(c.status, c.status.value)}" for c in services if c.status is not ProbeStatus.OK)
    return _base(result, alive=True, problems=problems)


def _disks(found: Iterable[Disk]) -> tuple[DiskHealth, ...]:
    return tuple(DiskHealth(d.name or d.id, d.state, d.capacity_bytes, d.free_bytes) for d in found)


def vendor_http(result: VendorHttpResult) -> Observation:
    if not result.ok:
        return failed(result, "recorder web API")
    return _base(result, alive=True, problems=tuple(result.problems), disks=_disks(result.disks))


def snmp(result: SnmpResult) -> Observation:
    """Uptime (reboots), volumes, disks, ports and the unit's own verdict; for switches, liveness."""
    if not result.ok:
        return failed(result, "SNMP")
    volumes = tuple(Volume(v.name, v.size_bytes, v.used_bytes) for v in result.volumes)
    return _base(result, alive=True, problems=tuple(result.problems), uptime_seconds=result.uptime_seconds,
                 clock_skew_seconds=result.clock_offset_seconds, volumes=volumes or None,
                 disks=_disks(result.disks) or None)
