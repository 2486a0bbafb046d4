"""ONVIF snapshots: `GET /onvif-snapshot/{profile}` answers a JPEG of the device's scene, behind a login.

GetSnapshotUri points here. As on real cameras the request needs HTTP Digest (MD5, qop=auth);
Basic is accepted too, as Hikvision-style units do. WRONG_PASSWORD rejects every login. The
picture faults map to scene looks (`fleetmon.simulator.scene`); SNAPSHOT_FROZEN serves the same bytes
for as long as it is set, the first frame taken after it was. Cameras and recorders have
snapshots, switches do not (404). Transport faults are the web server's middleware's.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from fleetmon.inventory.model import DeviceKind
from fleetmon.simulator.digest_auth import DeviceLogin, refusal
from fleetmon.simulator.scene import Look, SceneRenderer
from fleetmon.simulator.state import EmulatedDevice, Fault
from fleetmon.simulator.web_context import SNAPSHOT_PATH, HttpSettings, device_of

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")

# First match wins: a black sensor is black whatever else is set.
LOOKS: tuple[tuple[Fault, Look], ...] = (
    (Fault.SNAPSHOT_BLACK, Look.BLACK),
    (Fault.SNAPSHOT_COVERED, Look.COVERED),
    (Fault.SNAPSHOT_BLURRED, Look.BLURRED),
    (Fault.SCENE_MOVED, Look.MOVED),
)


def look_of(device: EmulatedDevice) -> Look:
    return next((look for fault, look in LOOKS if fault in device.faults), Look.NORMAL)


def osd_text(device: EmulatedDevice) -> str:
    """The overlay a camera burns in: its own clock (skewed when CLOCK_SKEW is set) and its name."""
    return f"{dt.datetime.fromtimestamp(device.clock(), VIETNAM):%d-%m-%Y %H:%M:%S}  {device.device.id}"


def routes(settings: HttpSettings, renderer: SceneRenderer | None = None) -> list[web.RouteDef]:
    login = DeviceLogin(settings.username, settings.password)
    scenes = renderer or SceneRenderer()
    frozen: dict[str, bytes] = {}  # device id -> the frame a stuck encoder keeps sending

    async def snapshot(request: web.Request) -> web.Response:
        device = device_of(request)
        if device.device.kind is DeviceKind.SWITCH:
            raise web.HTTPNotFound()
        refused = refusal(request, device, login, allow_basic=True)
        if refused is not None:
            return refused
        device_id = device.device.id
        if Fault.SNAPSHOT_FROZEN in device.faults and device_id in frozen:
            jpeg = frozen[device_id]
        else:
            jpeg = scenes.frame(device_id, look_of(device), device.clock(), osd_text(device))
            if Fault.SNAPSHOT_FROZEN in device.faults:
                frozen[device_id] = jpeg
            else:
                frozen.pop(device_id, None)
        return web.Response(body=jpeg, content_type="image/jpeg")

    return [web.get(SNAPSHOT_PATH, snapshot)]
