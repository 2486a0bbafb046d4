"""What the fleet benches share: the simulator in its own processes, and one sweep of one probe kind
through the monitor's own code path (`build_kinds` -> `run_sweep` -> probe -> observation -> state
machine), with no spread, as fast as the concurrency allows.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.common import free_port
from fleetmon.config import Config, parse_config
from fleetmon.health.machine import Policy, apply
from fleetmon.health.model import DeviceStatus, Observation
from fleetmon.inventory.model import Device
from fleetmon.inventory.sheets import write_sheet
from fleetmon.monitor.service import ProbeKind
from fleetmon.monitor.sweep import SweepPlan, run_sweep
from fleetmon.monitor.targets import TargetBuilder
from fleetmon.monitor.view import SweepStats
from fleetmon.probes.target import Target
from fleetmon.store.inventory import device_dicts

COMMUNITY = "public"
CONTROL_PORT = 16190


def bench_config() -> Config:
    """The demo credential profile: what the simulator answers to (v2c, web login)."""
    return parse_config({
        "credentials": {"demo": {"username": "admin", "password": "fleetmon-demo",
                                 "snmp": {"version": "2c", "community": COMMUNITY}}},
        "default_credentials": "demo",
    }, "bench")


def shard(fleet: list[Device], shards: int) -> list[list[Device]]:
    """The fleet in `shards` slices, each on its own ports, free now, for one simulator process each.

    The simulator serves a port with one socket for every address, so two processes cannot share a
    port: a slice on its own ports is what lets several processes play one fleet, and ports chosen
    free keep the bench clear of a simulator someone else runs on the sample's ports.
    """
    slices: list[list[Device]] = [[] for _ in range(shards)]
    ports = [(free_port(), free_port(), free_port(socket.SOCK_DGRAM)) for _ in range(shards)]
    for i, device in enumerate(fleet):
        web, rtsp, snmp = ports[i % shards]
        slices[i % shards].append(dataclasses.replace(device, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp))
    return slices


def start_simulator(fleet: list[Device], folder: Path, control_port: int = CONTROL_PORT) -> subprocess.Popen[bytes]:
    """`fleetmon simulate` playing `fleet` in its own process, returned once it answers its control API."""
    sheet = folder / f"fleet-{control_port}.csv"
    write_sheet(sheet, device_dicts(fleet))
    token_file = folder / f"simulator-{control_port}.token"
    child = subprocess.Popen([sys.executable, "-m", "fleetmon", "simulate", "--inventory", str(sheet),
                              "--control-port", str(control_port), "--token-file", str(token_file),
                              "--snmp-community", COMMUNITY, "--ws-discovery-port", "0"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            token = token_file.read_text().strip() if token_file.exists() else ""
            if token and httpx.get(f"http://127.0.0.1:{control_port}/devices/{fleet[0].id}", timeout=5,
                                   headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                return child
            time.sleep(0.5)
        except httpx.TransportError:
            time.sleep(0.5)
    child.kill()
    child.wait()
    raise SystemExit("the simulator did not start")


def kind_devices(kind: ProbeKind, fleet: list[Device]) -> dict[str, Device]:
    return {d.id: d for d in fleet if kind.applies(d)}


async def sweep_kind(kind: ProbeKind, devices: dict[str, Device], statuses: dict[str, DeviceStatus],
                     builder: TargetBuilder, concurrency: int, policy: Policy) -> SweepStats:
    """One sweep of `kind` over `devices`, every observation applied to `statuses` as the monitor does."""
    def target_of(device_id: str) -> Target:
        return builder.target(devices[device_id], kind.schedule.timeout)

    def observe(obs: Observation, liveness: Callable[[Device], bool] = kind.liveness) -> None:
        apply(statuses[obs.device_id], obs, policy, liveness=liveness(devices[obs.device_id]))

    stats = SweepStats(kind.name, kind.schedule.interval)
    await run_sweep(SweepPlan(kind.name, kind.run, 0.0, kind.schedule.concurrency or concurrency), devices, target_of, observe, stats)
    return stats
