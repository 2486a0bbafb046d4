"""The emulated fleet: every inventory device as an `EmulatedDevice`, found by its address.

Servers bind one wildcard socket per port and ask `Fleet.at(local_address)` which device a
request reached, so 100,000 devices cost a handful of sockets, not 300,000.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.simulator.state import Disk, EmulatedDevice

TIB = 1 << 40


def _disks_for(device: Device, rng: random.Random) -> list[Disk]:
    """NVRs get 2-4 disks of 2-8 TiB, 40-90 % full; other kinds hold no recordings."""
    if device.kind is not DeviceKind.NVR:
        return []
    disks = []
    for _ in range(rng.randint(2, 4)):
        capacity = rng.choice((2, 4, 6, 8)) * TIB
        disks.append(Disk(capacity_bytes=capacity, used_bytes=int(capacity * rng.uniform(0.4, 0.9))))
    return disks


@dataclass(slots=True)
class Fleet:
    devices: dict[str, EmulatedDevice] = field(default_factory=dict)  # by device id
    by_host: dict[str, EmulatedDevice] = field(default_factory=dict)

    @classmethod
    def from_inventory(cls, inventory: Iterable[Device], seed: int = 1) -> Fleet:
        """Deterministic per device id: the same inventory gives the same disks and boot times."""
        fleet = cls()
        now = time.time()
        for device in inventory:
            rng = random.Random(f"{seed}:{device.id}")
            emulated = EmulatedDevice(
                device=device,
                boot_time=now - rng.uniform(3600, 90 * 86400),
                disks=_disks_for(device, rng),
            )
            fleet.devices[device.id] = emulated
            fleet.by_host[device.host] = emulated
        for emulated in fleet.devices.values():
            emulated.parent = fleet.devices.get(emulated.device.parent)
        return fleet

    def at(self, host: str) -> EmulatedDevice | None:
        return self.by_host.get(host)
