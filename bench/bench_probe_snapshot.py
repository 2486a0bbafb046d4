"""CPU per snapshot probe and per RTSP probe against the simulator; writes its section of docs/BENCHMARKS.md.

The simulator's web and RTSP servers for `--cameras` cameras on 127.78.x.y run in a child
process, so rendering and serving are not counted; client CPU is `time.process_time` of this
process (all its threads: the image checks run in one). Measured in the same run:

    probe_snapshot    fetch with Digest (two requests) + refuse non-JPEG + decode + five checks
    peer: curl        `curl --digest` fetching the same snapshots, one curl process for all of
                      them (its CPU from RUSAGE_CHILDREN), so process start-up is shared
    peer: assess      decode + checks alone on the same JPEGs, no network
    probe_rtsp        OPTIONS, then DESCRIBE twice (401 challenge, Digest answer), on one connection
    peer: curl        `curl --digest` RTSP OPTIONS and DESCRIBE for the same URLs

    python bench/bench_probe_snapshot.py [--cameras 300] [--concurrency 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import httpx

from bench.common import arguments, free_port, write_section
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.http.snapshot import probe_snapshot
from fleetmon.probes.image_quality import ImageThresholds, assess
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.rtsp import probe_rtsp
from fleetmon.probes.target import Credentials, Target
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.rtsp import start_rtsp
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME, SNAPSHOT_PATH

SECTION = "## Probes: snapshot and RTSP"


def hosts(cameras: int) -> list[str]:
    return [f"127.78.{n // 250}.{n % 250 + 1}" for n in range(cameras)]


def _serve(cameras: int, http_port: int, rtsp_port: int, ready: multiprocessing.synchronize.Event) -> None:
    fleet = Fleet.from_inventory([Device(f"cam-{n:06d}", DeviceKind.CAMERA, host, http_port=http_port,
                                         rtsp_port=rtsp_port) for n, host in enumerate(hosts(cameras))])

    async def main() -> None:
        await start_http(fleet, http_port)
        await start_rtsp(fleet, rtsp_port)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def target(host: str, http_port: int, rtsp_port: int) -> Target:
    return Target(host, host, http_port=http_port, rtsp_port=rtsp_port, timeout=10.0,
                  credentials=Credentials(DEMO_USERNAME, DEMO_PASSWORD))


async def _bounded(jobs: list[Callable[[], Awaitable[ProbeStatus]]], concurrency: int) -> tuple[float, int]:
    """CPU ms per job and the number not ok, with at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[ProbeStatus]]) -> bool:
        async with gate:
            return await job() is ProbeStatus.OK

    cpu = time.process_time()
    results = await asyncio.gather(*(one(job) for job in jobs))
    return (time.process_time() - cpu) / len(jobs) * 1000, results.count(False)


def _curl(config_lines: list[str], extra: list[str]) -> float:
    """CPU ms of one curl process working through `config_lines` (its URLs), per URL."""
    urls = sum(line.startswith("url") for line in config_lines)
    with tempfile.NamedTemporaryFile("w", suffix=".curlrc") as config:  # the login stays off the command line
        config.write(f'user = "{DEMO_USERNAME}:{DEMO_PASSWORD.get_secret_value()}"\n' + "\n".join(config_lines) + "\n")
        config.flush()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(["curl", "--silent", "--show-error", "--fail", "--digest", *extra, "-K", config.name],
                       check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / urls * 1000


async def bench(args: argparse.Namespace) -> dict[str, list[float]]:
    http_port, rtsp_port = free_port(host="0.0.0.0"), free_port(host="0.0.0.0")
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(args.cameras, http_port, rtsp_port, ready), daemon=True)
    server.start()
    if not ready.wait(60):
        raise RuntimeError("the simulator did not start")
    targets = [target(host, http_port, rtsp_port) for host in hosts(args.cameras)]
    urls = [f"http://{t.host}:{http_port}" + SNAPSHOT_PATH.format(profile="Profile_1") for t in targets]
    rtsp_urls = [f"rtsp://{t.host}:{rtsp_port}/stream/Profile_1" for t in targets]
    figures: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    try:
        async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0), trust_env=False) as client:
            async def snapshot_status(t: Target, url: str) -> ProbeStatus:
                return (await probe_snapshot(t, client, url)).status

            async def rtsp_status(t: Target, url: str) -> ProbeStatus:
                return (await probe_rtsp(t, url)).status

            jpegs = [(await client.get(u, auth=httpx.DigestAuth(DEMO_USERNAME, DEMO_PASSWORD.get_secret_value()))).content
                     for u in urls]  # also warms every device's scene cache in the simulator
            for _ in range(args.repeat):
                ms, bad = await _bounded([lambda t=t, u=u: snapshot_status(t, u) for t, u in zip(targets, urls, strict=True)],
                                         args.concurrency)
                figures.setdefault("snapshot", []).append(ms)
                failures["snapshot"] = failures.get("snapshot", 0) + bad
                figures.setdefault("curl_http", []).append(
                    _curl([f'url = "{u}"\noutput = "/dev/null"' for u in urls], []))
                cpu = time.process_time()
                for jpeg in jpegs:
                    assess(jpeg, None, None, ImageThresholds())
                figures.setdefault("assess", []).append((time.process_time() - cpu) / len(jpegs) * 1000)
                ms, bad = await _bounded([lambda t=t, u=u: rtsp_status(t, u) for t, u in zip(targets, rtsp_urls, strict=True)],
                                         args.concurrency)
                figures.setdefault("rtsp", []).append(ms)
                failures["rtsp"] = failures.get("rtsp", 0) + bad
                options = _curl([f'url = "{u}"' for u in rtsp_urls], ["--request", "OPTIONS"])
                describe = _curl([f'url = "{u}"' for u in rtsp_urls], ["--request", "DESCRIBE"])
                figures.setdefault("curl_rtsp", []).append(options + describe)
            figures["jpeg_bytes"] = [statistics.median(len(j) for j in jpegs)]
    finally:
        server.kill()
    if any(failures.values()):
        raise RuntimeError(f"probes not ok: {failures}")
    return figures


def section(args: argparse.Namespace, figures: dict[str, list[float]]) -> str:
    m = {name: statistics.median(values) for name, values in figures.items()}
    return "\n".join([
        SECTION, "",
        f"Machine: {os.cpu_count()} cores (noisy), {platform.machine()}, Python {platform.python_version()}, "
        f"Linux {platform.release()}; loopback; the simulator in a child process, not counted. Client CPU "
        f"(`time.process_time`, all threads) per probe, median of {args.repeat} rounds over {args.cameras} cameras; "
        f"curl's CPU from `RUSAGE_CHILDREN`, one curl process per round.", "",
        f"    python bench/bench_probe_snapshot.py --cameras {args.cameras} --concurrency {args.concurrency} "
        f"--repeat {args.repeat}", "",
        "| operation | CPU per probe | ratio to peer |", "|---|---:|---:|",
        f"| `probe_snapshot`: Digest fetch + decode + five checks, 640x360 JPEG of {m['jpeg_bytes'] / 1024:.0f} KiB "
        f"| {m['snapshot']:.2f} ms | {m['snapshot'] / m['curl_http']:.1f} x curl, "
        f"{m['snapshot'] / m['assess']:.1f} x assess |",
        f"| peer: `curl --digest`, same snapshots (fetch only) | {m['curl_http']:.2f} ms | 1 |",
        f"| peer: `assess` alone on the same JPEGs (decode + checks) | {m['assess']:.2f} ms | 1 |",
        f"| `probe_rtsp`: OPTIONS + DESCRIBE with Digest, one connection | {m['rtsp']:.2f} ms "
        f"| {m['rtsp'] / m['curl_rtsp']:.1f} x curl |",
        f"| peer: `curl --digest` RTSP OPTIONS + DESCRIBE (two connections) | {m['curl_rtsp']:.2f} ms | 1 |",
        "",
        f"At a 20-minute snapshot interval a province's 14,053 cameras are 11.7 probes/s: "
        f"{11.7 * m['snapshot'] / 10:.1f} % of one core. Of a probe, the checks are {m['assess']:.2f} ms; the "
        f"rest ({m['snapshot'] - m['assess']:.2f} ms) is httpx's two requests (challenge, then Digest answer), the "
        "bounded streaming read and the hand-off to the checks' thread.",
        "",
    ])


def main() -> None:
    args = arguments(__doc__, cameras=300, concurrency=16, repeat=3).parse_args()
    text = section(args, asyncio.run(bench(args)))
    print(text)
    write_section(SECTION, text)


if __name__ == "__main__":
    main()
