"""The dashboards as Grafana loads them: generated from grafana/build.py, valid for current
Grafana (schema, datasource variable, no datasource ids), laid out on the 24-column grid.
Every panel's query runs against a real Prometheus in tests/exporters/test_prometheus_e2e.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetmon.grafana.build import DASHBOARD_DIR, DASHBOARDS, DATASOURCE, Dashboard, path_of, render

GRAFANA = DASHBOARD_DIR.parent


def loaded(dashboard: Dashboard) -> dict[str, Any]:
    return dict(json.loads(path_of(dashboard).read_text(encoding="utf-8")))


def test_the_json_files_are_what_build_writes() -> None:
    assert sorted(DASHBOARD_DIR.glob("*.json")) == sorted(path_of(d) for d in DASHBOARDS)
    stale = [d.uid for d in DASHBOARDS if path_of(d).read_text(encoding="utf-8") != render(d)]
    assert stale == [], "run `python -m grafana.build`"


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d.uid)
def test_dashboard_is_valid_for_current_grafana(dashboard: Dashboard) -> None:
    board = loaded(dashboard)
    assert board["schemaVersion"] >= 39 and board["uid"] == dashboard.uid and "id" not in board
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE and variable["query"]["query"].startswith("label_values(")
    used = {v for p in board["panels"] for t in p["targets"] for v in variables if f"${v}" in t["expr"] + p["title"]}
    assert used <= set(variables)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"] == DATASOURCE
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0
        assert panel["targets"] and len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE and target["expr"].strip()
    assert "datasourceId" not in path_of(dashboard).read_text(encoding="utf-8")


def test_panels_do_not_overlap() -> None:
    for dashboard in DASHBOARDS:
        cells: set[tuple[int, int]] = set()
        for panel in loaded(dashboard)["panels"]:
            g = panel["gridPos"]
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not cells & mine, f"{dashboard.uid}: {panel['title']} overlaps"
            cells |= mine


def test_uids_are_unique_and_every_dashboard_answers_the_officers_question() -> None:
    assert len({d.uid for d in DASHBOARDS}) == len(DASHBOARDS)
    province = loaded(DASHBOARDS[0])
    titles = " / ".join(p["title"] for p in province["panels"]).lower()
    assert "working now" in titles and "down now, since when" in titles  # what share works, which broke, since when


def test_provisioning_files() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "fleetmon-prometheus.yml").read_text())
    assert datasources["apiVersion"] == 1
    assert [d["type"] for d in datasources["datasources"]] == ["prometheus"]
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "fleetmon.yml").read_text())
    assert providers["apiVersion"] == 1
    assert [p["type"] for p in providers["providers"]] == ["file"]
    assert Path(providers["providers"][0]["options"]["path"]).is_absolute()
