"""Every probe by name, all of one shape: `await PROBES[name](target, clients) -> ProbeResult`.

Callers (the monitor, `fleetmon probe`) look probes up here and never import a protocol
module. `ProbeClients` holds the long-lived clients the probes share, one of each per process:
connection pools and parsed WSDLs are made once, not per device.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx

from fleetmon.probes.http.vendor_api import probe_vendor_http
from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.probe import probe_onvif
from fleetmon.probes.reachability import probe_reachability
from fleetmon.probes.result import ProbeResult
from fleetmon.probes.snmp.client import SnmpClient
from fleetmon.probes.snmp.probe import probe_snmp
from fleetmon.probes.target import Target


@dataclass(frozen=True, slots=True)
class ProbeClients:
    http: httpx.AsyncClient
    snmp: SnmpClient
    onvif: OnvifClients

    @classmethod
    async def start(cls, stack: AsyncExitStack) -> ProbeClients:
        # No keep-alive pool per device: a sweep touches each recorder once per interval.
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=1000, max_keepalive_connections=0),
                                 follow_redirects=False, trust_env=False)
        stack.push_async_callback(http.aclose)
        return cls(http=http, snmp=await SnmpClient.start(stack), onvif=await OnvifClients.start(stack))


ProbeFunction = Callable[[Target, ProbeClients], Awaitable[ProbeResult]]


async def _reachability(target: Target, clients: ProbeClients) -> ProbeResult:
    # Liveness is the web/ONVIF port every camera and recorder serves: one handshake per device,
    # so a province's sweep stays within a minute. The stream is checked by the ONVIF sweep's
    # RTSP DESCRIBE, and a ping is for `fleetmon probe`, one device at a time.
    return await probe_reachability(target, icmp=False, rtsp=False)


async def _vendor_http(target: Target, clients: ProbeClients) -> ProbeResult:
    return await probe_vendor_http(target, clients.http)


async def _onvif(target: Target, clients: ProbeClients) -> ProbeResult:
    return await probe_onvif(target, clients.onvif)


async def _snmp(target: Target, clients: ProbeClients) -> ProbeResult:
    return await probe_snmp(target, clients.snmp)


PROBES: dict[str, ProbeFunction] = {
    "reachability": _reachability,
    "onvif": _onvif,
    "snmp": _snmp,
    "vendor_http": _vendor_http,
}
