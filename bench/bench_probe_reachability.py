"""CPU per reachability probe and per image assessment; writes its section of docs/BENCHMARKS.md.

TCP: a listener on 0.0.0.0:PORT in a child process (so its accept work is not counted) and
`tcp_check` to many loopback addresses 127.0.x.y, with bounded concurrency as a sweep would run.
The peer is `asyncio.open_connection`, the obvious way to write the same connect, measured in
the same run. ICMP: sequential echoes to 127.0.0.1. Images: `assess` on generated snapshots at
camera resolutions, with a previous and a reference fingerprint so every check runs.

    python bench/bench_probe_reachability.py [--probes 5000] [--concurrency 256]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.common import arguments, free_port, write_section
from bench.image_checks_confusion import draw_world, snapshot, view
from fleetmon.probes.image_quality import ImageThresholds, assess, fingerprint
from fleetmon.probes.reachability import icmp_check, tcp_check
from fleetmon.probes.result import ProbeStatus

SECTION = "## Probes: reachability and images"


def _accept_forever(port: int, ready: multiprocessing.synchronize.Event) -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", port))
        server.listen(4096)
        ready.set()
        while True:
            server.accept()[0].close()


def _addresses(count: int) -> list[str]:
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(count)]


async def _open_connection(host: str, port: int) -> ProbeStatus:
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5.0)
    writer.close()
    return ProbeStatus.OK


async def _fleetmon(host: str, port: int) -> ProbeStatus:
    return (await tcp_check(host, port, "onvif", 5.0)).status


async def _sweep(connect: Callable[[str, int], Awaitable[ProbeStatus]], hosts: list[str], port: int,
                 concurrency: int) -> tuple[float, float, int]:
    """(CPU ms per probe, probes per second, probes not ok)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(host: str) -> ProbeStatus:
        async with gate:
            return await connect(host, port)

    cpu, wall = time.process_time(), time.perf_counter()
    statuses = await asyncio.gather(*(one(host) for host in hosts))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / len(hosts) * 1000, len(hosts) / wall, sum(s is not ProbeStatus.OK for s in statuses)


async def _median_sweep(connect: Callable[[str, int], Awaitable[ProbeStatus]], hosts: list[str], port: int,
                        args: argparse.Namespace) -> tuple[float, float, int]:
    """The run with the median CPU out of `args.repeat`."""
    runs = sorted([await _sweep(connect, hosts, port, args.concurrency) for _ in range(args.repeat)])
    return runs[len(runs) // 2]


async def _icmp(count: int) -> tuple[float, str]:
    cpu = time.process_time()
    results = [await icmp_check("127.0.0.1", 1.0) for _ in range(count)]
    statuses = {r.status for r in results}
    if statuses != {ProbeStatus.OK}:
        return float("nan"), results[0].error
    return (time.process_time() - cpu) / count * 1000, ""


def _images(repeat: int) -> list[tuple[str, float]]:
    rng = np.random.default_rng(11)
    scene = view(draw_world(rng))
    rows = []
    for width, height in ((480, 270), (1280, 720), (1920, 1080)):
        picture = scene.resize((width, height), Image.Resampling.BICUBIC)
        previous, reference = fingerprint(snapshot(picture, rng, 1)), fingerprint(snapshot(picture, rng, 2))
        jpeg = snapshot(picture, rng, 3)
        cpu = time.process_time()
        for _ in range(repeat):
            assess(jpeg, previous, reference, ImageThresholds())
        rows.append((f"{width}x{height} ({len(jpeg) // 1024} KiB JPEG)", (time.process_time() - cpu) / repeat * 1000))
    return rows


async def main() -> None:
    parser = arguments(__doc__, repeat=3, concurrency=256)
    parser.add_argument("--probes", type=int, default=5000)
    parser.add_argument("--image-repeat", type=int, default=30)
    args = parser.parse_args()

    port, ready = free_port(host="0.0.0.0"), multiprocessing.Event()
    listener = multiprocessing.Process(target=_accept_forever, args=(port, ready), daemon=True)
    listener.start()
    ready.wait(5)
    hosts = _addresses(args.probes)
    try:
        await _sweep(_fleetmon, hosts[:200], port, args.concurrency)  # warm-up
        ours = await _median_sweep(_fleetmon, hosts, port, args)
        peer = await _median_sweep(_open_connection, hosts, port, args)
    finally:
        listener.kill()
    icmp_ms, icmp_reason = await _icmp(200)
    images = _images(args.image_repeat)

    lines = [
        SECTION, "",
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"Linux {platform.release()}; loopback. Client CPU (`time.process_time`) per operation.", "",
        f"    python bench/bench_probe_reachability.py --probes {args.probes} --concurrency {args.concurrency} "
        f"--repeat {args.repeat}", "",
        f"TCP rows: median of {args.repeat} sweeps.", "",
        "| operation | CPU per probe | rate | not ok | ratio to peer |", "|---|---:|---:|---:|---:|",
        f"| `tcp_check` (bare `sock_connect`), {args.probes} addresses 127.0.x.y | {ours[0]:.3f} ms | {ours[1]:,.0f}/s "
        f"| {ours[2]} | {ours[0] / peer[0]:.2f} |",
        f"| peer: `asyncio.open_connection` + close, same addresses | {peer[0]:.3f} ms | {peer[1]:,.0f}/s | {peer[2]} | 1 |",
        "| `icmp_check` to 127.0.0.1, sequential | "
        + (f"{icmp_ms:.3f} ms | | | |" if not icmp_reason else f"not run | | {icmp_reason} | |"),
        "", "| image assessment (`assess`, all five checks) | CPU |", "|---|---:|",
        *(f"| {name} | {ms:.1f} ms |" for name, ms in images),
        "",
        "The Go `blackbox_exporter` figure in DESIGN.md (~0.45 ms per TCP/ICMP probe) is the outside reference.",
        "JPEGs are decoded in grey at a reduced DCT scale (`Image.draft`): 16x the pixels cost about 3x.",
        "ICMP uses one socket per echo: with a raw socket every socket sees every reply, so a wide",
        "concurrent ICMP sweep should share one socket (not done yet).", "",
    ]
    text = "\n".join(lines)
    print(text)
    write_section(SECTION, text)


if __name__ == "__main__":
    asyncio.run(main())
