"""Device health as the rest of fleetmon sees it: observations in, states and transitions out.

    Observation   what one probe of one device found, reduced to what health needs
                  (made from a probe's typed result by `fleetmon.monitor.observe`); its
                  findings are the probes' own types (`fleetmon.probes.findings`)
    DeviceStatus  the monitor's memory of one device; also what the Collector renders
    Transition    one change of state, with its reason and likely cause: the only thing that
                  fans out (state-change log, tickets, notifications)

DeviceStatus is kept small (slots, tuples, packed probe counters, shared empties): a province
holds 136,000 of them.
"""

from __future__ import annotations

import enum
import math
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

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


class ProbeStats(NamedTuple):
    """Per device and probe kind: what the exporter renders as counters and gauges (read from a
    `ProbeLedger`; a tuple, as a scrape makes one per device and probe)."""

    last_status: ProbeStatus | None = None
    last_success: float | None = None
    last_duration: float = 0.0
    runs: int = 0
    fail_streak: int = 0
    failures: Mapping[str, int] = NO_FAILURES  # by status


STATUSES = tuple(ProbeStatus)  # a record's status code -> status (-1: none yet)
_STATUS_INDEX = {status: i for i, status in enumerate(STATUSES)}
# Per probe: last success (NaN: never), last duration, runs, fail streak, last status (-1: none).
_RECORD = struct.Struct("<ddIIb")
_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per list of probe names, shared by devices
_NO_PROBE_FAILURES: Mapping[str, Mapping[str, int]] = MappingProxyType({})


class ProbeLedger(Mapping[str, ProbeStats]):
    """One device's `ProbeStats` by probe, packed in a bytes string and replaced, never changed.

    A province keeps one per device: as a dict of `ProbeStats` objects (each with its floats and
    ints) a camera's three probes held ~510 bytes, packed ~180 (tracemalloc over 136,923 statuses).
    Readers (a scrape on another thread, the console) may keep one as long as they like: it
    never moves under them.
    """

    __slots__ = ("failures", "names", "packed")

    def __init__(self, names: tuple[str, ...] = (), packed: bytes = b"",
                 failures: Mapping[str, Mapping[str, int]] = _NO_PROBE_FAILURES) -> None:
        self.names = names
        self.packed = packed
        self.failures = failures  # counts by status, only for probes that ever failed

    @classmethod
    def of(cls, stats: Mapping[str, ProbeStats]) -> ProbeLedger:
        ledger = cls()
        for probe, s in stats.items():
            record = _RECORD.pack(math.nan if s.last_success is None else s.last_success, s.last_duration, s.runs,
                                  s.fail_streak, -1 if s.last_status is None else _STATUS_INDEX[s.last_status])
            failures = {**ledger.failures, probe: s.failures} if s.failures else ledger.failures
            ledger = ledger._with(probe, record, failures)
        return ledger

    def recorded(self, probe: str, status: ProbeStatus, at: float, duration: float) -> ProbeLedger:
        """This ledger with one more run of `probe`."""
        success, runs, streak = math.nan, 0, 0
        if probe in self.names:
            success, _, runs, streak, _ = _RECORD.unpack_from(self.packed, self.names.index(probe) * _RECORD.size)
        failures = self.failures
        if status is ProbeStatus.OK:
            success, streak = at, 0
        else:
            streak += 1
            counts = failures.get(probe, NO_FAILURES)
            failures = {**failures, probe: {**counts, status.value: counts.get(status.value, 0) + 1}}
        return self._with(probe, _RECORD.pack(success, duration, runs + 1, streak, _STATUS_INDEX[status]), failures)

    def _with(self, probe: str, record: bytes, failures: Mapping[str, Mapping[str, int]]) -> ProbeLedger:
        if probe in self.names:
            at = self.names.index(probe) * _RECORD.size
            return ProbeLedger(self.names, self.packed[:at] + record + self.packed[at + _RECORD.size:], failures)
        names = self.names + (probe,)
        return ProbeLedger(_NAMES.setdefault(names, names), self.packed + record, failures)

    def __getitem__(self, probe: str) -> ProbeStats:
        if probe not in self.names:
            raise KeyError(probe)
        return self._stats(probe, _RECORD.unpack_from(self.packed, self.names.index(probe) * _RECORD.size))

    def records(self) -> Iterator[tuple[str, tuple[float, float, int, int, int]]]:
        """Each probe's packed record, unpacked in one pass: (last success, NaN if never; last
        duration; runs; fail streak; status code, see `STATUSES`), for a scrape's loop: made into
        `ProbeStats`, a render of 14,976 devices took 0.46 s instead of 0.42. Failure counts are
        `failures`."""
        return zip(self.names, _RECORD.iter_unpack(self.packed), strict=True)

    def _stats(self, probe: str, record: tuple[Any, ...]) -> ProbeStats:
        success, duration, runs, streak, status = record
        never = success != success  # NaN
        return ProbeStats(None if status < 0 else STATUSES[status], None if never else success, duration, runs, streak,
                          self.failures.get(probe, NO_FAILURES))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"ProbeLedger({dict(self.items())!r})"


NO_PROBES = ProbeLedger()
NO_PROBLEMS: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@dataclass(slots=True)
class DeviceStatus:
    state: Health = Health.UNKNOWN
    since: float = 0.0
    reasons: tuple[str, ...] = ()
    cause: Cause = Cause.NONE
    fail_streak: int = 0
    ok_streak: int = 0
    # Shared empties until something is found: both are replaced, never changed.
    problems: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: NO_PROBLEMS)  # by probe
    probes: ProbeLedger = field(default_factory=lambda: NO_PROBES)
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
