"""Server time of the console's heaviest pages for the sample province (14,053 cameras, 14,976 devices).

The console is called in this process through httpx's ASGI transport (no socket, so the time is the
app's: session check, reading states and the log, templates), signed in as an administrator, over
a SQLite store holding the province and a month of state changes shaped like bench_report's. It
reads states from the store (`StoreSource`, a console without a monitor in its process: the
costlier path; inside `fleetmon run` they are copied from the monitor's memory).

The first request of a page computes its 7-day availability chart (then kept a few minutes); the
median of the requests after it is what a user waits for most of the time. The peer is a bare
Starlette page answering the same number of bytes through the same transport: the floor of any page.

    PYTHONPATH=$PWD python bench/bench_console.py [--cameras 14053] [--repeat 15]
"""

from __future__ import annotations

import asyncio
import platform
import random
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.bench_report import _history
from bench.common import arguments
from fleetmon.config import Config
from fleetmon.console import users
from fleetmon.console.app import create_app
from fleetmon.console.service import make_console
from fleetmon.console.users import Role
from fleetmon.inventory.importer import ImportPlan
from fleetmon.inventory.model import DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.store import statelog
from fleetmon.store.engine import open_store

SECRET = "bench-only-session-secret-0123456789abcdef"
PASSWORD = "bench only, not a real password"


async def _timed(call: Callable[[], Awaitable[httpx.Response]], repeat: int) -> tuple[list[float], list[float], int]:
    walls, cpus, size = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        answer = await call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert answer.status_code == 200, answer.status_code
        size = len(answer.content)
    return walls, cpus, size


def _peer(size: int) -> Starlette:
    body = b"x" * size

    async def page(request: Request) -> Response:
        return Response(body, media_type="text/html; charset=utf-8")

    return Starlette(routes=[Route("/", page)])


async def _bench(app: Starlette, pages: dict[str, str], repeat: int) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
                                 base_url="http://127.0.0.1") as client:
        login = await client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert token is not None
        signed = await client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf": token.group(1), "next": "/status"})
        assert signed.status_code == 303, signed.text
        print("| page | bytes | first request: wall ms / CPU ms | median of the next: wall ms | CPU ms | peer CPU ms | ratio (CPU) |")
        print("|---|---|---|---|---|---|---|")
        for name, url in pages.items():
            first_wall, first_cpu, size = await _timed(lambda url=url: client.get(url), 1)  # type: ignore[misc]
            walls, cpus, size = await _timed(lambda url=url: client.get(url), repeat)  # type: ignore[misc]
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_peer(size)), base_url="http://127.0.0.1") as bare:
                _, peer_cpus, _ = await _timed(lambda: bare.get("/"), repeat)
            cpu, peer = statistics.median(cpus), statistics.median(peer_cpus)
            print(f"| {name} | {size:,} | {first_wall[0] * 1000:.0f} / {first_cpu[0] * 1000:.0f} | {statistics.median(walls) * 1000:.0f} "
                  f"| {cpu * 1000:.0f} | {peer * 1000:.1f} | {cpu / peer:.0f} |")


def main() -> None:
    args = arguments(__doc__ or "", cameras=14_053, repeat=15).parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fleetmon-bench-console-"))
    engine = open_store(f"sqlite:///{folder / 'bench.db'}")
    fleet = sample_fleet(args.cameras)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as conn:
        from fleetmon.store.inventory import apply_plan

        apply_plan(conn, ImportPlan(added=fleet), "bench")
        users.add(conn, "bench", PASSWORD, Role.ADMINISTRATOR)
    changes = _history([d.id for d in fleet], (now - timedelta(days=30)).timestamp(), now.timestamp(), 2.0, random.Random(7))
    with engine.begin() as conn:
        for offset in range(0, len(changes), 20_000):
            statelog.write(conn, changes[offset : offset + 20_000])
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; "
          f"{len(fleet):,} devices, {len(changes):,} state changes in the last 30 days (filled in {time.perf_counter() - started:.0f} s)\n")
    config = Config.model_validate({"data_dir": str(folder), "web": {"session_secret": SECRET}})
    app = create_app(make_console(config, engine), SECRET)
    camera = next(d for d in fleet if d.kind is DeviceKind.CAMERA)
    pages = {"province status (/status)": "/status", "device page (a camera)": f"/devices/{camera.id}", "tickets board": "/tickets"}
    try:
        asyncio.run(_bench(app, pages, args.repeat))
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
