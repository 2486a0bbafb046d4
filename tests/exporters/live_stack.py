"""A live stack on loopback for end-to-end tests: the simulated fleet with injected faults,
`fleetmon run`'s composition (`serve`) monitoring it, and a real Prometheus scraping /metrics
with fleetmon's rules loaded.

The simulator and the monitor run on event loops of their own, on background threads (a busy
simulator must not delay the monitor's probes into timeouts); the tests talk to Prometheus over
its HTTP API like Grafana does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Set
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from fleetmon.cli.context import AppContext
from fleetmon.cli.run import serve
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device
from fleetmon.simulator.control import FaultSpec
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from tests.peers import free_port, need_binary

RULES = Path(__file__).resolve().parents[2] / "fleetmon" / "exporters" / "rules" / "fleetmon.rules.yml"
INTERVAL = 4.0


@dataclass
class LiveStack:
    devices: dict[str, Device]
    metrics_url: str
    prometheus_url: str
    kinds: set[str] = field(default_factory=set)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query through Prometheus's HTTP API; fails the test on a PromQL error."""
        reply = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        body = reply.json()
        assert body["status"] == "success", f"{expr}: {body.get('error')}"
        return list(body["data"]["result"])

    def api(self, path: str) -> Any:
        return httpx.get(f"{self.prometheus_url}{path}", timeout=10).json()["data"]

    def scrape(self) -> str:
        return httpx.get(self.metrics_url, timeout=10).text


def fleetmon_config(folder: Path, metrics_port: int) -> Path:
    """Liveness every 4 s; the heavier probes (ONVIF, snapshots) less often, so a loaded test
    machine never times out a healthy simulated device. Snapshots keep the shipped 10 s timeout:
    the simulator draws every picture on a thread of this process, and 180 of them queue there."""
    path = folder / "fleetmon.yaml"
    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{folder / 'fleetmon.db'}",
        "metrics": {"host": "127.0.0.1", "port": metrics_port},
        "probes": {
            "reachability": {"interval": INTERVAL, "timeout": 1.5},
            "snmp": {"interval": INTERVAL, "timeout": 2.5},
            "vendor_http": {"interval": INTERVAL, "timeout": 2.5},
            "onvif": {"interval": 2 * INTERVAL, "timeout": 3.0},
            "snapshot": {"interval": 4 * INTERVAL, "timeout": 10.0},
            "jitter": 0.2,
        },
        "credentials": {"sim": {"username": DEMO_USERNAME, "password": DEMO_PASSWORD.get_secret_value(),
                                "snmp": {"version": "2c", "community": "public"}}},
        "default_credentials": "sim",
    }, allow_unicode=True), encoding="utf-8")
    return path


def on_free_ports(inventory: list[Device]) -> list[Device]:
    """The sample fleet's fixed ports moved to free ones, so a parallel simulator cannot collide."""
    web, rtsp, snmp = free_port(), free_port(), free_port(kind=2)  # 2: SOCK_DGRAM
    return [dataclasses.replace(d, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp) for d in inventory]


def prometheus_config(folder: Path, metrics_url: str) -> Path:
    """Prometheus scraping every 2 s, with fleetmon's rules evaluated every second
    (the shipped 5-minute group interval would not evaluate once in a test)."""
    rules = folder / "fleetmon.rules.yml"
    rules.write_text(re.sub(r"interval: 5m", "interval: 1s", RULES.read_text(encoding="utf-8")), encoding="utf-8")
    target = metrics_url.removeprefix("http://").removesuffix("/metrics")
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "2s", "evaluation_interval": "1s"},
        "rule_files": [rules.name],
        "scrape_configs": [{"job_name": "fleetmon", "scrape_timeout": "2s", "static_configs": [{"targets": [target]}]}],
    }), encoding="utf-8")
    return path


def wait_for(what: str, check: Callable[[], bool | str], seconds: float) -> None:
    """Until `check` is true, or returns "" (a non-empty string says what is still missing)."""
    deadline = time.monotonic() + seconds
    last: bool | str = False
    while time.monotonic() < deadline:
        try:
            last = check()
            if last is True or last == "":
                return
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}" + (f": {last}" if isinstance(last, str) else ""))


def unsettled(stack_url: str, expect_down: set[str], expect_probed: Set[tuple[str, str]]) -> str:
    """What is still missing ("" once settled): every probed device has a state, exactly the injected
    ones are down, and each (probe kind, device) of `expect_probed` has succeeded at least once, so
    the data the tests read exists."""
    text = httpx.get(stack_url, timeout=5).text
    states = {s.labels["device"]: s.labels["state"] for f in text_string_to_metric_families(text)
              for s in f.samples if s.name == "fleetmon_device_state"}
    succeeded = {(s.labels["probe"], s.labels["device"]) for f in text_string_to_metric_families(text)
                 for s in f.samples if s.name == "fleetmon_probe_last_success_timestamp_seconds"}
    down = {d for d, state in states.items() if state == "down"}
    missing = []
    if down != expect_down:
        missing.append(f"down: {sorted(down)}, expected {sorted(expect_down)}")
    if unknown := sorted({d for _, d in succeeded if states.get(d, "unknown") == "unknown"}):
        missing.append(f"probed but unknown: {unknown}")
    if not_yet := sorted(expect_probed - succeeded):
        missing.append(f"no success yet of (probe, device): {not_yet}")
    return "; ".join(missing)


@contextmanager
def live_stack(tmp: Path, inventory: list[Device], faults: list[FaultSpec], expect_down: set[str],
               expect_probed: Set[tuple[str, str]] = frozenset()) -> Iterator[LiveStack]:
    prometheus = need_binary("prometheus")
    engine = open_store(f"sqlite:///{tmp / 'fleetmon.db'}")
    with engine.begin() as conn:
        apply_plan(conn, plan_import(inventory, {}), "test")
    engine.dispose()
    config_path = fleetmon_config(tmp, free_port())
    app = AppContext(config_path)
    stop_simulator, stop_monitor = threading.Event(), asyncio.Event()
    simulator_ready = threading.Event()

    async def simulate() -> None:
        async with AsyncExitStack() as stack:
            await start_fleet(stack, Fleet.from_inventory(inventory), control_port=free_port(), faults=faults,
                              services=default_services())
            simulator_ready.set()
            await asyncio.to_thread(stop_simulator.wait)

    monitor_loop = asyncio.new_event_loop()
    threads = [threading.Thread(target=asyncio.run, args=(simulate(),), daemon=True),
               threading.Thread(target=monitor_loop.run_until_complete, args=(serve(app.config, app, "e2e", stop_monitor),),
                                daemon=True)]
    threads[0].start()
    assert simulator_ready.wait(30), "the simulator did not start"
    threads[1].start()
    process = None
    prometheus_log = (tmp / "prometheus.log").open("w")
    try:
        metrics_url = f"http://127.0.0.1:{app.config.metrics.port}/metrics"
        for _ in range(2):  # settled, and still so a sweep later
            wait_for("fleetmon to settle on the injected faults, every expected probe answered",
                     lambda: unsettled(metrics_url, expect_down, expect_probed), 90)
            time.sleep(INTERVAL)
        web_port = free_port()
        prometheus_yml = prometheus_config(tmp, metrics_url)
        process = subprocess.Popen(
            [prometheus, f"--config.file={prometheus_yml}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{web_port}"],
            stdout=subprocess.DEVNULL, stderr=prometheus_log,
        )
        live = LiveStack(devices={d.id: d for d in inventory}, metrics_url=metrics_url,
                         prometheus_url=f"http://127.0.0.1:{web_port}")
        wait_for("Prometheus to be ready", lambda: httpx.get(f"{live.prometheus_url}/-/ready", timeout=2).status_code == 200, 30)
        wait_for("five scrapes and the recording rules",
                 lambda: bool(live.query("count_over_time(fleetmon_worker_devices[1m]) >= 5"))
                 and bool(live.query("area:fleetmon_availability:avg_over_time_30d")), 60)
        live.kinds = {s["metric"]["probe"] for s in live.query("fleetmon_sweep_interval_seconds")}
        yield live
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        prometheus_log.close()
        monitor_loop.call_soon_threadsafe(stop_monitor.set)
        threads[1].join(30)
        if not threads[1].is_alive():
            monitor_loop.close()
        app.close()
        stop_simulator.set()
        threads[0].join(30)
        shutil.rmtree(tmp / "tsdb", ignore_errors=True)
