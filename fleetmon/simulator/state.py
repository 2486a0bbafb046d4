"""The emulated fleet's state: each device's identity, clock, disks and active faults.

Every protocol server of the simulator (SNMP, ONVIF/HTTP, RTSP) asks this module how a device
behaves *now*; faults are set here, by the control API or at start-up, and cleared here.
"""

from __future__ import annotations

import enum
import random
import time
from dataclasses import dataclass, field

from fleetmon.inventory.model import Device, DeviceKind


class Fault(enum.StrEnum):
    OFFLINE = "offline"  # no answer at all
    REFUSED = "refused"  # TCP connections reset, SNMP silent
    SLOW = "slow"  # param: delay in seconds before each answer
    HANG = "hang"  # accepts and never answers
    WRONG_PASSWORD = "wrong_password"  # the unit's password was changed: every login fails
    DISK_FAILED = "disk_failed"  # param: index of the failed disk (default 0)
    DISK_FULL = "disk_full"
    RECORDING_STOPPED = "recording_stopped"
    CLOCK_SKEW = "clock_skew"  # param: seconds the device clock is off (default 600)
    REBOOT = "reboot"  # one-off: uptime resets now (not kept as an active fault)
    REBOOT_LOOP = "reboot_loop"  # param: seconds between reboots (default 120)
    FLAPPING = "flapping"  # param: seconds of each up/down half-period (default 30)
    PACKET_LOSS = "packet_loss"  # param: percent of requests dropped
    SNAPSHOT_BLACK = "snapshot_black"
    SNAPSHOT_FROZEN = "snapshot_frozen"
    SNAPSHOT_BLURRED = "snapshot_blurred"
    SNAPSHOT_COVERED = "snapshot_covered"
    SCENE_MOVED = "scene_moved"
    PARENT_DOWN = "parent_down"  # sets OFFLINE on the device's parent
    # Hostile units (`fleetmon.simulator.hostile`): what a broken or malicious device sends back.
    DRIP = "drip"  # param: seconds between the bytes of every web answer, one at a time (default 0.5)
    HUGE_REPLY = "huge_reply"  # param: MB of XML every web answer streams, chunked, no length (default 100)
    XML_BOMB = "xml_bomb"  # every web answer is an entity bomb (billion laughs)
    GARBAGE_BER = "garbage_ber"  # every SNMP answer is malformed BER (a varbind list claiming 4 GiB)


DEFAULT_PARAM: dict[Fault, float] = {
    Fault.SLOW: 2.0,
    Fault.DISK_FAILED: 0,
    Fault.CLOCK_SKEW: 600.0,
    Fault.REBOOT_LOOP: 120.0,
    Fault.FLAPPING: 30.0,
    Fault.PACKET_LOSS: 10.0,
    Fault.DRIP: 0.5,
    Fault.HUGE_REPLY: 100.0,
}


@dataclass(slots=True)
class Disk:
    capacity_bytes: int
    used_bytes: int
    failed: bool = False


@dataclass(slots=True)
class EmulatedDevice:
    """One device of the fleet. `boot_time` is wall-clock seconds; uptime derives from it."""

    device: Device
    boot_time: float
    disks: list[Disk] = field(default_factory=list)
    faults: dict[Fault, float] = field(default_factory=dict)
    parent: EmulatedDevice | None = None

    def param(self, fault: Fault) -> float:
        return self.faults.get(fault, DEFAULT_PARAM.get(fault, 0.0))

    def uptime_seconds(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        if Fault.REBOOT_LOOP in self.faults:
            period = max(self.param(Fault.REBOOT_LOOP), 1.0)
            return (now - self.boot_time) % period
        return now - self.boot_time

    def clock(self, now: float | None = None) -> float:
        """The device's own wall clock, skewed when CLOCK_SKEW is set."""
        now = time.time() if now is None else now
        return now + self.faults.get(Fault.CLOCK_SKEW, 0.0)

    def answers(self, now: float | None = None, rng: random.Random | None = None) -> bool:
        """Whether a request reaching this device gets any answer now (offline, parent, flapping, loss)."""
        if Fault.OFFLINE in self.faults:
            return False
        if self.parent is not None and not self.parent.answers(now, rng=None):
            return False
        now = time.time() if now is None else now
        if Fault.FLAPPING in self.faults:
            half = max(self.param(Fault.FLAPPING), 1.0)
            if int(now // half) % 2:
                return False
        if Fault.PACKET_LOSS in self.faults and rng is not None:
            return rng.random() * 100.0 >= self.param(Fault.PACKET_LOSS)
        return True

    @property
    def is_nvr(self) -> bool:
        return self.device.kind is DeviceKind.NVR
