"""The exposition as Prometheus reads it: the fast renderer against prometheus_client, and what
an area officer would read from it (which devices are down, counts per area and site)."""

from __future__ import annotations

from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from fleetmon.exporters.prometheus import FAMILIES, FleetCollector, render
from fleetmon.exporters.sample import province_view
from fleetmon.health.model import DeviceStatus, Health
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.monitor.view import MonitorView


@pytest.fixture(scope="module")
def view() -> MonitorView:
    return province_view(cameras=600)


def samples(exposition: bytes, name: str) -> list[Sample]:
    return [s for f in text_string_to_metric_families(exposition.decode()) for s in f.samples if s.name == name]


def client_library(view: MonitorView, area: str = "") -> bytes:
    registry = CollectorRegistry()
    registry.register(FleetCollector(view, area))
    return generate_latest(registry)


@pytest.mark.parametrize("area", ["", "Thanh Hóa / TP Thanh Hóa", "Nowhere"])
def test_fast_renderer_writes_what_prometheus_client_writes(view: MonitorView, area: str) -> None:
    assert render(view, area) == client_library(view, area)


def test_every_family_is_announced_and_parses(view: MonitorView) -> None:
    families = {f.name for f in text_string_to_metric_families(render(view).decode())}
    exposed = {f.name.removesuffix("_total") for f in FAMILIES}
    assert families == exposed


def test_down_devices_are_the_ones_reported_down(view: MonitorView) -> None:
    text = render(view)
    down = {s.labels["device"] for s in samples(text, "fleetmon_device_up") if s.value == 0}
    assert down == {i for i, st in view.statuses.items() if st.state in (Health.DOWN, Health.UNREACHABLE)}
    assert down
    unknown = {i for i, st in view.statuses.items() if st.state is Health.UNKNOWN}
    reported = {s.labels["device"] for s in samples(text, "fleetmon_device_up")}
    assert unknown and not unknown & reported  # unknown is no data, not downtime


def test_state_since_and_info_per_device(view: MonitorView) -> None:
    text = render(view)
    state = {s.labels["device"]: s.labels["state"] for s in samples(text, "fleetmon_device_state")}
    assert state == {i: st.state.value for i, st in view.statuses.items()}
    since = {s.labels["device"]: s.value for s in samples(text, "fleetmon_device_state_since_timestamp_seconds")}
    assert since == {i: st.since for i, st in view.statuses.items()}
    info = {s.labels["device"]: s.labels for s in samples(text, "fleetmon_device_info")}
    nvr = next(d for d in view.devices.values() if d.kind is DeviceKind.NVR)
    assert info[nvr.id]["area"] == nvr.area and info[nvr.id]["parent"] == nvr.parent and info[nvr.id]["site"] == nvr.site
    assert info[nvr.id]["kind"] == "nvr" and info[nvr.id]["funding"] == nvr.funding.value  # type: ignore[union-attr]


def test_area_scrape_carries_only_that_subtree_and_fleetmon_itself(view: MonitorView) -> None:
    area = "Thanh Hóa / TP Thanh Hóa"
    text = render(view, area)
    shown = {s.labels["device"] for s in samples(text, "fleetmon_device_state")}
    assert shown == {i for i, d in view.devices.items() if d.area.startswith(area + " / ")}
    assert shown
    assert samples(text, "fleetmon_sweep_interval_seconds")  # self-health in every scrape


def test_area_prefix_stops_at_a_level_boundary() -> None:
    view = MonitorView(worker_id="w", devices={
        "a": Device(id="a", kind=DeviceKind.CAMERA, host="127.0.0.1", area="P / Xuân"),
        "b": Device(id="b", kind=DeviceKind.CAMERA, host="127.0.0.2", area="P / Xuân Lập"),
    }, statuses={"a": DeviceStatus(), "b": DeviceStatus()})
    shown = {s.labels["device"] for s in samples(render(view, "P/Xuân"), "fleetmon_device_state")}
    assert shown == {"a"}


def test_area_counts_cover_each_subtree(view: MonitorView) -> None:
    text = render(view)
    counts: Counter[str] = Counter()
    for s in samples(text, "fleetmon_area_devices"):
        counts[s.labels["area"]] += int(s.value)
    assert counts["Thanh Hóa"] == len(view.statuses)
    district = "Thanh Hóa / TP Thanh Hóa"
    assert counts[district] == sum(1 for d in view.devices.values() if d.area.startswith(district + " / "))
    down_by_site: Counter[str] = Counter()
    for s in samples(text, "fleetmon_site_devices"):
        if s.labels["state"] == "down":
            down_by_site[s.labels["site"]] += int(s.value)
    assert down_by_site == Counter(view.devices[i].site for i, st in view.statuses.items() if st.state is Health.DOWN)


def test_nvr_storage_and_recording_per_volume_disk_channel(view: MonitorView) -> None:
    text = render(view)
    nvr_id, status = next((i, st) for i, st in view.statuses.items() if st.disks and st.state is Health.DEGRADED)
    failed = {s.labels["disk"] for s in samples(text, "fleetmon_disk_state")
              if s.labels["device"] == nvr_id and s.labels["state"] == "failed"}
    assert failed == {d.name for d in status.disks if d.state == "failed"}
    used = {s.labels["volume"]: s.value for s in samples(text, "fleetmon_volume_used_bytes") if s.labels["device"] == nvr_id}
    assert used == {v.name: float(v.used_bytes) for v in status.volumes}
    latest = {s.labels["channel"]: s.value for s in samples(text, "fleetmon_recording_latest_timestamp_seconds")
              if s.labels["device"] == nvr_id}
    assert latest == {r.channel: r.latest for r in status.recordings}


def test_probe_failures_are_summed_by_probe_and_reason(view: MonitorView) -> None:
    text = render(view)
    failures = {(s.labels["probe"], s.labels["reason"]): s.value for s in samples(text, "fleetmon_probe_failures_total")}
    expected: Counter[tuple[str, str]] = Counter()
    for st in view.statuses.values():
        for probe, stats in st.probes.items():
            for reason, n in stats.failures.items():
                expected[(probe, reason)] += n
    assert failures == {k: float(v) for k, v in expected.items()}


def test_awkward_label_values_survive_escaping() -> None:
    site = 'Trạm "Ngã ba" \\ cũ\nmới'
    view = MonitorView(worker_id="w", devices={"x": Device(id="x", kind=DeviceKind.CAMERA, host="127.0.0.1", area="P", site=site)},
                       statuses={"x": DeviceStatus()})
    text = render(view)
    assert text == client_library(view)
    assert [s.labels["site"] for s in samples(text, "fleetmon_device_info")] == [site]
