"""Every prober by kind, all of one shape: `await PROBES[kind](target, clients) -> ProbeResult`.

The one door to the protocols: callers (the monitor, `fleetmon probe`) look probers up here, read
the result types named here, and never import a protocol module. Like blackbox_exporter's
prober map, it covers every kind the monitor schedules:

    reachability   TCP connects to the service ports                    ReachabilityResult
    snmp           uptime, volumes, disks, ports, clock                 SnmpResult
    onvif          ONVIF details, the clock set right, the RTSP stream  CameraResult (.onvif, .stream)
    snapshot       the picture, judged                                  SnapshotResult
    vendor_http    recorder disks over the vendor's web API             VendorHttpResult

`ProbeClients` holds what the probers share, one of each per process: connection pools and
parsed WSDLs made once, not per device, and the camera checks' memory between sweeps (its
pictures' fingerprints in a temporary file, closed with the clients).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx

from fleetmon.probes.camera import CameraMemory, CameraResult, probe_camera, probe_pictures
from fleetmon.probes.http.snapshot import SnapshotResult
from fleetmon.probes.http.vendor_api import STORAGE_APIS, VendorHttpResult, probe_vendor_http
from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.probe import OnvifResult
from fleetmon.probes.reachability import ReachabilityResult, probe_reachability
from fleetmon.probes.result import ProbeResult
from fleetmon.probes.rtsp import RtspResult
from fleetmon.probes.snmp.client import SnmpClient
from fleetmon.probes.snmp.probe import SnmpResult, probe_snmp
from fleetmon.probes.target import Target

__all__ = [
    "PROBES", "CameraResult", "OnvifResult", "ProbeClients", "ProbeFunction", "ReachabilityResult", "RtspResult",
    "SnapshotResult", "SnmpResult", "VendorHttpResult", "knows_storage_api",
]


@dataclass(frozen=True, slots=True)
class ProbeClients:
    http: httpx.AsyncClient
    snmp: SnmpClient
    onvif: OnvifClients
    cameras: CameraMemory = field(default_factory=CameraMemory)

    @classmethod
    async def start(cls, stack: AsyncExitStack) -> ProbeClients:
        # No keep-alive pool per device: a sweep touches each recorder once per interval.
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=1000, max_keepalive_connections=0),
                                 follow_redirects=False, trust_env=False)
        stack.push_async_callback(http.aclose)
        cameras = CameraMemory()
        stack.callback(cameras.pictures.close)
        return cls(http=http, snmp=await SnmpClient.start(stack), onvif=await OnvifClients.start(stack), cameras=cameras)


ProbeFunction = Callable[[Target, ProbeClients], Awaitable[ProbeResult]]


def knows_storage_api(vendor_family: str) -> bool:
    """Whether the vendor_http prober knows this firmware family's storage API."""
    return vendor_family in STORAGE_APIS


async def _reachability(target: Target, clients: ProbeClients) -> ProbeResult:
    # Liveness is the web/ONVIF port every camera and recorder serves: one handshake per device,
    # so a province's sweep stays within a minute. The stream is checked by the ONVIF sweep's
    # RTSP DESCRIBE, and a ping is for `fleetmon probe`, one device at a time.
    return await probe_reachability(target, icmp=False, rtsp=False)


async def _snmp(target: Target, clients: ProbeClients) -> ProbeResult:
    return await probe_snmp(target, clients.snmp)


async def _onvif(target: Target, clients: ProbeClients) -> ProbeResult:
    return await probe_camera(target, clients.onvif, clients.cameras)


async def _snapshot(target: Target, clients: ProbeClients) -> ProbeResult:
    return await probe_pictures(target, clients.onvif, clients.http, clients.cameras)


async def _vendor_http(target: Target, clients: ProbeClients) -> ProbeResult:
    return await probe_vendor_http(target, clients.http)


PROBES: dict[str, ProbeFunction] = {
    "reachability": _reachability,
    "snmp": _snmp,
    "onvif": _onvif,
    "snapshot": _snapshot,
    "vendor_http": _vendor_http,
}
