"""The simulator's web side: one aiohttp server per TCP port, serving every device on that port.

ONVIF (`fleetmon.simulator.onvif_service`), snapshots (`fleetmon.simulator.snapshot`) and ISAPI (`fleetmon.simulator.isapi`)
share the server, as they share the web port on most real units. The listener is a wildcard
socket; a handler finds its device with `device_of(request)`, by the local address the request
reached. Faults a client sees on every HTTP request of a device, applied by one middleware:

    offline, flapping (down), parent down   connect times out (`fleetmon.simulator.tcp_faults`); a request
                                            on a connection opened before gets no answer
    refused                                 connections reset (`fleetmon.simulator.tcp_faults`)
    hang                                    accepted, never answered
    slow                                    each answer delayed by the fault's param seconds
    packet loss                             param % of answers ~1 s late (a TCP retransmission),
                                            the square of that share never answered
    drip, huge reply, XML bomb              a hostile answer (`fleetmon.simulator.hostile`)

The listener is tied to the loopback interface (`fleetmon.simulator.loopback`); requests from
outside 127.0.0.0/8 and ::1 are dropped unanswered all the same.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from aiohttp import web

from fleetmon.simulator import hostile, isapi, onvif_service, snapshot
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.loopback import WILDCARD, is_loopback_peer
from fleetmon.simulator.state import Fault
from fleetmon.simulator.tcp_faults import LISTEN_BACKLOG, AddressFaults, reuse_port_socket
from fleetmon.simulator.web_context import FLEET, SETTINGS, HttpSettings, device_of

WEB_PORTS = ("onvif_port", "http_port")  # the Device ports this server answers on
RETRANSMISSION_DELAY = 1.0  # Linux's initial retransmission timeout, seconds

_RNG = web.AppKey("rng", random.Random)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _from_loopback(request: web.Request) -> bool:
    transport = request.transport
    peer: tuple[str, int] | None = transport.get_extra_info("peername") if transport is not None else None
    return peer is not None and is_loopback_peer(peer[0])


async def never() -> None:
    """Wait until cancelled: the server cancels the handler when the client gives up."""
    await asyncio.Event().wait()


@web.middleware
async def transport_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The device's faults as a client sees them on an HTTP exchange (see the module docstring)."""
    if not _from_loopback(request):
        if request.transport is not None:
            request.transport.abort()
        await never()
    device = device_of(request)
    faults = device.faults
    if not device.answers() or Fault.HANG in faults:
        await never()
    if Fault.REFUSED in faults:
        if request.transport is not None:
            request.transport.abort()
        await never()
    if Fault.PACKET_LOSS in faults:
        rng, loss = request.app[_RNG], device.param(Fault.PACKET_LOSS) / 100.0
        if rng.random() < loss:
            if rng.random() < loss:
                await never()
            await asyncio.sleep(RETRANSMISSION_DELAY)
    if Fault.SLOW in faults:
        await asyncio.sleep(device.param(Fault.SLOW))
    if faults.keys() & hostile.HOSTILE:
        return await hostile.answer(request, device)
    return await handler(request)


def make_app(fleet: Fleet, settings: HttpSettings) -> web.Application:
    app = web.Application(middlewares=[transport_faults], client_max_size=256 * 1024)
    app[FLEET] = fleet
    app[SETTINGS] = settings
    app[_RNG] = random.Random()
    for module in (onvif_service, snapshot, isapi):
        app.add_routes(module.routes(settings))
    return app


async def start_http(fleet: Fleet, port: int, settings: HttpSettings | None = None,
                     host: str = WILDCARD) -> web.AppRunner:
    """Serve every device whose web or ONVIF port is `port`; `await runner.cleanup()` stops it."""
    app = make_app(fleet, settings or HttpSettings())
    blocked = AddressFaults(fleet, port, WEB_PORTS)

    async def unblock(app: web.Application) -> None:
        await blocked.close()

    app.on_cleanup.append(unblock)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    try:
        await web.SockSite(runner, reuse_port_socket(host, port), backlog=LISTEN_BACKLOG).start()
        await blocked.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
