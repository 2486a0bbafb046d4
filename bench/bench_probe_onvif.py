"""CPU and memory per ONVIF probe against the simulator; onvif-zeep-async's own camera objects in the same run.

    python bench/bench_probe_onvif.py [--cameras 2000] [--repeat 3] [--in-flight 64]

The simulator serves the sample fleet's cameras on one web port in its own process. fleetmon's
`probe_onvif` sweeps every camera (clock, identity, services, 2 profiles with stream and snapshot
URIs: 8 calls), `--in-flight` at a time; CPU is this process's (user + system) per probe. The peer
does the same calls the way onvif-zeep-async is meant to be used: an `ONVIFCamera` per device,
`update_xaddrs()`, the media service, then `close()`. Memory: the traced peak while a sweep runs,
divided by the probes in flight (what a probe in flight costs), and what stays allocated after
the sweep, per device. Prints a markdown table.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from bench.bench_simulator_onvif import PASSWORD, USER, simulator_process
from bench.common import arguments
from fleetmon.probes.onvif.client import KEEPALIVE_SECONDS, OnvifClients
from fleetmon.probes.onvif.probe import probe_onvif
from fleetmon.probes.target import Credentials, Target

STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


async def fleetmon_probe(clients: OnvifClients, host: str, port: int) -> bool:
    target = Target(device_id=host, host=host, onvif_port=port, timeout=10.0,
                    credentials=Credentials(USER, SecretStr(PASSWORD)))
    result = await probe_onvif(target, clients)
    return result.ok and len(result.profiles) == 2


async def zeep_probe(host: str, port: int) -> bool:
    from onvif import ONVIFCamera

    camera = ONVIFCamera(host, port, USER, PASSWORD, no_cache=True, adjust_time=True)
    try:
        await camera.update_xaddrs()
        device = await camera.create_devicemgmt_service()
        await device.GetDeviceInformation()
        media = await camera.create_media_service()
        profiles = await media.GetProfiles()
        for profile in profiles:
            await media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": profile.token})
            await media.GetSnapshotUri({"ProfileToken": profile.token})
        return len(profiles) == 2
    finally:
        await camera.close()


async def sweep(probe: Callable[[str], Awaitable[bool]], hosts: list[str], in_flight: int) -> int:
    gate = asyncio.Semaphore(in_flight)

    async def one(host: str) -> bool:
        async with gate:
            return await probe(host)

    return sum(await asyncio.gather(*(one(h) for h in hosts)))


async def run(kind: str, hosts: list[str], port: int, in_flight: int, traced: bool) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        clients = await OnvifClients.start(stack)
        probe: Callable[[str], Awaitable[bool]]
        probe = partial(fleetmon_probe, clients, port=port) if kind == "fleetmon" else partial(zeep_probe, port=port)
        await sweep(probe, hosts[:in_flight], in_flight)  # warm-up: WSDLs, pools
        if traced:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
        cpu = time.process_time()
        ok = await sweep(probe, hosts, in_flight)
        cpu = time.process_time() - cpu
        out = {"ok": ok, "cpu_per_probe": cpu / len(hosts)}
        if traced:
            await asyncio.sleep(KEEPALIVE_SECONDS + 0.5)  # pooled connections expire: what stays is kept
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out |= {"peak_per_in_flight": (peak - base) / in_flight, "kept_per_device": (current - base) / len(hosts)}
        return out


def main() -> None:
    parser = arguments(__doc__, cameras=2000, repeat=3)
    parser.add_argument("--in-flight", type=int, default=64)
    args = parser.parse_args()
    with simulator_process(args.cameras) as (_, port, info):
        hosts = info["cameras"]
        results = {}
        for kind in ("fleetmon", "onvif-zeep-async"):
            runs = [asyncio.run(run(kind, hosts, port, args.in_flight, traced=False)) for _ in range(args.repeat)]
            memory = asyncio.run(run(kind, hosts, port, args.in_flight, traced=True))
            results[kind] = {"cpu": statistics.median(r["cpu_per_probe"] for r in runs),
                             "ok": min(r["ok"] for r in runs), **memory}
    print(f"{len(hosts):,} cameras, 8 ONVIF calls each, {args.in_flight} probes in flight, "
          f"{args.repeat} sweeps, medians\n")
    print("| client | CPU per probe | CPU per call | traced peak per probe in flight | kept per device after the sweep | probes ok |")
    print("|---|---|---|---|---|---|")
    for kind, r in results.items():
        print(f"| {kind} | {r['cpu'] * 1000:.2f} ms | {r['cpu'] * 1000 / 8:.3f} ms | "
              f"{r['peak_per_in_flight'] / 1024:.0f} KiB | {r['kept_per_device']:.0f} B | {r['ok']:,}/{len(hosts):,} |")
    ours, peer = results["fleetmon"], results["onvif-zeep-async"]
    print(f"\nonvif-zeep-async costs {peer['cpu'] / ours['cpu']:.1f}× the CPU per probe of fleetmon's probe")


if __name__ == "__main__":
    main()
