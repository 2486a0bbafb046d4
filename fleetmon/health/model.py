"""Device health as the rest of fleetmon sees it: observations in, states and transitions out.

    Observation   what one probe of one device found, reduced to what health needs
                  (made from a probe's typed result by `fleetmon.monitor.observe`); its
                  findings are the probes' own types (`fleetmon.probes.findings`)
    DeviceStatus  the monitor's memory of one device; also what the Collector renders
    Transition    one change of state, with its reason and likely cause: the only thing that
                  fans out (state-change log, tickets, notifications)

DeviceStatus is kept small (slots, tuples): a province holds 136,000 of them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from fleetmon.probes.findings import Disk, Recording, Volume
from fleetmon.probes.result import ProbeStatus


class Health(enum.StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    UNREACHABLE = "unreachable"  # behind a parent (NVR, uplink) that is down
    UNKNOWN = "unknown"  # not observed yet, or the monitor itself was not running


HEALTH_ORDER = (Health.UP, Health.DEGRADED, Health.DOWN, Health.UNREACHABLE, Health.UNKNOWN)


class Cause(enum.StrEnum):
    """The likely cause of an outage, recorded with it (reports split downtime by this)."""

    NONE = ""
    DEVICE = "device"
    NETWORK = "network"  # its uplink or recorder is down, or the whole site dropped
    POWER = "power"  # the whole site dropped and came back with reset uptimes
    MONITOR = "monitor"  # fleetmon was not running: the time is unknown, not up


@dataclass(frozen=True, slots=True)
class Observation:
    """One probe's findings. `alive` says whether the device answered at all (liveness);
    `problems` are degradations in words a technician understands ("disk 2 failed"), each a
    `fleetmon.probes.findings.Problem` with a stable key where its words carry a moving number.
    `recordings` are in fleetmon's clock (the device's skew taken off)."""

    device_id: str
    probe: str
    status: ProbeStatus
    at: float
    duration_seconds: float
    alive: bool
    problems: tuple[str, ...] = ()
    uptime_seconds: float | None = None
    clock_skew_seconds: float | None = None
    volumes: tuple[Volume, ...] | None = None
    disks: tuple[Disk, ...] | None = None
    recordings: tuple[Recording, ...] | None = None
    image_faults: tuple[str, ...] | None = None
    error: str = ""


NO_FAILURES: Mapping[str, int] = MappingProxyType({})


@dataclass(slots=True)
class ProbeStats:
    """Per device and probe kind: what the exporter renders as counters and gauges."""

    last_status: ProbeStatus | None = None
    last_success: float | None = None
    last_duration: float = 0.0
    runs: int = 0
    fail_streak: int = 0
    # By status. Shared and empty until the probe first fails (most devices never do): 136,000 devices
    # would otherwise hold five empty dicts each.
    failures: Mapping[str, int] = field(default_factory=lambda: NO_FAILURES)


@dataclass(slots=True)
class DeviceStatus:
    state: Health = Health.UNKNOWN
    since: float = 0.0
    reasons: tuple[str, ...] = ()
    cause: Cause = Cause.NONE
    fail_streak: int = 0
    ok_streak: int = 0
    problems: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by probe
    probes: dict[str, ProbeStats] = field(default_factory=dict)
    uptime_seconds: float | None = None
    uptime_at: float | None = None
    reboots: int = 0
    recent_reboots: tuple[float, ...] = ()
    recent_changes: tuple[float, ...] = ()
    flapping: bool = False
    clock_skew_seconds: float | None = None
    volumes: tuple[Volume, ...] = ()
    disks: tuple[Disk, ...] = ()
    recordings: tuple[Recording, ...] = ()
    image_faults: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    device_id: str
    at: float
    old: Health
    new: Health
    reason: str
    cause: Cause = Cause.NONE
    # What each probe found wrong at that moment, as (probe, key, words): a restarted monitor starts
    # from these, so a degraded unit stays degraded until its probes look again (not unknown → up → degraded).
    problems: tuple[tuple[str, str, str], ...] = ()
