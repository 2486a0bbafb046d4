"""What probes find, in types every protocol and every layer above share: one definition of each.

    DeviceIdentity   who a unit says it is (ONVIF GetDeviceInformation)
    Volume           a mounted filesystem (SNMP HOST-RESOURCES)
    Disk, DiskState  a recorder's disk (SNMP vendor and host tables, vendor HTTP APIs)
    Recording        one channel's footage on a recorder (ONVIF Profile G)
    ClockCorrection  what a probe did to a device's clock (ONVIF), for the caller to record
    Problem          a fault in a technician's words with a stable key: the words may carry a
                     number that moves between probes ("clock 601 s ahead"), the key does not

Probes measure; thresholds from the configuration (clock skew, footage age, volume fill) are
applied above them, in `fleetmon.monitor.observe`. Device health (`fleetmon.health`) keeps
these same types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.units import human_bytes

DiskState = Literal["ok", "failed", "full", "unformatted", "other"]

# A healthy disk with less free space than this share of its capacity is full: recorders
# overwrite the oldest footage, so their disks sit just under full and never report it.
FULL_BELOW_FREE_RATIO = 0.001


class Problem(str):
    """A problem in words, carrying `key`: which problem it is ("clock_skew", "disk_failed:2").

    A `str`, so it prints, joins and compares as its words; a plain `str` is its own key.
    Health compares keys: "clock 600 s ahead" then "clock 601 s ahead" is one problem, not a change.
    """

    key: str

    def __new__(cls, text: str, key: str = "") -> Problem:
        made = super().__new__(cls, text)
        made.key = key or text
        return made


def key_of(problem: str) -> str:
    """The stable key of a problem; a problem without one (a plain `str`) is keyed by its words."""
    return problem.key if isinstance(problem, Problem) else problem


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str


@dataclass(frozen=True, slots=True)
class Volume:
    """A mounted filesystem (fixed or network disk; RAM and swap are not volumes)."""

    name: str
    size_bytes: int
    used_bytes: int

    @property
    def used_percent(self) -> float:
        return 100.0 * self.used_bytes / self.size_bytes if self.size_bytes else 0.0


def disk_state(state: DiskState, capacity: int | None, free: int | None) -> DiskState:
    """A disk its vendor calls ok but that has no room left is full (see `FULL_BELOW_FREE_RATIO`)."""
    if state == "ok" and capacity and free is not None and free < capacity * FULL_BELOW_FREE_RATIO:
        return "full"
    return state


@dataclass(frozen=True, slots=True)
class Disk:
    """A recorder's disk: `state` normalised, `vendor_state` the word or code the unit gave."""

    id: str
    name: str
    state: DiskState
    vendor_state: str = ""
    capacity_bytes: int | None = None
    free_bytes: int | None = None

    def describe(self) -> Problem:
        """One line for a technician, e.g. "disk 2 (HDD2): failed (smartFailed), 1.2 of 3.6 TiB free",
        keyed by disk and state (the free space moves, the problem does not)."""
        named = f" ({self.name})" if self.name and self.name.lower() not in (f"disk {self.id}".lower(), self.id.lower()) else ""
        text = f"disk {self.id}{named}: {self.state}"
        if self.vendor_state and self.vendor_state.lower() != self.state:
            text += f" ({self.vendor_state})"
        if self.capacity_bytes:
            text += f", {human_bytes(self.free_bytes or 0)} of {human_bytes(self.capacity_bytes)} free"
        return Problem(text, f"disk_{self.state}:{self.id}")


@dataclass(frozen=True, slots=True)
class Recording:
    """One channel's footage. Times are unix seconds: in the device's clock as a probe reads them,
    in ours once the monitor has taken the device's clock skew off `latest`."""

    channel: str  # the recorded source (camera) as the recorder names it
    latest: float | None  # newest footage; None: the channel holds none
    earliest: float | None = None  # oldest footage still held (the retention horizon)
    token: str = ""
    status: str = ""  # ONVIF RecordingStatus: Recording, Stopped, Initiated, Removing, Unknown...

    def age_seconds(self, now: float) -> float | None:
        """How old the newest footage is, as of `now` (in the same clock)."""
        return now - self.latest if self.latest is not None else None

    def horizon_days(self, now: float) -> float | None:
        """How far back the footage reaches."""
        return (now - self.earliest) / 86400 if self.earliest is not None else None


@dataclass(frozen=True, slots=True)
class ClockCorrection:
    device_id: str
    status: ProbeStatus
    method: Literal["none", "manual", "ntp"]  # what was set; "none" when the clock was right or unknown
    skew_before: float | None = None  # device clock minus ours, seconds
    skew_after: float | None = None
    error: str = ""

    @property
    def corrected(self) -> bool:
        return self.status is ProbeStatus.OK and self.method != "none"
