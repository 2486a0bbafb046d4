"""Three `fleetmon run` workers on one real PostgreSQL; one is killed with SIGKILL.

Its devices must be probed again within two sweep intervals, and no device may ever be probed
by two workers at once. Each worker logs every probe it makes (debug level) with its start and
end; the test reads the three logs.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from tests.peers import free_port

pytestmark = pytest.mark.postgres

INTERVAL = 2.0
DEVICES = 60
PROBED = re.compile(r"probed device=(\S+) probe=reachability status=\w+ start=([\d.]+) end=([\d.]+)")


@pytest.fixture
async def listener_port() -> AsyncIterator[int]:
    """Every camera answers on one port of its own 127.0.43.x address."""
    port = free_port()
    server = await asyncio.start_server(lambda r, w: w.close(), "0.0.0.0", port)
    yield port
    server.close()


def write_config(folder: Path, name: str, url: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        f"database_url: '{url}'\n"
        f"metrics: {{port: {free_port()}}}\n"
        "monitor: {shared: true, lease: 2.6s}\n"
        "probes:\n"
        f"  reachability: {{interval: {INTERVAL}, timeout: 0.3}}\n"
        "  snmp: {interval: 1h, timeout: 0.3}\n"
        "  onvif: {interval: 1h, timeout: 0.3}\n"
        "  vendor_http: {interval: 1h, timeout: 0.3}\n"
        "  snapshot: {interval: 1h, timeout: 0.3}\n",
        encoding="utf-8",
    )
    return path


def probes_in(log: Path) -> list[tuple[str, float, float]]:
    return [(m[1], float(m[2]), float(m[3])) for m in PROBED.finditer(log.read_text(errors="replace"))]


async def test_killed_workers_devices_are_taken_over_and_never_probed_twice(
    tmp_path: Path, postgres_url: str, listener_port: int
) -> None:
    engine = open_store(postgres_url)
    fleet = [Device(id=f"cam-{i:03d}", kind=DeviceKind.CAMERA, host=f"127.0.43.{i + 1}", onvif_port=listener_port,
                    rtsp_port=listener_port, protocols=(Protocol.ONVIF,)) for i in range(DEVICES)]
    with engine.begin() as conn:
        apply_plan(conn, plan_import(fleet, {}), "test")
    engine.dispose()
    workers: dict[str, asyncio.subprocess.Process] = {}
    logs: dict[str, Path] = {}
    for name in ("w1", "w2", "w3"):
        logs[name] = tmp_path / f"{name}.log"
        config = write_config(tmp_path, name, postgres_url)
        with logs[name].open("w") as log_file:  # the worker holds its own copy of the descriptor
            workers[name] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "fleetmon", "--config", str(config), "run", "--worker-id", name, "--log-level", "debug",
                stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
            )
    try:
        for name, log in logs.items():  # a worker loads its probes' clients (WSDLs...) before it joins
            deadline = time.monotonic() + 60
            while f"monitor {name} started" not in log.read_text(errors="replace"):
                assert workers[name].returncode is None and time.monotonic() < deadline, f"{name} did not start"
                await asyncio.sleep(0.2)
        await asyncio.sleep(4 * INTERVAL)  # leases settle: the first worker drains to a third
        before_kill = time.time()
        victim = {device for device, start, _ in probes_in(logs["w1"]) if start > before_kill - INTERVAL}
        workers["w1"].send_signal(signal.SIGKILL)
        killed_at = time.time()
        await asyncio.sleep(3 * INTERVAL)
    finally:
        for process in workers.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in workers.values():
            await asyncio.wait_for(process.wait(), 10)

    assert 0 < len(victim) < DEVICES, "w1 should hold a share of the fleet, not all or nothing"
    survivors = probes_in(logs["w2"]) + probes_in(logs["w3"])
    first_after_kill = {}
    for device, start, _ in sorted(survivors, key=lambda p: p[1]):
        if start > killed_at:
            first_after_kill.setdefault(device, start)
    waited = {d: first_after_kill.get(d, float("inf")) - killed_at for d in victim}
    late = {d: seconds for d, seconds in waited.items() if seconds > 2 * INTERVAL}
    assert not late, f"devices of the killed worker not probed within two intervals: {late}"

    by_device: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for name, log in logs.items():
        for device, start, end in probes_in(log):
            by_device[device].append((start, end, name))
    for device, spans in by_device.items():
        spans.sort()
        for (_, e1, w1), (s2, _, w2) in itertools.pairwise(spans):
            assert not (w1 != w2 and s2 < e1), f"{device} probed by {w1} and {w2} at once"
    assert {name for spans in by_device.values() for _, _, name in spans} == {"w1", "w2", "w3"}
