"""A full sweep of the monitor over fleets of growing size: wall time, CPU, memory.

The fleet is played by `fleetmon simulate` in its own process (the second core), on the sample
fleet's loopback addresses; this process runs the monitor's real sweep code path (`build_kinds`
-> `run_sweep` -> probe -> observation -> state machine) with no spread, as fast as the
concurrency allows. The simulator's own CPU over the same sweep is the peer figure: how much of
the machine answering cost, against what asking cost.

    python bench/bench_monitor_sweep.py --sizes 1000,10000,50000,136000 --kinds reachability,snmp,onvif
"""

from __future__ import annotations

import asyncio
import copy
import gc
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.common import arguments, cpu_seconds
from bench.fleet import bench_config, kind_devices, start_simulator, sweep_kind
from fleetmon.health.machine import Policy
from fleetmon.health.model import DeviceStatus
from fleetmon.inventory.model import Device
from fleetmon.inventory.sample import sample_fleet
from fleetmon.monitor.kinds import build_kinds
from fleetmon.monitor.targets import TargetBuilder
from fleetmon.probes.registry import ProbeClients
from fleetmon.process import raise_open_files_limit, tune_gc


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def sweep_once(fleet: list[Device], kinds: list[str], concurrency: int, simulator: int,
                     sweeps: int) -> tuple[dict[str, dict[str, float]], float]:
    config = bench_config()
    statuses = {d.id: DeviceStatus() for d in fleet}
    policy = Policy()
    figures: dict[str, dict[str, float]] = {}
    async with AsyncExitStack() as stack:
        clients = await ProbeClients.start(stack)
        builder = TargetBuilder(config)
        chosen = [k for k in build_kinds(config, clients) if k.name in kinds]
        for kind, sweep in ((k, n) for n in range(1, sweeps + 1) for k in chosen):
            devices = kind_devices(kind, fleet)
            gc.collect()
            cpu, peer, wall = _cpu(), cpu_seconds(simulator), time.perf_counter()
            await sweep_kind(kind, devices, statuses, builder, concurrency, policy)
            figures[f"{kind.name} #{sweep}" if sweeps > 1 else kind.name] = {
                "wall": time.perf_counter() - wall, "cpu": _cpu() - cpu, "peer": cpu_seconds(simulator) - peer,
                "devices": len(devices),
                "failed": sum(1 for i in devices if statuses[i].probes[kind.name].last_status != "ok"),
            }
    # At rest: what the monitor keeps per device between sweeps (its inventory record and its
    # health state, once every kind has run), measured as the allocations of a faithful copy.
    gc.collect()
    tracemalloc.start()
    replica = copy.deepcopy((fleet, statuses))
    at_rest = tracemalloc.get_traced_memory()[0] / len(fleet)
    tracemalloc.stop()
    del replica
    return figures, at_rest


def main() -> None:
    parser = arguments(__doc__, concurrency=1000)
    parser.add_argument("--sizes", default="1000,10000,50000,136000")
    parser.add_argument("--kinds", default="reachability,snmp,onvif")
    parser.add_argument("--sweeps", type=int, default=1,
                        help="Sweeps of each kind: the first ONVIF sweep also learns stream and snapshot addresses.")
    args = parser.parse_args()
    raise_open_files_limit()
    tune_gc()  # as `fleetmon run` does
    kinds = args.kinds.split(",")
    print(f"machine: {os.cpu_count()} cores; kinds {kinds}; concurrency {args.concurrency}\n")
    print("| devices | kind | probed | wall (s) | fleetmon CPU (s) | CPU per device (ms) | simulator CPU (s) "
          "| ratio fleetmon/simulator | failed |")
    print("|---|---|---|---|---|---|---|---|---|")
    rest = []
    for size in (int(s) for s in args.sizes.split(",")):
        fleet = sample_fleet(size)
        with tempfile.TemporaryDirectory() as folder:
            simulator = start_simulator(fleet, Path(folder))
            try:
                figures, at_rest = asyncio.run(sweep_once(fleet, kinds, args.concurrency, simulator.pid, args.sweeps))
            finally:
                simulator.terminate()
                simulator.wait()
        for kind, f in figures.items():
            print(f"| {len(fleet):,} | {kind} | {f['devices']:,.0f} | {f['wall']:.1f} | {f['cpu']:.1f} | "
                  f"{1000 * f['cpu'] / max(f['devices'], 1):.3f} | {f['peer']:.1f} | {f['cpu'] / max(f['peer'], 1e-9):.2f} "
                  f"| {f['failed']:.0f} |")
        total_wall = sum(f["wall"] for name, f in figures.items() if "#" not in name or name.endswith("#1"))  # one of each
        rest.append((len(fleet), total_wall, at_rest, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    print("\n| devices | full sweep wall (s) | inventory record + health state at rest, per device (B) | peak RSS so far (MiB) |")
    print("|---|---|---|---|")
    for size, wall, at_rest, rss in rest:
        print(f"| {size:,} | {wall:.1f} | {at_rest:,.0f} | {rss:,.0f} |")


if __name__ == "__main__":
    main()
