"""fleetmon's Grafana dashboards, written once here and generated as JSON into fleetmon/grafana/dashboards/.

    python -m fleetmon.grafana.build          rewrite fleetmon/grafana/dashboards/*.json from this module

Each panel names the probe that feeds it (`source`), so a test can tell "no data because that
probe is not scheduled" from "no data because the query is wrong"; the tests run every panel's
query against a real Prometheus scraping fleetmon. Queries use `$area` as a whole area path
("Thanh Hóa / Thọ Xuân"); a subtree is `area=~"$area( / .*)?"`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

SUBTREE = 'area=~"$area( / .*)?"'
INFO = "max by (device, area, site, kind) (fleetmon_device_info{%s})"  # one row per device, even mid hand-over
WORKING = 'state=~"up|degraded"'
KNOWN = 'state=~"up|degraded|down|unreachable"'


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    kind: str  # Grafana panel type: stat, timeseries, table, bargauge
    exprs: tuple[str, ...]
    unit: str = "short"
    source: str = ""  # the probe whose results feed it; "" for fleetmon's own and rule-made series
    legend: str = ""
    width: int = 8
    height: int = 6
    description: str = ""

    @property
    def instant(self) -> bool:
        return self.kind in ("table", "bargauge", "stat")


@dataclass(frozen=True, slots=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[str, ...] = ("area",)
    tags: tuple[str, ...] = field(default=("fleetmon",))


def _with_info(expr: str, where: str = SUBTREE) -> str:
    return f"({expr}) * on (device) group_left (area, site, kind) {INFO % where}"


def _working_now(title: str, where: str) -> Panel:
    """Share of the devices with a known state that work: the officer's first question."""
    return Panel(title, "stat", (f"sum(fleetmon_area_devices{{{where},{WORKING}}}) / sum(fleetmon_area_devices{{{where},{KNOWN}}})",),
                 unit="percentunit", source="reachability", width=6)


def _down_now(title: str, where: str) -> Panel:
    return Panel(title, "stat", (f'sum(fleetmon_area_devices{{{where},state=~"down|unreachable"}}) or vector(0)',),
                 source="reachability", width=6)


PROVINCE = Dashboard(
    "fleetmon-province", "fleetmon: province overview",
    "What share of the cameras works, which areas are worst, what is broken now.",
    variables=(),
    panels=(
        _working_now("Devices working now", 'depth="1"'),
        _down_now("Devices down now", 'depth="1"'),
        Panel("Recorders with a failed or full disk", "stat",
              ('count(count by (device) (fleetmon_disk_state{state=~"failed|full"} == 1)) or vector(0)',),
              source="vendor_http", width=6),
        Panel("Sweep time / interval (over 1 = falling behind)", "stat",
              ("max by (probe) (fleetmon_sweep_duration_seconds / fleetmon_sweep_interval_seconds)",),
              unit="percentunit", legend="{{probe}}", width=6),
        Panel("Availability by district, last 24 h", "bargauge", ('area:fleetmon_availability:avg_over_time_1d{depth="2"}',),
              unit="percentunit", legend="{{area}}", source="reachability", width=12, height=10),
        Panel("Worst communes, last 7 days", "table", ('bottomk(10, area:fleetmon_availability:avg_over_time_7d{depth="3"})',),
              unit="percentunit", source="reachability", width=12, height=10),
        Panel("Devices down now, since when", "table",
              (_with_info('fleetmon_device_state_since_timestamp_seconds * 1000 * on (device) group_left (state, cause) '
                          '(fleetmon_device_state{state=~"down|unreachable"} == 1)', ""),),
              unit="dateTimeFromNow", source="reachability", width=24, height=10),
        Panel("Recorder disks at risk", "table", (_with_info('fleetmon_disk_state{state!="ok"} == 1', ""),),
              source="vendor_http", width=12, height=8),
        Panel("Share of devices working, province", "timeseries", ('area:fleetmon_availability:ratio{depth="1"}',),
              unit="percentunit", legend="{{area}}", source="reachability", width=12, height=8),
    ),
)

AREA = Dashboard(
    "fleetmon-area", "fleetmon: area drill-down",
    "One area and everything under it: uptime of its communes and sites, and every device with its state and since when.",
    panels=(
        _working_now("Working now in $area", 'area="$area"'),
        _down_now("Down now in $area", 'area="$area"'),
        Panel("Availability of $area", "timeseries",
              ('area:fleetmon_availability:ratio{area="$area"}', 'area:fleetmon_availability:avg_over_time_1d{area="$area"}'),
              unit="percentunit", source="reachability", width=12),
        Panel("Areas under $area: uptime over 1 / 7 / 30 days", "table",
              tuple(f'area:fleetmon_availability:avg_over_time_{w}{{area=~"$area / .*"}}' for w in ("1d", "7d", "30d")),
              unit="percentunit", source="reachability", width=12, height=10),
        Panel("Sites: uptime over 1 / 7 / 30 days", "table",
              tuple(f"site:fleetmon_availability:avg_over_time_{w}{{{SUBTREE}}}" for w in ("1d", "7d", "30d")),
              unit="percentunit", source="reachability", width=12, height=10),
        Panel("Devices: state, since when", "table",
              (_with_info("fleetmon_device_state_since_timestamp_seconds * 1000 * on (device) group_left (state, cause) "
                          "(fleetmon_device_state == 1)"),),
              unit="dateTimeFromNow", source="reachability", width=24, height=14),
    ),
)

DEVICE = Dashboard(
    "fleetmon-device", "fleetmon: device detail",
    "One device: is it up, since when, its probes, disks, recordings, clock and picture.",
    variables=("area", "device"),
    panels=(
        Panel("State", "stat", ('fleetmon_device_state{device="$device"} == 1',), legend="{{state}} {{cause}}",
              source="reachability", width=6),
        Panel("In this state since", "stat", ('fleetmon_device_state_since_timestamp_seconds{device="$device"} * 1000',),
              unit="dateTimeFromNow", source="reachability", width=6),
        Panel("Working, share of the last 24 h", "stat", ('avg_over_time(fleetmon_device_up{device="$device"}[1d])',),
              unit="percentunit", source="reachability", width=6),
        Panel("Reboots, last 24 h", "stat", ('increase(fleetmon_device_reboots_total{device="$device"}[1d])',),
              source="reachability", width=6),
        Panel("Up (1) or down (0)", "timeseries", ('max(fleetmon_device_up{device="$device"})',), source="reachability", width=12),
        Panel("Probes: seconds since the last success", "table",
              ('time() - fleetmon_probe_last_success_timestamp_seconds{device="$device"}',), unit="s",
              source="reachability", width=12),
        Panel("Uptime the device reports", "timeseries", ('fleetmon_device_uptime_seconds{device="$device"}',), unit="s",
              source="snmp", width=12),
        Panel("Clock skew", "timeseries", ('fleetmon_device_clock_skew_seconds{device="$device"}',), unit="s",
              source="onvif", width=12),
        Panel("Disks", "table", ('fleetmon_disk_state{device="$device"} == 1',
                                 'fleetmon_disk_free_bytes{device="$device"} / fleetmon_disk_capacity_bytes{device="$device"}'),
              source="vendor_http", width=12),
        Panel("Recording: newest footage age per channel", "table",
              ('time() - fleetmon_recording_latest_timestamp_seconds{device="$device"}',), unit="s", source="onvif", width=12),
        Panel("Picture faults", "table", ('fleetmon_device_image_fault{device="$device"}',), source="snapshot", width=12),
    ),
)

NVR = Dashboard(
    "fleetmon-nvr", "fleetmon: recorders, storage and recording",
    "Recorders under an area: failed or full disks, space left, footage that stopped, days of footage held.",
    panels=(
        _working_now("Recorders working now", 'area="$area",kind="nvr"'),
        _down_now("Recorders down now", 'area="$area",kind="nvr"'),
        Panel("Disks not ok", "table", (_with_info('fleetmon_disk_state{state!="ok"} == 1'),), source="vendor_http", width=12),
        Panel("Disk space used", "bargauge",
              (_with_info("1 - fleetmon_disk_free_bytes / fleetmon_disk_capacity_bytes"),),
              unit="percentunit", legend="{{device}} {{disk}}", source="vendor_http", width=12, height=10),
        Panel("Volumes: share used in 3 days at the last 6 h's rate", "table",
              (_with_info("predict_linear(fleetmon_volume_used_bytes[6h], 3 * 86400) / fleetmon_volume_size_bytes"),),
              unit="percentunit", source="snmp", width=12, height=10),
        Panel("Channels without new footage for 15 min", "table",
              (_with_info("time() - fleetmon_recording_latest_timestamp_seconds > 900"),), unit="s", source="onvif", width=12),
        Panel("Days of footage held", "table",
              (_with_info("(time() - fleetmon_recording_earliest_timestamp_seconds) / 86400"),), source="onvif", width=12),
    ),
)

DASHBOARDS = (PROVINCE, AREA, DEVICE, NVR)


def _variable(name: str) -> dict[str, Any]:
    if name == "area":
        query = "label_values(fleetmon_area_devices, area)"
    else:
        query = f"label_values(fleetmon_device_info{{{SUBTREE}}}, device)"
    return {
        "name": name, "label": name.capitalize(), "type": "query", "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-values"}, "definition": query,
        "refresh": 2, "sort": 1, "includeAll": False, "multi": False,
    }


def _panel(panel: Panel, index: int, x: int, y: int) -> dict[str, Any]:
    targets = [{
        "refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "instant": panel.instant,
        "range": not panel.instant, "format": "table" if panel.kind == "table" else "time_series",
        "legendFormat": panel.legend or "__auto",
    } for i, expr in enumerate(panel.exprs)]
    source = f"From the {panel.source} probe." if panel.source else "From fleetmon's own metrics."
    built: dict[str, Any] = {
        "id": index, "type": panel.kind, "title": panel.title, "datasource": DATASOURCE,
        "description": " ".join(filter(None, (panel.description, source))),
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {}, "targets": targets,
    }
    if panel.kind == "table" and len(targets) > 1:
        built["transformations"] = [{"id": "merge", "options": {}}]
    return built


def build(dashboard: Dashboard) -> dict[str, Any]:
    panels, x, y, row_height = [], 0, 0, 0
    for index, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(panel, index, x, y))
        x, row_height = x + panel.width, max(row_height, panel.height)
    datasource = {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                  "current": {}, "hide": 0}
    return {
        "uid": dashboard.uid, "title": dashboard.title, "description": dashboard.description,
        "tags": list(dashboard.tags), "schemaVersion": SCHEMA_VERSION, "version": 1, "editable": True,
        "time": {"from": "now-24h", "to": "now"}, "refresh": "1m", "timezone": "browser",
        "templating": {"list": [datasource, *(_variable(v) for v in dashboard.variables)]},
        "annotations": {"list": []}, "links": [{"type": "dashboards", "tags": ["fleetmon"], "asDropdown": True, "title": "fleetmon"}],
        "panels": panels,
    }


def render(dashboard: Dashboard) -> str:
    return json.dumps(build(dashboard), ensure_ascii=False, indent=2) + "\n"


def path_of(dashboard: Dashboard) -> Path:
    return DASHBOARD_DIR / f"{dashboard.uid}.json"


def main() -> None:
    DASHBOARD_DIR.mkdir(exist_ok=True)
    for dashboard in DASHBOARDS:
        path_of(dashboard).write_text(render(dashboard), encoding="utf-8")
        sys.stdout.write(f"wrote {path_of(dashboard)}\n")


if __name__ == "__main__":
    main()
