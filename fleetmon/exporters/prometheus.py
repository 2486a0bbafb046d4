"""fleetmon's metrics, defined once as data and rendered two ways from one monitor snapshot.

    FAMILIES        every metric family: name, type, help, label names, and a function that
                    yields its samples from a `Scope` (the snapshot, narrowed to an area)
    FleetCollector  the prometheus_client Collector over those families (for a registry)
    render          the same exposition written straight to text, byte for byte what
                    `generate_latest` makes of FleetCollector, several times faster: a province
                    scrape must not hold the interpreter for seconds while probes wait

Per-device series carry `device` and at most one more small label (`probe`, `volume`, `disk`,
`channel`, `fault`); what describes a device (area, site, kind, vendor, model, firmware,
funding, parent) is in `fleetmon_device_info`, joined with `group_left` in PromQL. Counts by area
and site are aggregated here, so availability rules never join 100,000 device series.
Nothing here does I/O: a scrape reads memory only. Enum members (StrEnum) are label values as
they are: `.value` on 150,000 devices is a measurable share of a scrape.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from fleetmon.health.model import STATUSES, DeviceStatus, Health
from fleetmon.inventory.model import AREA_SEPARATOR, Device, split_area_path
from fleetmon.monitor.view import MonitorView
from fleetmon.probes.findings import Disk, Recording, Volume

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

AVAILABLE = (Health.UP, Health.DEGRADED)  # a degraded camera still delivers footage

Sample = tuple[tuple[str, ...], float]


@dataclass(frozen=True, slots=True)
class Member:
    """One device in the scope, with what the exporter needs of its inventory row."""

    id: str
    device: Device | None
    status: DeviceStatus
    area: str  # the area path as a label: "Thanh Hóa / Thọ Xuân / Xuân Lập"


@dataclass(slots=True)
class ProbeTotals:
    """The scope's probe statistics summed in one pass, for the aggregated probe families (and
    each device's last successes, read in the same pass)."""

    runs: Counter[str] = field(default_factory=Counter)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    last_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    durations: dict[str, list[float]] = field(default_factory=dict)
    last_success: list[Sample] = field(default_factory=list)  # ((device, probe), time)


@dataclass(slots=True)
class Scope:
    """What one scrape renders: the snapshot's devices under one area (all of them by default)."""

    view: MonitorView
    members: list[Member] = field(default_factory=list)
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)  # area label -> names from the root
    prefix: tuple[str, ...] = ()  # the area scraped, names from the root (all areas when empty)
    _probe_totals: ProbeTotals | None = None

    @classmethod
    def of(cls, view: MonitorView, area: str = "") -> Scope:
        prefix = split_area_path(area)
        labels: dict[str, str | None] = {}  # raw inventory area -> label, None if outside the scope
        scope = cls(view, prefix=prefix)
        for device_id, status in view.statuses.items():
            device = view.devices.get(device_id)
            raw = device.area if device is not None else ""
            if raw not in labels:  # a few hundred distinct areas: split each once
                path = split_area_path(raw)
                joined = AREA_SEPARATOR.join(path)
                labels[raw] = joined if path[: len(prefix)] == prefix else None
                scope.paths[joined] = path
            label = labels[raw]
            if label is not None:
                scope.members.append(Member(device_id, device, status, label))
        return scope

    def probe_totals(self) -> ProbeTotals:
        if self._probe_totals is None:
            totals = ProbeTotals()
            for m in self.members:
                probes = m.status.probes
                for probe, (success, duration, runs, _, status) in probes.records():
                    if success == success:  # not NaN: it has succeeded
                        totals.last_success.append(((m.id, probe), success))
                    totals.runs[probe] += runs
                    if status >= 0:
                        totals.last_status[(probe, STATUSES[status])] += 1
                    if runs:
                        totals.durations.setdefault(probe, []).append(duration)
                for probe, counts in probes.failures.items():
                    for reason, n in counts.items():
                        totals.failures[(probe, reason)] += n
            self._probe_totals = totals
        return self._probe_totals


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family. `labels` are in sorted order, as the text format writes them."""

    name: str  # as exposed: counters end in _total
    type: str  # "gauge" or "counter"
    help: str
    labels: tuple[str, ...]
    samples: Callable[[Scope], Iterable[Sample]]

    def __post_init__(self) -> None:
        if list(self.labels) != sorted(self.labels):
            raise ValueError(f"{self.name}: label names must be sorted")
        if (self.type == "counter") != self.name.endswith("_total"):
            raise ValueError(f"{self.name}: counters, and only counters, end in _total")


# -- per device ------------------------------------------------------------------------------


def _info(scope: Scope) -> Iterator[Sample]:
    for m in scope.members:
        d = m.device
        if d is None:  # dropped from the inventory since the last refresh
            yield (m.area, m.id, "", "", "", "", "", "", ""), 1.0
            continue
        yield (m.area, m.id, d.firmware, d.funding or "", d.kind, d.model, d.parent, d.site, d.vendor), 1.0


def _up(scope: Scope) -> Iterator[Sample]:
    for m in scope.members:
        if m.status.state is not Health.UNKNOWN:
            yield (m.id,), 1.0 if m.status.state in AVAILABLE else 0.0


def _state(scope: Scope) -> Iterator[Sample]:
    for m in scope.members:
        yield (m.status.cause, m.id, m.status.state), 1.0


def _per_device(value: Callable[[DeviceStatus], float | None]) -> Callable[[Scope], Iterator[Sample]]:
    """Samples labelled by device alone; a None value (never reported) is left out."""
    def samples(scope: Scope) -> Iterator[Sample]:
        for m in scope.members:
            v = value(m.status)
            if v is not None:
                yield (m.id,), v

    return samples


def _image_faults(scope: Scope) -> Iterator[Sample]:
    for m in scope.members:
        for fault in m.status.image_faults:
            yield (m.id, fault), 1.0


def _probe_last_success(scope: Scope) -> Iterable[Sample]:
    return scope.probe_totals().last_success


def _per_volume(value: Callable[[Volume], float]) -> Callable[[Scope], Iterator[Sample]]:
    def samples(scope: Scope) -> Iterator[Sample]:
        for m in scope.members:
            for v in m.status.volumes:
                yield (m.id, v.name), value(v)

    return samples


def _disk_state(scope: Scope) -> Iterator[Sample]:
    for m in scope.members:
        for d in m.status.disks:
            yield (m.id, d.name, d.state), 1.0


def _per_disk(value: Callable[[Disk], int | None]) -> Callable[[Scope], Iterator[Sample]]:
    def samples(scope: Scope) -> Iterator[Sample]:
        for m in scope.members:
            for d in m.status.disks:
                v = value(d)
                if v is not None:
                    yield (m.id, d.name), float(v)

    return samples


def _per_channel(value: Callable[[Recording], float | None]) -> Callable[[Scope], Iterator[Sample]]:
    def samples(scope: Scope) -> Iterator[Sample]:
        for m in scope.members:
            for r in m.status.recordings:
                v = value(r)
                if v is not None:
                    yield (r.channel, m.id), v

    return samples


# -- aggregated over the scope ----------------------------------------------------------------


def _area_devices(scope: Scope) -> Iterator[Sample]:
    """Devices by state in every area's subtree (a district counts its communes' devices)."""
    by_leaf: Counter[tuple[str, str, str]] = Counter()
    for m in scope.members:
        by_leaf[(m.area, m.device.kind if m.device is not None else "", m.status.state)] += 1
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for (area, kind, state), n in by_leaf.items():
        path = scope.paths[area]
        for depth in range(1, len(path) + 1):
            counts[(AREA_SEPARATOR.join(path[:depth]), str(depth), kind, state)] += n
    for key in sorted(counts):
        yield key, float(counts[key])


def _site_devices(scope: Scope) -> Iterator[Sample]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for m in scope.members:
        if m.device is not None and m.device.site:
            counts[(m.area, m.device.site, m.status.state)] += 1
    for key in sorted(counts):
        yield key, float(counts[key])


DURATION_QUANTILES = (0.5, 0.9, 0.99, 1.0)


def _probe_durations(scope: Scope) -> Iterator[Sample]:
    """Quantiles of the latest probe durations: how slow the fleet answers, without a series per device."""
    durations = scope.probe_totals().durations
    for probe in sorted(durations):
        ordered = sorted(durations[probe])
        for q in DURATION_QUANTILES:
            yield (probe, str(q)), ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _totals(pick: Callable[[ProbeTotals], Counter[Any]]) -> Callable[[Scope], Iterator[Sample]]:
    def samples(scope: Scope) -> Iterator[Sample]:
        counts = pick(scope.probe_totals())
        for key in sorted(counts):
            yield (key if isinstance(key, tuple) else (key,)), float(counts[key])

    return samples


# -- fleetmon itself ----------------------------------------------------------------------------


def _sweep_field(attribute: str) -> Callable[[Scope], Iterator[Sample]]:
    def samples(scope: Scope) -> Iterator[Sample]:
        for name in sorted(scope.view.sweeps):
            value = getattr(scope.view.sweeps[name], attribute)
            if value is not None:
                yield (name,), float(value)

    return samples


def _worker(value: Callable[[MonitorView], float]) -> Callable[[Scope], Iterator[Sample]]:
    def samples(scope: Scope) -> Iterator[Sample]:
        yield (scope.view.worker_id,), value(scope.view)

    return samples


# -- tickets (counted by fleetmon.alerts, fleet-wide: every worker exports the same numbers) --------


def _in_scope(scope: Scope, area: str) -> bool:
    return split_area_path(area)[: len(scope.prefix)] == scope.prefix


def _tickets_open(scope: Scope) -> Iterator[Sample]:
    for (area, kind, severity, state), n in sorted(scope.view.tickets.items()):
        if _in_scope(scope, area):
            yield (area, kind, severity, state), float(n)


def _ticket_sla_breaches(scope: Scope) -> Iterator[Sample]:
    for (area, sla), n in sorted(scope.view.ticket_sla_breaches.items()):
        if _in_scope(scope, area):
            yield (area, sla), float(n)


def _gauge(name: str, help: str, labels: tuple[str, ...], samples: Callable[[Scope], Iterable[Sample]]) -> Family:
    return Family(name, "gauge", help, labels, samples)


def _counter(name: str, help: str, labels: tuple[str, ...], samples: Callable[[Scope], Iterable[Sample]]) -> Family:
    return Family(name, "counter", help, labels, samples)


INFO_LABELS = ("area", "device", "firmware", "funding", "kind", "model", "parent", "site", "vendor")
DEVICE = ("device",)

FAMILIES: tuple[Family, ...] = (
    _gauge("fleetmon_device_info", "What the inventory says of a device; join on device with group_left.", INFO_LABELS, _info),
    _gauge("fleetmon_device_up", "1 if the device works (up or degraded), 0 if down or unreachable; absent while unknown.", DEVICE, _up),
    _gauge("fleetmon_device_state", "The device's health state (up, degraded, down, unreachable, unknown) and likely cause; always 1.",
           ("cause", "device", "state"), _state),
    _gauge("fleetmon_device_state_since_timestamp_seconds", "When the device entered its current state.",
           DEVICE, _per_device(lambda st: st.since)),
    _gauge("fleetmon_device_uptime_seconds", "Uptime the device last reported.", DEVICE, _per_device(lambda st: st.uptime_seconds)),
    _counter("fleetmon_device_reboots_total", "Reboots seen (reported uptime went back).",
             DEVICE, _per_device(lambda st: float(st.reboots))),
    _gauge("fleetmon_device_clock_skew_seconds", "Device clock minus fleetmon's clock.",
           DEVICE, _per_device(lambda st: st.clock_skew_seconds)),
    _gauge("fleetmon_device_image_fault", "A picture fault found in the latest snapshot (blank, frozen, covered...); always 1.",
           ("device", "fault"), _image_faults),
    _gauge("fleetmon_probe_last_success_timestamp_seconds", "When a probe of this kind last succeeded on the device.",
           ("device", "probe"), _probe_last_success),
    _gauge("fleetmon_volume_size_bytes", "Size of a recorder's storage volume.",
           ("device", "volume"), _per_volume(lambda v: float(v.size_bytes))),
    _gauge("fleetmon_volume_used_bytes", "Bytes used on a recorder's storage volume.",
           ("device", "volume"), _per_volume(lambda v: float(v.used_bytes))),
    _gauge("fleetmon_disk_state", "A recorder disk's state (ok, failed, full, unformatted, other); always 1.",
           ("device", "disk", "state"), _disk_state),
    _gauge("fleetmon_disk_capacity_bytes", "Capacity of a recorder disk.", ("device", "disk"), _per_disk(lambda d: d.capacity_bytes)),
    _gauge("fleetmon_disk_free_bytes", "Free bytes on a recorder disk.", ("device", "disk"), _per_disk(lambda d: d.free_bytes)),
    _gauge("fleetmon_recording_latest_timestamp_seconds", "Newest footage a recorder holds for a channel.",
           ("channel", "device"), _per_channel(lambda r: r.latest)),
    _gauge("fleetmon_recording_earliest_timestamp_seconds", "Oldest footage a recorder still holds for a channel.",
           ("channel", "device"), _per_channel(lambda r: r.earliest)),
    _gauge("fleetmon_area_devices", "Devices by kind and state in an area's whole subtree (depth 1 is the root level).",
           ("area", "depth", "kind", "state"), _area_devices),
    _gauge("fleetmon_site_devices", "Devices by state at a site (camera cluster).", ("area", "site", "state"), _site_devices),
    _counter("fleetmon_probe_runs_total", "Probes run, summed over the devices scraped.", ("probe",), _totals(lambda t: t.runs)),
    _counter("fleetmon_probe_failures_total", "Failed probes by reason, summed over the devices scraped.",
             ("probe", "reason"), _totals(lambda t: t.failures)),
    _gauge("fleetmon_probe_duration_seconds", "Quantiles (label q: 0.5, 0.9, 0.99, 1) of the latest probe durations over "
           "the devices scraped; a gauge, not a summary.",
           ("probe", "q"), _probe_durations),
    _gauge("fleetmon_probe_last_status_devices", "Devices whose latest probe of this kind ended with this status.",
           ("probe", "status"), _totals(lambda t: t.last_status)),
    _gauge("fleetmon_sweep_interval_seconds", "How often a probe kind sweeps every device.", ("probe",), _sweep_field("interval_seconds")),
    _gauge("fleetmon_sweep_duration_seconds", "How long the last sweep took (compare with the interval).", ("probe",),
           _sweep_field("last_duration_seconds")),
    _gauge("fleetmon_sweep_last_start_timestamp_seconds", "When the last sweep started.", ("probe",), _sweep_field("last_started")),
    _gauge("fleetmon_sweep_devices", "Devices the last sweep probed.", ("probe",), _sweep_field("last_devices")),
    _counter("fleetmon_sweeps_total", "Sweeps started.", ("probe",), _sweep_field("sweeps")),
    _counter("fleetmon_sweep_overruns_total", "Sweeps skipped because the previous one was still running.", ("probe",),
             _sweep_field("overruns")),
    _gauge("fleetmon_probes_in_flight", "Probes running now.", ("probe",), _sweep_field("in_flight")),
    _gauge("fleetmon_scheduler_lag_seconds", "How late the scheduler started the last sweep.", ("probe",), _sweep_field("lag_seconds")),
    _gauge("fleetmon_event_loop_lag_seconds", "Worst lateness of a 1-second timer on the worker's event loop over the last "
           "minute: how long anything on the loop (probes, scrapes, sweeps) may wait.", ("worker",),
           _worker(lambda v: v.loop_lag_seconds)),
    _gauge("fleetmon_worker_devices", "Devices this worker probes (its share of the fleet).", ("worker",),
           _worker(lambda v: float(len(v.statuses) if v.probed is None else v.probed))),
    _gauge("fleetmon_worker_inventory_devices", "Devices in the inventory this worker reads.", ("worker",),
           _worker(lambda v: float(len(v.devices)))),
    _gauge("fleetmon_worker_start_time_seconds", "When this worker started.", ("worker",), _worker(lambda v: v.started_at)),
    _gauge("fleetmon_transitions_pending", "Health changes waiting to be written to the state-change log (the store is slow or away).",
           ("worker",), _worker(lambda v: float(v.transitions_pending))),
    _counter("fleetmon_transitions_dropped_total", "Health changes never written to the state-change log: its buffer overflowed "
             "while the store was away.", ("worker",), _worker(lambda v: float(v.transitions_dropped))),
    _gauge("fleetmon_tickets_open", "Maintenance tickets not yet resolved, fleet-wide (every worker says the same: use max, not sum).",
           ("area", "kind", "severity", "state"), _tickets_open),
    _gauge("fleetmon_tickets_sla_breached", "Open tickets past their SLA: acknowledge (escalated) or repair (overdue).",
           ("area", "sla"), _ticket_sla_breaches),
)


class FleetCollector(Collector):
    """prometheus_client's view of FAMILIES: register it on a private CollectorRegistry.

    Each collect() takes `view.snapshot()`; call it on the monitor's event loop (or pass a
    snapshot), since the monitor mutates the view there.
    """

    def __init__(self, view: MonitorView, area: str = "") -> None:
        self._view = view
        self._area = area

    def collect(self) -> Iterator[Metric]:
        scope = Scope.of(self._view.snapshot(), self._area)
        for family in FAMILIES:
            metric: GaugeMetricFamily | CounterMetricFamily
            if family.type == "counter":
                metric = CounterMetricFamily(family.name, family.help, labels=family.labels)
            else:
                metric = GaugeMetricFamily(family.name, family.help, labels=family.labels)
            for values, value in family.samples(scope):
                metric.add_metric(values, value)
            yield metric


class _Escaped(dict[str, str]):
    """Label values escaped for the text format, each distinct value once per render."""

    def __missing__(self, value: str) -> str:
        escaped = value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
        self[value] = escaped
        return escaped


def _number(value: float) -> str:
    """As prometheus_client writes a float (Go's notation): only this renderer's hot path needs it."""
    if value == 1.0:  # info, state and fault flags: most samples
        return "1.0"
    text = repr(float(value))
    if value > 0 and value != math.inf:
        dot = text.find(".")
        if dot > 6:  # Go switches to an exponent sooner than Python
            return f"{text[0]}.{text[1:dot]}{text[dot + 1:]}".rstrip("0.") + f"e+{dot - 1:02d}"
        return text
    go: str = floatToGoString(value)
    return go


def render(view: MonitorView, area: str = "") -> bytes:
    """The text exposition of `view` (a snapshot: this may run on another thread) under `area`."""
    scope = Scope.of(view, area)
    escaped = _Escaped()
    out: list[str] = []
    for family in FAMILIES:
        help_text = family.help.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {family.name} {help_text}\n# TYPE {family.name} {family.type}\n")
        heads = [f'{name}="' for name in family.labels]
        head = f"{family.name}{{{heads[0]}"
        samples = family.samples(scope)
        if len(heads) == 1:  # the common shapes, without an inner loop
            out += [f'{head}{escaped[a]}"}} {_number(value)}\n' for (a,), value in samples]
        elif len(heads) == 2:
            second = f'",{heads[1]}'
            out += [f'{head}{escaped[a]}{second}{escaped[b]}"}} {_number(value)}\n' for (a, b), value in samples]
        else:
            rest = [f'",{h}' for h in heads[1:]]
            out += [f'{head}{escaped[values[0]]}{"".join([h + escaped[v] for h, v in zip(rest, values[1:], strict=True)])}'
                    f'"}} {_number(value)}\n' for values, value in samples]
    return "".join(out).encode("utf-8")
