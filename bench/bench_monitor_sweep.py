"""A full sweep of the monitor over fleets of growing size: wall time, CPU, memory.

The fleet is played by `fleetmon simulate` (or, with --listener, by a bare TCP listener
process) on the sample fleet's loopback addresses; this process runs the monitor's real sweep
code path (`run_sweep` -> probe -> observation -> state machine) with no spread, as fast as
the concurrency allows.

    python bench/bench_monitor_sweep.py --sizes 1000,10000,50000,136000 --kinds reachability
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import resource
import socket
import time
import tracemalloc
from contextlib import AsyncExitStack

from fleetmon.config import Config
from fleetmon.health.machine import Policy, apply
from fleetmon.health.model import DeviceStatus, Observation
from fleetmon.inventory.model import Device
from fleetmon.inventory.sample import SAMPLE_PORTS, sample_fleet
from fleetmon.monitor.kinds import build_kinds
from fleetmon.monitor.sweep import SweepPlan, run_sweep
from fleetmon.monitor.targets import TargetBuilder
from fleetmon.monitor.view import SweepStats
from probes.registry import ProbeClients


def _listener(ports: list[int], ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    """Accept on every address of 127/8 and close: a device that answers its service ports."""

    async def serve() -> None:
        servers = []
        for port in ports:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", port))
            servers.append(await asyncio.start_server(lambda r, w: w.close(), sock=sock, backlog=4096))
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(serve())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def sweep_once(fleet: list[Device], kinds: list[str], concurrency: int) -> dict[str, float]:
    config = Config()
    statuses = {d.id: DeviceStatus() for d in fleet}
    policy = Policy()
    figures: dict[str, float] = {}
    async with AsyncExitStack() as stack:
        clients = await ProbeClients.start(stack)
        builder = TargetBuilder(config)
        for kind in (k for k in build_kinds(config, clients) if k.name in kinds):
            targets = [builder.target(d, kind.schedule.timeout) for d in fleet if kind.applies(d)]

            def observe(obs: Observation, kind_liveness=kind.liveness) -> None:  # type: ignore[no-untyped-def]
                apply(statuses[obs.device_id], obs, policy, liveness=True)

            stats = SweepStats(kind.name, kind.schedule.interval)
            cpu, wall = _cpu(), time.perf_counter()
            await run_sweep(SweepPlan(kind.name, kind.run, 0.0, concurrency), targets, observe, stats)
            figures[f"{kind.name}_wall"] = time.perf_counter() - wall
            figures[f"{kind.name}_cpu"] = _cpu() - cpu
            figures[f"{kind.name}_devices"] = len(targets)
            failed = sum(1 for s in statuses.values() if s.probes.get(kind.name) and s.probes[kind.name].last_status != "ok")
            figures[f"{kind.name}_failed"] = failed
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000,136000")
    parser.add_argument("--kinds", default="reachability")
    parser.add_argument("--concurrency", type=int, default=1000)
    args = parser.parse_args()
    ready = multiprocessing.Event()
    ports = sorted({SAMPLE_PORTS["onvif_port"], SAMPLE_PORTS["rtsp_port"]})
    listener = multiprocessing.Process(target=_listener, args=(ports, ready), daemon=True)
    listener.start()
    ready.wait(10)
    kinds = args.kinds.split(",")
    print(f"machine: {os.cpu_count()} cores; kinds {kinds}; concurrency {args.concurrency}\n")
    print("| devices | kind | probed | wall (s) | CPU (s) | CPU per device (ms) | failed | memory at rest per device (B) |")
    print("|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        gc.collect()
        tracemalloc.start()
        fleet = sample_fleet(size)
        statuses = {d.id: DeviceStatus() for d in fleet}
        at_rest = tracemalloc.get_traced_memory()[0] / len(fleet)
        tracemalloc.stop()
        del statuses
        figures = asyncio.run(sweep_once(fleet, kinds, args.concurrency))
        for kind in kinds:
            n = figures[f"{kind}_devices"]
            print(f"| {len(fleet):,} | {kind} | {n:,.0f} | {figures[f'{kind}_wall']:.1f} | {figures[f'{kind}_cpu']:.1f} | "
                  f"{1000 * figures[f'{kind}_cpu'] / max(n, 1):.3f} | {figures[f'{kind}_failed']:.0f} | {at_rest:,.0f} |")
    listener.terminate()


if __name__ == "__main__":
    main()
