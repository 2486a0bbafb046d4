"""The ONVIF probe: clock, identity, media profiles with their URIs and, on recorders, footage held.

    GetSystemDateAndTime (unauthenticated)   clock skew, and the clock later calls are signed with
    GetDeviceInformation                     who the unit is (confirms the login)
    GetServices / GetCapabilities            where media and search live
    GetProfiles, GetStreamUri, GetSnapshotUri   what to watch (the snapshot probe fetches the URI)
    FindRecordings...                        per channel: newest and oldest footage (Profile G)

The whole exchange is bounded by `target.timeout`; a device that never answers, drips bytes or
sends megabytes costs one timeout and bounded memory (see `fleetmon.probes.onvif.client`). Findings made
before a failure are kept in the result. Optional features (snapshot URIs, recording search)
missing on a unit are not failures: a camera without them is healthy.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from fleetmon.probes.findings import DeviceIdentity, Recording
from fleetmon.probes.onvif import soap
from fleetmon.probes.onvif.client import DeviceSession, OnvifCallError, OnvifClients
from fleetmon.probes.onvif.recording import find_recordings
from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.target import Target
from fleetmon.probes.text import plain_text

MAX_PROFILES = 32  # a 64-channel recorder: URIs of the first 32 are plenty to find its cameras
IDENTITY_FIELDS = ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")
GET_DEVICE_INFORMATION = soap.Request("GetDeviceInformation", soap.DEVICE)
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


@dataclass(frozen=True, slots=True)
class MediaProfile:
    token: str
    name: str
    stream_uri: str | None
    snapshot_uri: str | None  # None when the unit offers no snapshots


@dataclass(slots=True, kw_only=True)
class OnvifResult(ProbeResult):
    clock_skew_seconds: float | None = None  # device clock minus ours, ±1 s (devices report whole seconds)
    identity: DeviceIdentity | None = None
    profiles: list[MediaProfile] = field(default_factory=list)
    recordings: list[Recording] | None = None  # None: the unit offers no recording search


def _text(value: Any) -> str:
    return plain_text(str(value)) if value is not None else ""


async def identity_of(session: DeviceSession) -> DeviceIdentity:
    if session.lean:
        answer = await session.ask("devicemgmt", GET_DEVICE_INFORMATION)
        return DeviceIdentity(*(_text(soap.text(soap.child(answer, name))) for name in IDENTITY_FIELDS))
    info = await session.call("devicemgmt", "GetDeviceInformation")
    return DeviceIdentity(*(_text(getattr(info, name, None)) for name in IDENTITY_FIELDS))


async def _optional(session: DeviceSession, service: str, operation: str, params: dict[str, Any]) -> Any:
    """A call a unit may lack: None when it says so, any other failure raised."""
    try:
        return await session.call(service, operation, params)
    except OnvifCallError as exc:
        if exc.status is ProbeStatus.NOT_SUPPORTED:
            return None
        raise


async def _profiles(session: DeviceSession) -> list[MediaProfile]:
    profiles = []
    for profile in (await session.call("media", "GetProfiles") or [])[:MAX_PROFILES]:
        token = _text(getattr(profile, "token", None))
        stream = await _optional(session, "media", "GetStreamUri", {"StreamSetup": STREAM_SETUP, "ProfileToken": token})
        snapshot = await _optional(session, "media", "GetSnapshotUri", {"ProfileToken": token})
        profiles.append(MediaProfile(token, _text(getattr(profile, "Name", None)),
                                     _text(stream.Uri) if stream is not None else None,
                                     _text(snapshot.Uri) if snapshot is not None else None))
    return profiles


async def _explore(session: DeviceSession, result: OnvifResult, media: bool) -> None:
    result.clock_skew_seconds = await session.read_clock()
    result.identity = await identity_of(session)
    if not media and session.target.kind == "camera":
        return
    await session.discover_services()
    if media and "media" in session.xaddrs:
        result.profiles = await _profiles(session)
    if "search" in session.xaddrs:
        try:
            result.recordings = await find_recordings(session)
        except OnvifCallError as exc:
            if exc.status is not ProbeStatus.NOT_SUPPORTED:
                raise


async def probe_onvif(target: Target, clients: OnvifClients, *, media: bool = True) -> OnvifResult:
    """Everything above about one device, within `target.timeout`; never raises for a device's fault.

    `media=False` skips the profiles and their stream and snapshot addresses (five of a camera's
    eight calls) for a caller that already knows them: a sweep asks a camera its clock and identity.
    """
    started = time.perf_counter()
    result = OnvifResult(device_id=target.device_id, probe="onvif", status=ProbeStatus.OK, duration_seconds=0.0)
    try:
        async with asyncio.timeout(target.timeout):
            await _explore(DeviceSession(clients, target), result, media)
    except TimeoutError:
        result.status, result.error = ProbeStatus.TIMEOUT, f"no complete answer within {target.timeout:g} s"
    except OnvifCallError as exc:
        result.status, result.error = exc.status, str(exc)
    result.duration_seconds = time.perf_counter() - started
    return result
