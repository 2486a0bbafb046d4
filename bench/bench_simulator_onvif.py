"""How fast the simulator's ONVIF side answers, and what a device costs it; onvif-zeep-async in the same run.

    python bench/bench_simulator_onvif.py [--cameras 14053] [--seconds 5] [--repeat 3]

The simulator serves the sample province on one web port in its own process, so its CPU time
(/proc, user + system) is its own. An aiohttp load generator keeps 64 requests in flight on
keep-alive connections, spread over every device address: GetDeviceInformation signed with a
WS-Security PasswordDigest (the server checks SHA-1 and the Created time) and the unauthenticated
GetSystemDateAndTime; each device visit is CALLS_PER_VISIT requests on one connection, as a probe
makes (then the connection idles in the pool and the next device gets a new one). The peer is
onvif-zeep-async, the third-party client: its CPU per GetDeviceInformation call against the same
server (one camera object, reused), measured in this process. Memory per device is the server's
resident-set growth from building the fleet and answering every device once, divided by the
device count. Prints a markdown table.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import arguments, cpu_seconds, free_port, rss_bytes

IN_FLIGHT = 64
CALLS_PER_VISIT = 6  # requests a probe makes to one device on one connection before moving on
USER, PASSWORD = "admin", "fleetmon-demo"
ENVELOPE = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">{header}<s:Body>'
            '<{op} xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>')
SECURITY = (
    '<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
    "<UsernameToken><Username>{user}</Username><Password Type=\"http://docs.oasis-open.org/wss/2004/01/"
    'oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</Password><Nonce>{nonce}</Nonce>'
    '<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">{created}'
    "</Created></UsernameToken></Security></s:Header>")


def signed(operation: str) -> bytes:
    """A request with a fresh digest token (valid for the server's 300 s window)."""
    nonce = os.urandom(16)
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + PASSWORD.encode()).digest()).decode()
    header = SECURITY.format(user=USER, digest=digest, nonce=base64.b64encode(nonce).decode(), created=created)
    return ENVELOPE.format(header=header, op=operation).encode()


def unsigned(operation: str) -> bytes:
    return ENVELOPE.format(header="", op=operation).encode()


async def load(urls: list[str], body: bytes, seconds: float) -> int:
    """Answers (HTTP 200) received in `seconds`, IN_FLIGHT requests at a time, round-robin over `urls`."""
    import aiohttp

    answered = 0
    end = time.monotonic() + seconds
    headers = {"Content-Type": "application/soap+xml"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def worker(offset: int) -> None:
            nonlocal answered
            n = offset
            while time.monotonic() < end:
                for _ in range(CALLS_PER_VISIT):
                    async with session.post(urls[n % len(urls)], data=body, headers=headers) as response:
                        await response.read()
                        answered += response.status == 200
                n += IN_FLIGHT

        await asyncio.gather(*(worker(i) for i in range(IN_FLIGHT)))
    return answered


async def each_once(urls: list[str], body: bytes) -> None:
    """One request to every device (its state touched, as a sweep would)."""
    import aiohttp

    gate = asyncio.Semaphore(IN_FLIGHT)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        async def one(url: str) -> None:
            async with gate, session.post(url, data=body, headers={"Content-Type": "application/soap+xml"}) as reply:
                await reply.read()

        await asyncio.gather(*(one(url) for url in urls))


def measure(pid: int, urls: list[str], body: bytes, seconds: float) -> float:
    """Answers per CPU-second of the server process."""
    cpu = cpu_seconds(pid)
    answered = asyncio.run(load(urls, body, seconds))
    return answered / max(cpu_seconds(pid) - cpu, 1e-9)


def serve(cameras: int, port: int) -> None:
    from fleetmon.inventory.sample import sample_fleet
    from fleetmon.simulator.fleet import Fleet
    from fleetmon.simulator.http_server import start_http

    async def main() -> None:
        before = rss_bytes()
        inventory = [dataclasses.replace(d, onvif_port=port, http_port=port) for d in sample_fleet(cameras)]
        fleet = Fleet.from_inventory(inventory)
        await start_http(fleet, port)
        hosts = [e.device.host for e in fleet.devices.values() if e.device.kind.value in ("camera", "nvr")]
        camera_hosts = [e.device.host for e in fleet.devices.values() if e.device.kind.value == "camera"]
        print(json.dumps({"devices": len(fleet.devices), "rss_before": before, "hosts": hosts, "cameras": camera_hosts}),
              flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


async def zeep_client_cpu(host: str, port: int, calls: int) -> float:
    """CPU seconds per GetDeviceInformation of onvif-zeep-async (one camera object, reused)."""
    from onvif import ONVIFCamera

    camera = ONVIFCamera(host, port, USER, PASSWORD, no_cache=True)
    try:
        await camera.update_xaddrs()
        device = await camera.create_devicemgmt_service()
        for _ in range(20):
            await device.GetDeviceInformation()
        started = time.process_time()
        for _ in range(calls):
            await device.GetDeviceInformation()
        return (time.process_time() - started) / calls
    finally:
        await camera.close()


@contextlib.contextmanager
def simulator_process(cameras: int) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """The sample fleet served by `serve` in a child process: (its pid, the web port, what it printed)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--cameras", str(cameras)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.pid, port, json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    args = arguments(__doc__, cameras=14_053, seconds=5.0, repeat=3, serve=True).parse_args()
    if args.serve:
        serve(args.cameras, args.serve)
        return
    with simulator_process(args.cameras) as (pid, port, info):
        urls = [f"http://{host}:{port}/onvif/device_service" for host in info["hosts"]]
        asyncio.run(each_once(urls, unsigned("GetSystemDateAndTime")))
        bytes_per_device = (rss_bytes(pid) - info["rss_before"]) / info["devices"]
        rates = {}
        for name, body in (("GetDeviceInformation (digest)", signed("GetDeviceInformation")),
                           ("GetSystemDateAndTime", unsigned("GetSystemDateAndTime"))):
            rates[name] = statistics.median(measure(pid, urls, body, args.seconds) for _ in range(args.repeat))
        zeep = statistics.median(asyncio.run(zeep_client_cpu(info["hosts"][0], port, 300)) for _ in range(args.repeat))
    print(f"{info['devices']:,} devices ({len(urls):,} with ONVIF), one web port, ≤{IN_FLIGHT} requests in flight "
          f"on keep-alive connections, {args.seconds:g} s × {args.repeat}, medians\n")
    print("| request | answers per CPU-second (simulator) | CPU per answer | onvif-zeep-async client CPU per call | ratio |")
    print("|---|---|---|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {1000 / rate:.3f} ms | {zeep * 1000:.3f} ms | {zeep * rate:.1f}× |")
    print(f"\nmemory per device (fleet built, every device answered once): {bytes_per_device / 1024:.2f} KiB")


if __name__ == "__main__":
    main()
