"""A real Prometheus scrapes fleetmon while it monitors the simulated fleet with injected faults;
every rule of exporters/rules and every Grafana panel's query runs through Prometheus's HTTP API
and selects what it should.

Faults: three cameras of one commune offline, one recorder with a failed disk, one with a full
disk, one with a drifting clock and a stopped recording, one camera with a black picture. Prometheus starts once fleetmon has
settled, so every scraped sample shows the faults: availability must equal the share of working
devices to within 0.001, over every window.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from fleetmon.grafana.build import DASHBOARDS, Dashboard, Panel
from fleetmon.grafana.build import NVR as NVR_DASHBOARD
from fleetmon.inventory.model import AREA_SEPARATOR, Device, DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.monitor.kinds import has_storage_api
from fleetmon.simulator.control import FaultSpec
from fleetmon.simulator.state import Fault
from tests.exporters.live_stack import RULES, LiveStack, live_stack, on_free_ports

TOLERANCE = 0.001
INVENTORY = on_free_ports(sample_fleet(cameras=180))
OFFLINE_AREA = "Thanh Hóa / Quảng Xương / Xương Thành"
OFFLINE = [d.id for d in INVENTORY if d.area == OFFLINE_AREA and d.kind is DeviceKind.CAMERA][:3]
RECORDERS = [d for d in INVENTORY if has_storage_api(d) and d.area != OFFLINE_AREA]
DISK_FAILED, DISK_FULL, DRIFTING = RECORDERS[0].id, RECORDERS[1].id, RECORDERS[2].id
CAMERA = next(d.id for d in INVENTORY if d.kind is DeviceKind.CAMERA and d.id not in OFFLINE)  # its picture is black
FAULTS = [FaultSpec(Fault.OFFLINE, device=d) for d in OFFLINE] + [
    FaultSpec(Fault.DISK_FAILED, 1, device=DISK_FAILED),
    FaultSpec(Fault.DISK_FULL, device=DISK_FULL),
    FaultSpec(Fault.CLOCK_SKEW, 600, device=DRIFTING),
    FaultSpec(Fault.RECORDING_STOPPED, device=DRIFTING),
    FaultSpec(Fault.SNAPSHOT_BLACK, device=CAMERA),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The stack once every probe a rule or panel below reads from has answered from its device:
    the heavier probes (ONVIF, snapshots) may need a sweep or two on a loaded machine, and one that
    never answers fails here, naming what it waited for."""
    feeding = {(panel.source, device_for(panel)) for _, panel, _ in PANELS if panel.source} | {("onvif", DRIFTING)}
    with live_stack(tmp_path_factory.mktemp("e2e"), INVENTORY, FAULTS, expect_down=set(OFFLINE), expect_probed=feeding) as stack:
        yield stack


def rules() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return {r.get("record") or r["alert"]: r["expr"] for g in groups for r in g["rules"]}


def known_states(live: LiveStack) -> dict[str, str]:
    """Devices fleetmon has a state for (switches without a probe stay unknown)."""
    return {s.labels["device"]: s.labels["state"] for f in text_string_to_metric_families(live.scrape())
            for s in f.samples if s.name == "fleetmon_device_state" and s.labels["state"] != "unknown"}


def expected_availability(live: LiveStack, within: str) -> float:
    def under(device: Device) -> bool:
        return device.area == within or device.area.startswith(within + AREA_SEPARATOR)

    states = {d: s for d, s in known_states(live).items() if under(live.devices[d])}
    return sum(s in ("up", "degraded") for s in states.values()) / len(states)


def by(results: list[dict], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(r["metric"][label] for label in labels): float(r["value"][1]) for r in results}


def test_prometheus_scrapes_fleetmon_and_every_rule_evaluates_cleanly(live: LiveStack) -> None:
    targets = live.api("/api/v1/targets")["activeTargets"]
    assert [t["health"] for t in targets] == ["up"]
    evaluated = {r["name"]: r for g in live.api("/api/v1/rules")["groups"] for r in g["rules"]}
    assert set(evaluated) == set(rules())
    assert {name: r["lastError"] for name, r in evaluated.items() if r["health"] != "ok"} == {}


@pytest.mark.parametrize("window", ["ratio", "avg_over_time_1d", "avg_over_time_7d", "avg_over_time_30d"])
def test_area_availability_is_the_share_of_working_devices(live: LiveStack, window: str) -> None:
    found = by(live.query(rules()[f"area:fleetmon_availability:{window}"]), "area")
    district = AREA_SEPARATOR.join(OFFLINE_AREA.split(AREA_SEPARATOR)[:2])
    for area in (OFFLINE_AREA, district, "Thanh Hóa"):
        assert found[(area,)] == pytest.approx(expected_availability(live, area), abs=TOLERANCE)
    assert found[(OFFLINE_AREA,)] < 1 and found[("Thanh Hóa",)] < 1
    untouched = {d.area for d in INVENTORY} - {OFFLINE_AREA}
    assert all(found[(a,)] == 1 for a in untouched)


@pytest.mark.parametrize("window", ["ratio", "avg_over_time_1d", "avg_over_time_7d", "avg_over_time_30d"])
def test_site_availability_is_the_share_of_working_devices(live: LiveStack, window: str) -> None:
    found = by(live.query(rules()[f"site:fleetmon_availability:{window}"]), "site")
    broken_site = live.devices[OFFLINE[0]].site
    states = known_states(live)
    at_site = [s for d, s in states.items() if live.devices[d].site == broken_site]
    assert found[(broken_site,)] == pytest.approx(sum(s in ("up", "degraded") for s in at_site) / len(at_site), abs=TOLERANCE)
    assert all(v == 1 for (site,), v in found.items() if site != broken_site)


def test_device_down_alert_selects_the_offline_cameras(live: LiveStack) -> None:
    found = live.query(rules()["FleetmonDeviceDown"])
    assert {r["metric"]["device"] for r in found} == set(OFFLINE)
    assert {r["metric"]["area"] for r in found} == {OFFLINE_AREA}  # joined from fleetmon_device_info


def test_disk_alerts_select_the_broken_recorders(live: LiveStack) -> None:
    assert {r["metric"]["device"] for r in live.query(rules()["FleetmonNvrDiskFailed"])} == {DISK_FAILED}
    assert {r["metric"]["device"] for r in live.query(rules()["FleetmonNvrDiskFull"])} == {DISK_FULL}


def test_volume_prediction_runs_over_what_recorders_report(live: LiveStack) -> None:
    """Recorders' volumes are steady in the simulator: predict_linear has data, nothing fills."""
    volumes = live.query("fleetmon_volume_used_bytes")
    predicted = live.query("predict_linear(fleetmon_volume_used_bytes[1m], 3 * 86400)")
    assert len(predicted) == len(volumes)
    assert live.query(rules()["FleetmonNvrVolumeFullSoon"]) == []


def test_recording_and_clock_alerts_select_the_drifting_recorder(live: LiveStack) -> None:
    recording = {r["metric"]["device"] for r in live.query(rules()["FleetmonRecordingStopped"])}
    skewed = {r["metric"]["device"] for r in live.query(rules()["FleetmonClockSkew"])}
    assert recording == {DRIFTING}
    assert skewed == {DRIFTING}


def test_area_below_target_is_the_commune_with_the_outage(live: LiveStack) -> None:
    found = {r["metric"]["area"] for r in live.query(rules()["FleetmonAreaAvailabilityLow"])}
    nodes = {AREA_SEPARATOR.join(d.area_path[:depth]) for d in INVENTORY for depth in range(1, len(d.area_path) + 1)}
    expected = {a for a in nodes if expected_availability(live, a) < 0.95}
    assert found == expected and OFFLINE_AREA in found


def test_fleetmon_self_health_alerts_agree_with_its_sweeps(live: LiveStack) -> None:
    """Sweeping, but maybe not keeping up on a loaded machine: the overrun alert names exactly the
    probe kinds whose last sweep outlasted the interval, as fleetmon reports them."""
    assert live.query(rules()["FleetmonNotSweeping"]) == []
    assert live.query(rules()["FleetmonWorkerDown"]) == []
    durations = by(live.query("fleetmon_sweep_duration_seconds"), "probe")
    intervals = by(live.query("fleetmon_sweep_interval_seconds"), "probe")
    late = {probe for (probe,), took in durations.items() if took > intervals[(probe,)]}
    assert {r["metric"]["probe"] for r in live.query(rules()["FleetmonSweepOverrun"])} == late
    assert by(live.query("fleetmon_worker_devices"), "worker") == {("e2e",): float(len(INVENTORY))}


def test_area_scrape_serves_one_commune(live: LiveStack) -> None:
    text = httpx.get(live.metrics_url, params={"area": OFFLINE_AREA}, timeout=10).text
    shown = {s.labels["device"] for f in text_string_to_metric_families(text) for s in f.samples if s.name == "fleetmon_device_state"}
    assert shown == {d.id for d in INVENTORY if d.area == OFFLINE_AREA}


# -- every Grafana panel's query ----------------------------------------------------------------

PANELS = [(d, p, e) for d in DASHBOARDS for p in d.panels for e in p.exprs]


def substituted(dashboard: Dashboard, panel: Panel, expr: str) -> str:
    """Template variables as Grafana fills them: the district of the outage (the whole province
    for recorders), the recorder a panel's probe reports on (a camera for pictures)."""
    area = "Thanh Hóa" if dashboard is NVR_DASHBOARD else AREA_SEPARATOR.join(OFFLINE_AREA.split(AREA_SEPARATOR)[:2])
    return expr.replace("$area", area).replace("$device", device_for(panel))


def device_for(panel: Panel) -> str:
    """The device whose fault the panel shows: recorder panels read the drifting recorder, too."""
    return {"onvif": DRIFTING, "snapshot": CAMERA}.get(panel.source, DISK_FAILED)


def devices_in(results: list[dict]) -> set[str]:
    return {r["metric"]["device"] for r in results}


SENSIBLE = {
    "Devices down now": lambda live, found: [float(r["value"][1]) for r in found] == [len(OFFLINE)],
    "Devices down now, since when": lambda live, found: devices_in(found) == set(OFFLINE),
    "Recorder disks at risk": lambda live, found: devices_in(found) == {DISK_FAILED, DISK_FULL},
    "Disks not ok": lambda live, found: devices_in(found) == {DISK_FAILED, DISK_FULL},
    "Recorders with a failed or full disk": lambda live, found: [float(r["value"][1]) for r in found] == [2.0],
    "Devices working now": lambda live, found: float(found[0]["value"][1]) == pytest.approx(
        expected_availability(live, "Thanh Hóa"), abs=TOLERANCE),
    "Down now in $area": lambda live, found: [float(r["value"][1]) for r in found] == [len(OFFLINE)],
    "Devices: state, since when": lambda live, found: {r["metric"]["device"] for r in found
                                                       if r["metric"]["state"] == "down"} == set(OFFLINE),
    "Channels without new footage for 15 min": lambda live, found: devices_in(found) == {DRIFTING},
    "State": lambda live, found: {r["metric"]["state"] for r in found} == {"degraded"},  # the recorder with a failed disk
}


@pytest.mark.parametrize(("dashboard", "panel", "expr"), PANELS, ids=[f"{d.uid}:{p.title}:{p.exprs.index(e)}" for d, p, e in PANELS])
def test_dashboard_panel_query_returns_what_the_panel_shows(live: LiveStack, dashboard: Dashboard, panel: Panel, expr: str) -> None:
    found = live.query(substituted(dashboard, panel, expr))
    assert found, "the panel would be empty"
    assert all(r["value"][1] not in ("NaN", "+Inf", "-Inf") for r in found)
    if panel.title in SENSIBLE:
        assert SENSIBLE[panel.title](live, found)
