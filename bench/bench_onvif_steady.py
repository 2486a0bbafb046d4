"""CPU per camera of the steady-state ONVIF check (clock + identity): lean SOAP path, zeep, and the simulator answering.

    python bench/bench_onvif_steady.py [--cameras 2000] [--repeat 5] [--concurrency 16] [--profile lean|zeep]
    python bench/bench_onvif_steady.py --cameras 136000 --repeat 1 --paths lean   # a province in one interval?

The simulator serves the sample fleet's cameras on one web port in its own process. Each round
sweeps every camera with `probe_onvif(media=False)` (what a sweep asks once stream and snapshot
addresses are known: GetSystemDateAndTime unsigned, GetDeviceInformation signed), once through
the lean path (`fleetmon.probes.onvif.soap`) and once through zeep (`OnvifClients(lean=False)`),
`--concurrency` in flight. CPU is this process's (user + system) per camera; the peer, in the
same sweep, is the simulator's CPU per camera (/proc) answering those two calls. Medians of
`--repeat` rounds, after one warm-up sweep of each, with the wall time of a sweep (the service
checks every camera once per ONVIF interval, 300 s by default). Prints a markdown table; with `--profile`,
also pyinstrument's profile of one more sweep of that path (its top lines go in the docs).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from bench.bench_simulator_onvif import PASSWORD, USER, simulator_process
from bench.common import arguments, cpu_seconds
from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.probe import probe_onvif
from fleetmon.probes.target import Credentials, Target

PATHS = {"lean": True, "zeep": False}


async def sweep(clients: OnvifClients, hosts: list[str], port: int, in_flight: int) -> int:
    """Clock + identity of every camera; how many were ok."""
    gate = asyncio.Semaphore(in_flight)
    credentials = Credentials(USER, SecretStr(PASSWORD))

    async def one(host: str) -> bool:
        async with gate:
            target = Target(device_id=host, host=host, onvif_port=port, timeout=10.0, credentials=credentials,
                            kind="camera")
            result = await probe_onvif(target, clients, media=False)
            return result.ok and result.identity is not None and result.clock_skew_seconds is not None

    return sum(await asyncio.gather(*(one(h) for h in hosts)))


async def rounds(pid: int, hosts: list[str], port: int, in_flight: int, repeat: int, paths: list[str],
                 profile: str | None) -> dict[str, list[tuple[float, float, float, int]]]:
    """Per path, per round: (our CPU per camera, the simulator's CPU per camera, the sweep's wall seconds, cameras ok)."""
    measured: dict[str, list[tuple[float, float, float, int]]] = {path: [] for path in paths}
    async with AsyncExitStack() as stack:
        clients = {path: await OnvifClients.start(stack, lean=PATHS[path]) for path in paths}
        for path in paths:
            await sweep(clients[path], hosts, port, in_flight)  # warm-up: pools, caches, the simulator's state
        for _ in range(repeat):
            for path in paths:
                ours, theirs, wall = time.process_time(), cpu_seconds(pid), time.perf_counter()
                ok = await sweep(clients[path], hosts, port, in_flight)
                ours, theirs = time.process_time() - ours, cpu_seconds(pid) - theirs
                measured[path].append((ours / len(hosts), theirs / len(hosts), time.perf_counter() - wall, ok))
        if profile:
            from pyinstrument import Profiler

            with Profiler(interval=0.0005, async_mode="disabled") as profiler:
                await sweep(clients[profile], hosts, port, in_flight)
            print("\n".join(profiler.output_text(flat=True, time="percent_of_total").splitlines()[:40]))
    return measured


def main() -> None:
    parser = arguments(__doc__, cameras=2000, repeat=5, concurrency=16)
    parser.add_argument("--profile", choices=list(PATHS), help="profile one more sweep of this path (pyinstrument)")
    parser.add_argument("--paths", default=",".join(PATHS), help="which paths to sweep, comma-separated (lean,zeep)")
    args = parser.parse_args()
    paths = args.paths.split(",")
    if not set(paths) <= PATHS.keys() or (args.profile and args.profile not in paths):
        parser.error(f"--paths: some of {', '.join(PATHS)}, the profiled one among them")
    with simulator_process(args.cameras) as (pid, port, info):
        hosts = info["cameras"]
        measured = asyncio.run(rounds(pid, hosts, port, args.concurrency, args.repeat, paths, args.profile))
    print(f"{len(hosts):,} cameras, clock + identity (2 ONVIF calls each), {args.concurrency} in flight, "
          f"{args.repeat} rounds, medians\n")
    print("| path | fleetmon CPU per camera | simulator CPU per camera (same sweeps) | fleetmon ÷ simulator | sweep wall | cameras ok |")
    print("|---|---|---|---|---|---|")
    medians = {}
    for path, runs in measured.items():
        ours, theirs = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        ratio = statistics.median(r[0] / r[1] for r in runs)
        medians[path] = ours
        wall = statistics.median(r[2] for r in runs)
        print(f"| {path} | {ours * 1000:.3f} ms | {theirs * 1000:.3f} ms | {ratio:.2f} | {wall:.0f} s | "
              f"{min(r[3] for r in runs):,}/{len(hosts):,} |")
    if len(medians) == len(PATHS):
        print(f"\nzeep ÷ lean: {medians['zeep'] / medians['lean']:.1f}× the CPU per camera")


if __name__ == "__main__":
    main()
