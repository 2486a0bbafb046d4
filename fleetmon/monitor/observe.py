"""From each protocol's typed result to the `Observation` health understands, in a technician's words.

This is where "what a probe found" becomes "what is wrong": a failed disk, footage that
stopped, a clock that drifted. One function per probe kind. Probes measure; the thresholds of
the configuration (`monitor.clock_skew_limit`, `recording_stale_after`, `retention_days`,
`volume_full_percent`) are applied here and nowhere else. A problem whose words carry a number
that moves from probe to probe is keyed (`Problem`), so health sees no change while it stays.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable

from fleetmon.config import MonitorConfig
from fleetmon.health.model import Observation
from fleetmon.probes.findings import Disk, Problem, Recording
from fleetmon.probes.registry import (
    CameraResult,
    OnvifResult,
    ReachabilityResult,
    RtspResult,
    SnapshotResult,
    SnmpResult,
    VendorHttpResult,
)
from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.target import Target

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


def _disks(found: Iterable[Disk]) -> tuple[Disk, ...]:
    """Named for a technician: a disk whose unit gave no name goes by its number."""
    return tuple(d if d.name else dataclasses.replace(d, name=d.id) for d in found)


def vendor_http(result: VendorHttpResult) -> Observation:
    if not result.ok:
        return failed(result, "recorder web API")
    return _base(result, alive=True, problems=tuple(result.problems), disks=_disks(result.disks))


def snmp(result: SnmpResult, target: Target, rules: MonitorConfig) -> Observation:
    """Uptime (reboots), volumes, disks, ports, clock and the unit's own verdict; for switches, liveness."""
    if not result.ok:
        return failed(result, "SNMP")
    problems = result.problems  # built afresh by the result, used once: extended in place, no copy on the hot path
    for v in result.volumes:
        if v.used_percent >= rules.volume_full_percent:
            problems.append(Problem(f"volume {v.name} {v.used_percent:.0f} % full", f"volume_full:{v.name}"))
    if result.clock_skew_seconds is not None:
        problems += _clock(result.clock_skew_seconds, rules.clock_skew_limit)
    problems += drift(target, result.identity.serial, result.identity.model)
    return _base(result, alive=True, problems=tuple(problems), uptime_seconds=result.uptime_seconds,
                 clock_skew_seconds=result.clock_skew_seconds, volumes=tuple(result.volumes) or None,
                 disks=_disks(result.disks) or None)


def _comparable(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def drift(target: Target, serial: str, model: str) -> list[Problem]:
    """What the answering unit says it is against what the inventory records: a swap, or a stale inventory.

    Spelling is not drift: case, spaces and dashes are ignored, and a model one side writes in full
    ("Hikvision DS-2CD2143G2-I") matches the other's shorter name. An empty side says nothing.
    """
    found = []
    if target.serial and serial and _comparable(serial) != _comparable(target.serial):
        found.append(Problem(f"unit swapped or inventory out of date: serial {serial} answers, the inventory has "
                             f"{target.serial}", "unit_swapped:serial"))
    said, recorded = _comparable(model), _comparable(target.model)
    if said and recorded and said not in recorded and recorded not in said:
        found.append(Problem(f"unit swapped or inventory out of date: model {model} answers, the inventory has "
                             f"{target.model}", "unit_swapped:model"))
    return found


def _clock(skew: float, limit: float) -> tuple[str, ...]:
    if abs(skew) <= limit:
        return ()
    return (Problem(f"clock {abs(skew):.0f} s {'ahead' if skew > 0 else 'behind'}: footage times are wrong", "clock_skew"),)


def _channels(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return f"channel {shown}" if len(names) == 1 else f"{len(names)} channels ({shown}{', ...' if len(names) > 3 else ''})"


def _footage(result: OnvifResult, rules: MonitorConfig) -> tuple[tuple[Recording, ...], tuple[str, ...]]:
    """Per channel: is footage still being written, and how far back it reaches (evidence police extract).

    Recorders free space a day at a time, so footage less than a day short of the required
    retention is normal churn, not a fault. Kept with the newest footage in fleetmon's clock.
    """
    skew = result.clock_skew_seconds or 0.0
    device_now = time.time() + skew
    recordings = []
    empty, stopped, short = [], [], []
    oldest_age, shortest = 0.0, float("inf")
    for found in result.recordings or ():
        if found.latest is None:
            empty.append(found.channel)
            continue
        age = found.age_seconds(device_now) or 0.0
        held = found.horizon_days(device_now)
        recordings.append(dataclasses.replace(found, latest=found.latest - skew))
        if age > rules.recording_stale_after:
            stopped.append(found.channel)
            oldest_age = max(oldest_age, age)
        elif held is not None and rules.retention_days and held + 1 < rules.retention_days:
            short.append(found.channel)
            shortest = min(shortest, held)
    problems = []
    if empty:
        problems.append(Problem(f"no footage at all on {_channels(empty)}", "footage_none:" + ",".join(empty)))
    if stopped:
        problems.append(Problem(f"recording stopped on {_channels(stopped)}: newest footage {oldest_age / 3600:.1f} h old",
                                "recording_stopped:" + ",".join(stopped)))
    if short:
        problems.append(Problem(f"only {shortest:.1f} days of footage on {_channels(short)} (required {rules.retention_days:g})",
                                "retention_short:" + ",".join(short)))
    return tuple(recordings), tuple(problems)


def onvif(result: OnvifResult, target: Target, rules: MonitorConfig, stream: RtspResult | None = None) -> Observation:
    """Clock, identity against the inventory, footage, and whether the video stream answers."""
    if not result.ok:
        return failed(result, "ONVIF")
    problems: list[str] = []
    if result.clock_skew_seconds is not None:
        problems += _clock(result.clock_skew_seconds, rules.clock_skew_limit)
    if result.identity:
        problems += drift(target, result.identity.serial, result.identity.model)
    recordings, footage_problems = _footage(result, rules)
    problems += footage_problems
    if stream is not None and not stream.ok:
        problems.append(f"video stream: {_UNANSWERED.get(stream.status, stream.status.value)}")
    return _base(result, alive=True, problems=tuple(problems), clock_skew_seconds=result.clock_skew_seconds,
                 recordings=recordings if result.recordings is not None else None)


def camera(result: CameraResult, target: Target, rules: MonitorConfig) -> Observation:
    """The ONVIF details with the stream check that followed them (see `onvif`)."""
    return onvif(result.onvif, target, rules, result.stream)


def snapshot(result: SnapshotResult) -> Observation:
    """Picture faults (black, frozen, blurred, covered, moved) with the check's own explanation."""
    if result.status is ProbeStatus.NOT_SUPPORTED:
        return _base(result, alive=False)  # no snapshot offered: nothing to judge, nothing wrong
    if result.status is ProbeStatus.AUTH_FAILED and not result.url:
        return _base(result, alive=False)  # no address tried: the ONVIF login was refused, and its observation says so
    if not result.ok:
        return failed(result, "snapshot")
    findings = result.assessment.findings if result.assessment else []
    return _base(result, alive=True, problems=tuple(Problem(f"picture {f.check}: {f.text}", f"picture_{f.check}") for f in findings),
                 image_faults=tuple(f.check for f in findings))
