"""Composition of the simulator: the fleet, its faults, one server per protocol and port, the control API.

Every server is started on an `AsyncExitStack` that owns its cleanup, so a failure half-way
(a port taken) closes what already runs, and cancelling `run` stops everything in reverse order.
Servers bind wildcard sockets tied to the loopback interface and find the device by the local
address, so a port costs one socket whatever the fleet's size. The control API takes a token made
per run (`Started.token`), written to `token_file` (mode 0600) for the `fleetmon simulate` clients.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from fleetmon.process import raise_open_files_limit
from fleetmon.simulator.control import FaultControl, FaultSpec, new_token, start_control, write_token
from fleetmon.simulator.discovery import start_discovery
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.rtsp import start_rtsp
from fleetmon.simulator.snmp_agent import SnmpSettings, start_snmp
from fleetmon.simulator.web_context import HttpSettings

log = logging.getLogger(__name__)

DEFAULT_CONTROL_PORT = 16180


@dataclass(frozen=True, slots=True)
class Service:
    """A TCP-side protocol server: started once per distinct `port_field` value of the inventory."""

    name: str
    port_field: str  # a `Device` port attribute, e.g. "onvif_port"
    start: Callable[[Fleet, int], Awaitable[Any]]


def default_services(http: HttpSettings | None = None) -> tuple[Service, ...]:
    """One web server per distinct ONVIF or web port (ONVIF, snapshots and ISAPI share it), and RTSP."""
    settings = http or HttpSettings()
    web_server = functools.partial(start_http, settings=settings)
    return (Service("web", "onvif_port", web_server), Service("web", "http_port", web_server),
            Service("rtsp", "rtsp_port", functools.partial(start_rtsp, settings=settings)))


def ports(fleet: Fleet, port_field: str) -> list[int]:
    return sorted({emulated.device.port(port_field) for emulated in fleet.devices.values()})


async def _close(server: Any) -> None:
    """Stop a server as its kind wants: an aiohttp runner, or an asyncio server."""
    if isinstance(server, web.AppRunner):
        await server.cleanup()
        return
    server.close()
    await server.wait_closed()


@dataclass(frozen=True, slots=True)
class Started:
    control: FaultControl
    control_port: int
    endpoints: list[str]  # "snmp udp/10161", "onvif tcp/10080", ...
    token: str  # of the control API: Authorization: Bearer TOKEN


async def start_fleet(stack: AsyncExitStack, fleet: Fleet, *, control_port: int = DEFAULT_CONTROL_PORT,
                      faults: Iterable[FaultSpec] = (), services: Iterable[Service] = (),
                      snmp: SnmpSettings | None = None, discovery_port: int | None = None,
                      token_file: Path | None = None) -> Started:
    """Start-up faults, SNMP and `services` on every port the inventory names, WS-Discovery, the control API.

    The control API's token is written to `token_file` (removed again when `stack` closes).
    """
    control = FaultControl(fleet)
    for spec in faults:
        ids = control.apply(spec)
        log.info("fault %s on %d device(s): %s", spec.fault.value, len(ids), " ".join(ids[:10]))
    endpoints = []
    for port in ports(fleet, "snmp_port"):
        agent = await start_snmp(fleet, port, snmp)
        stack.callback(agent.close)
        endpoints.append(f"snmp udp/{port}")
    taken: dict[int, str] = {}
    for service in services:
        for port in ports(fleet, service.port_field):
            if port in taken:  # one listener per TCP port: the first service there answers for it
                if taken[port] != service.name:
                    log.warning("%s not started on tcp/%d: %s serves that port", service.name, port,
                                taken[port])
                continue
            stack.push_async_callback(_close, await service.start(fleet, port))
            taken[port] = service.name
            endpoints.append(f"{service.name} tcp/{port}")
    if discovery_port is not None:
        responder = await start_discovery(fleet, discovery_port)
        stack.callback(responder.close)
        endpoints.append(f"ws-discovery udp/{discovery_port}")
    token = new_token()
    runner = await start_control(control, control_port, token)
    stack.push_async_callback(runner.cleanup)
    if token_file is not None:
        write_token(token_file, token)
        stack.callback(token_file.unlink, missing_ok=True)
    return Started(control, control_port, endpoints, token)


async def run(fleet: Fleet, *, on_started: Callable[[Started], None] = lambda started: None, **options: Any) -> None:
    """Serve the fleet until cancelled (Ctrl-C)."""
    raise_open_files_limit()
    async with AsyncExitStack() as stack:
        on_started(await start_fleet(stack, fleet, **options))
        await asyncio.Event().wait()
