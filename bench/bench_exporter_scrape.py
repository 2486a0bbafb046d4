"""Scrape cost of /metrics for a province: render time, size, and a whole HTTP scrape.

The peer is prometheus_client's own `generate_latest` over the same FleetCollector, measured in
the same run on the same snapshot: the fast renderer writes the same bytes (the tests check
that), so the ratio is the interpreter time a scrape no longer takes from probing.

    python bench/bench_exporter_scrape.py [--cameras 14053 136000] [--repeat 5]
"""

from __future__ import annotations

import asyncio
import gzip
import platform
import statistics
import sys
import time
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.common import arguments, median_times
from fleetmon.config import Config, ListenConfig
from fleetmon.exporters.http import start_metrics
from fleetmon.exporters.prometheus import FleetCollector, render
from fleetmon.exporters.sample import province_view
from fleetmon.monitor.view import MonitorView


async def _http_scrapes(view: MonitorView, repeat: int) -> tuple[float, int]:
    """Median wall seconds of a whole scrape as Prometheus makes it (gzip), and the bytes sent."""
    async with AsyncExitStack() as stack:
        url = await start_metrics(view, Config(metrics=ListenConfig(host="127.0.0.1", port=0)), stack)
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            times, size = [], 0
            for _ in range(repeat):
                started = time.perf_counter()
                async with session.get(url, headers={"Accept-Encoding": "gzip"}) as response:
                    body = await response.read()
                times.append(time.perf_counter() - started)
                size = len(body)
                gzip.decompress(body)
    return statistics.median(times), size


def main() -> None:
    parser = arguments(__doc__, repeat=5)
    parser.add_argument("--cameras", type=int, nargs="+", default=[14_053, 136_000], help="province sizes to render")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {platform.platform()}")
    print("| cameras | devices | samples | size (MB) | gzip (MB) | fast render wall / CPU (s) | generate_latest wall / CPU (s) "
          "| ratio (CPU) | HTTP scrape, gzip (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for cameras in args.cameras:
        view = province_view(cameras)
        registry = CollectorRegistry()
        registry.register(FleetCollector(view))
        body = render(view)
        fast_wall, fast_cpu = median_times(partial(render, view), args.repeat)
        peer_wall, peer_cpu = median_times(partial(generate_latest, registry), max(1, args.repeat // 2))
        scrape, gzipped = asyncio.run(_http_scrapes(view, args.repeat))
        samples = sum(1 for line in body.splitlines() if not line.startswith(b"#"))
        print(f"| {cameras:,} | {len(view.statuses):,} | {samples:,} | {len(body) / 1e6:.1f} | {gzipped / 1e6:.2f} "
              f"| {fast_wall:.2f} / {fast_cpu:.2f} | {peer_wall:.2f} / {peer_cpu:.2f} | {peer_cpu / fast_cpu:.1f} | {scrape:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
