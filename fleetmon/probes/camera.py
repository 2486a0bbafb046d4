"""The checks of a camera (or recorder) that take more than one protocol, and what they remember.

    probe_camera     ONVIF details (clock, identity, footage), the clock set right when allowed,
                     then RTSP OPTIONS/DESCRIBE on the stream ONVIF named: is there video at all
    probe_pictures   the snapshot JPEG at the address ONVIF named, judged against the camera's
                     previous and first frames

Both are one prober each in `fleetmon.probes.registry`. What they need between probes lives in
`CameraMemory` (one per process, in `ProbeClients`): the stream and snapshot addresses (asked
once, not every sweep: five of a camera's eight ONVIF calls), the stream's misses in a row and
the fingerprints of earlier pictures (`PictureMemory`, on disk).

The clock: the probe measures it; when it is further off than `target.clock_skew_limit` and the
credential profile allows it (`correct_clock`), it is set (`fleetmon.probes.onvif.clock`) and
what was done comes back in `CameraResult.clock_correction`, for the caller to record.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import httpx

from fleetmon.probes.findings import ClockCorrection
from fleetmon.probes.http.snapshot import SnapshotResult, probe_snapshot
from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.clock import correct_clock
from fleetmon.probes.onvif.probe import OnvifResult, probe_onvif
from fleetmon.probes.picture_memory import PictureMemory
from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.rtsp import RtspResult, probe_rtsp
from fleetmon.probes.target import Target

MIN_RTSP_SECONDS = 0.5  # below this, the stream check waits for the next sweep
LOGIN_REFUSED = "not tried: the ONVIF login was refused"  # a snapshot whose address could not be asked


@dataclass(slots=True)
class CameraMemory:
    """What the camera checks need between probes: where the stream and snapshot are (learnt over
    ONVIF) and the previous and reference frames' fingerprints (a frozen image is one that never
    changes; a moved scene is one unlike the reference)."""

    # Addresses by device with the unit's own host folded out (`_fold`): a province's cameras of
    # one firmware share one string each, not 136,000 of ~90 bytes.
    _snapshot_uris: dict[str, str] = field(default_factory=dict)
    _stream_uris: dict[str, str] = field(default_factory=dict)
    stream_failures: dict[str, int] = field(default_factory=dict)  # failing streams only, in a row
    pictures: PictureMemory = field(default_factory=PictureMemory)

    def snapshot_uri(self, target: Target) -> str | None:
        found = self._snapshot_uris.get(target.device_id)
        return None if found is None else _unfold(found, target.host)

    def stream_uri(self, target: Target) -> str | None:
        found = self._stream_uris.get(target.device_id)
        return None if found is None else _unfold(found, target.host)

    def judge_stream(self, result: RtspResult) -> RtspResult | None:
        """The stream check, once it has failed twice in a row (a loaded unit may miss one DESCRIBE)."""
        if result.ok:
            self.stream_failures.pop(result.device_id, None)
            return result
        failures = self.stream_failures[result.device_id] = self.stream_failures.get(result.device_id, 0) + 1
        return result if failures >= 2 else None

    def forget(self, device_id: str) -> None:
        self._snapshot_uris.pop(device_id, None)
        self._stream_uris.pop(device_id, None)

    def learn(self, result: OnvifResult, target: Target) -> None:
        profile = next((p for p in result.profiles if p.snapshot_uri or p.stream_uri), None)
        if profile is None:
            return
        if profile.snapshot_uri:
            self._snapshot_uris[result.device_id] = _fold(profile.snapshot_uri, target.host)
        if profile.stream_uri:
            self._stream_uris[result.device_id] = _fold(profile.stream_uri, target.host)


_HOST = "\0"  # stands for the unit's host in a folded address (no URI holds a NUL)
_SHAPES: dict[str, str] = {}


def _fold(uri: str, host: str) -> str:
    """`uri` with its host, when it is the unit's own, as `_HOST`: one object per shape."""
    authority = "[" + host + "]" if ":" in host else host
    scheme, sep, rest = uri.partition("://")
    if not sep or _HOST in uri or not (rest == authority or rest.startswith((authority + ":", authority + "/", authority + "?"))):
        return uri  # another host's address (a NAT, a proxy): kept as it is
    shape = scheme + sep + _HOST + rest[len(authority):]
    return _SHAPES.setdefault(shape, shape)


def _unfold(shape: str, host: str) -> str:
    return shape.replace(_HOST, "[" + host + "]" if ":" in host else host, 1)


@dataclass(slots=True, kw_only=True)
class CameraResult(ProbeResult):
    """The ONVIF probe's result (whose status, time and error this one repeats) and what followed it."""

    onvif: OnvifResult
    stream: RtspResult | None = None  # the stream check, once judged (None: not run, or a first miss)
    stream_check: RtspResult | None = None  # the stream check as it came back, judged or not (None: not run)
    clock_correction: ClockCorrection | None = None  # the clock was beyond the limit and setting it allowed


async def _correct(found: OnvifResult, target: Target, clients: OnvifClients) -> ClockCorrection | None:
    skew, limit = found.clock_skew_seconds, target.clock_skew_limit
    if not target.credentials.correct_clock or skew is None or limit is None or abs(skew) <= limit:
        return None
    correction = await correct_clock(target, clients, ntp_server=target.credentials.ntp_server)
    if correction.corrected:
        found.clock_skew_seconds = correction.skew_after
    return correction


async def probe_camera(target: Target, clients: OnvifClients, memory: CameraMemory) -> CameraResult:
    """ONVIF, the clock, then the stream, all within one `target.timeout` (the sweep's bound: a
    probe past it is cancelled, and a clock correction made would go unrecorded)."""
    started = time.perf_counter()
    found = await probe_onvif(target, clients, media=memory.stream_uri(target) is None)
    memory.learn(found, target)
    result = CameraResult(device_id=found.device_id, probe=found.probe, status=found.status,
                          duration_seconds=found.duration_seconds, error=found.error, onvif=found,
                          clock_correction=await _correct(found, target, clients))
    left = target.timeout - (time.perf_counter() - started)
    stream_uri = memory.stream_uri(target)
    if found.ok and stream_uri is not None and left > MIN_RTSP_SECONDS:
        result.stream_check = await probe_rtsp(dataclasses.replace(target, timeout=left), stream_uri)
        result.stream = memory.judge_stream(result.stream_check)
    return result


async def probe_pictures(target: Target, onvif: OnvifClients, http: httpx.AsyncClient, memory: CameraMemory) -> SnapshotResult:
    """The snapshot, judged; its address asked over ONVIF when not known yet (just started) or
    when the last one answered garbage (the address may have changed). A refused ONVIF login
    leaves it untried, and says so (`LOGIN_REFUSED`), rather than "no snapshot URI"."""
    device = target.device_id
    if memory.snapshot_uri(target) is None:
        asked = await probe_onvif(target, onvif)
        if asked.status is ProbeStatus.AUTH_FAILED:
            return SnapshotResult(device_id=device, probe="snapshot", status=ProbeStatus.AUTH_FAILED,
                                  duration_seconds=asked.duration_seconds, error=LOGIN_REFUSED)
        memory.learn(asked, target)
    result = await probe_snapshot(target, http, memory.snapshot_uri(target), *memory.pictures.recall(device))
    if result.status is ProbeStatus.PROTOCOL_ERROR:
        memory.forget(device)
    if result.fingerprint is not None:
        memory.pictures.keep(device, result.fingerprint)
    return result
