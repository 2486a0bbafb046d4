"""What the running monitor shows the outside: the exporter, the console and `fleetmon status` read this.

The monitor mutates `statuses` on its event loop. Readers on another thread take `snapshot()`,
a shallow copy made on the loop, so a scrape never sees a half-applied sweep and never blocks
probing for longer than the copy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fleetmon.health.model import DeviceStatus
from fleetmon.inventory.model import Device


@dataclass(slots=True)
class SweepStats:
    probe: str
    interval_seconds: float
    last_started: float | None = None
    last_duration_seconds: float | None = None
    last_devices: int = 0
    sweeps: int = 0
    overruns: int = 0  # sweeps skipped because the previous one was still running
    in_flight: int = 0
    lag_seconds: float = 0.0  # how late the scheduler started the last sweep


@dataclass(slots=True)
class MonitorView:
    worker_id: str
    devices: Mapping[str, Device] = field(default_factory=dict)  # every device this worker knows
    statuses: dict[str, DeviceStatus] = field(default_factory=dict)  # the devices this worker probes
    sweeps: dict[str, SweepStats] = field(default_factory=dict)
    started_at: float = 0.0
    transitions_pending: int = 0  # health changes waiting for the state-change log
    transitions_dropped: int = 0  # changes never logged: the wait buffer overflowed
    loop_lag_seconds: float = 0.0  # worst lateness of the loop's 1-second timer over the last minute
    probed: int | None = None  # devices this worker probes, when `statuses` holds only some of them (a snapshot of one area)
    # Fleet-wide ticket counts, replaced whole by fleetmon.alerts after each engine step (so shared, not copied):
    # open tickets by (area, kind, severity, state), and SLA breaches of open tickets by (area, sla).
    tickets: Mapping[tuple[str, str, str, str], int] = field(default_factory=dict)
    ticket_sla_breaches: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def snapshot(self, only: Callable[[str], bool] | None = None) -> MonitorView:
        """A copy safe to read from another thread (statuses copied one level deep).

        `only` picks the devices whose status is copied: a district's scrape of a 136,000-device
        worker copies its district, not the province.
        """
        return MonitorView(
            worker_id=self.worker_id,
            devices=self.devices,
            statuses={k: copy.copy(v) for k, v in self.statuses.items() if only is None or only(k)},
            probed=len(self.statuses),
            sweeps={k: copy.copy(v) for k, v in self.sweeps.items()},
            started_at=self.started_at,
            transitions_pending=self.transitions_pending,
            transitions_dropped=self.transitions_dropped,
            loop_lag_seconds=self.loop_lag_seconds,
            tickets=self.tickets,
            ticket_sla_breaches=self.ticket_sla_breaches,
        )
