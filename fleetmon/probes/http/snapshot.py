"""Is the camera's picture any good: fetch its snapshot JPEG and run the image checks on it.

The URL is the one the camera gave for GetSnapshotUri (the ONVIF probe learns it); without one
the probe is not_supported. The fetch goes through `fetch_bounded` (one deadline, a body cap),
logs in with Digest when the camera challenges with it and with Basic only when Basic is all it
offers, and refuses what is not a JPEG before decoding. Decoding and the checks
(`fleetmon.probes.image_quality.assess`, bounded in pixels against decompression bombs) run in a worker
thread, so a 1080p frame's ~6 ms do not stall the other probes on the event loop.

The caller keeps `fingerprint` as the next probe's `previous`, and as `reference` when it has
none (the view the camera was installed with). Picture faults are findings of an ok probe:
`problems` names them; the status only says whether a picture came back.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import Generator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from PIL import Image

from fleetmon.probes.http.limits import fetch_bounded
from fleetmon.probes.image_quality import (
    CheckOutcome,
    ImageAssessment,
    ImageDecodeError,
    ImageFingerprint,
    ImageThresholds,
    assess,
)
from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.target import Target

MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024  # a 4K camera's JPEG is 1-2 MB
_JPEG_START = b"\xff\xd8\xff"


@dataclass(slots=True, kw_only=True)
class SnapshotResult(ProbeResult):
    url: str = ""  # without user info
    size_bytes: int = 0
    width: int = 0
    height: int = 0
    assessment: ImageAssessment | None = None  # the image checks, when a picture was decoded

    @property
    def fingerprint(self) -> ImageFingerprint | None:
        return self.assessment.fingerprint if self.assessment else None

    @property
    def checks(self) -> tuple[CheckOutcome, ...]:
        return self.assessment.outcomes if self.assessment else ()

    @property
    def verdict(self) -> str:
        """The first picture fault found ("blank", "frozen", "covered", "blurred", "moved") or "normal"."""
        return self.assessment.verdict if self.assessment else "normal"

    @property
    def problems(self) -> list[str]:
        return [c.text for c in self.assessment.findings] if self.assessment else []


class CameraAuth(httpx.Auth):
    """Digest when the camera challenges with it; Basic only when Basic is all it offers.

    The password is never sent before a challenge, so a camera that wants Digest never sees it
    in the clear.
    """

    def __init__(self, username: str, password: str) -> None:
        self._digest = httpx.DigestAuth(username, password)
        self._basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def __repr__(self) -> str:
        return "CameraAuth(<secret>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401:
            return
        schemes = [h.strip().split(" ", 1)[0].lower() for h in response.headers.get_list("www-authenticate")]
        if "digest" in schemes:
            flow = self._digest.auth_flow(request)
            next(flow)  # its unauthenticated first attempt: the one just answered
            try:
                yield flow.send(response)
            except StopIteration:
                return
        elif "basic" in schemes:
            request.headers["Authorization"] = self._basic
            yield request


async def probe_snapshot(
    target: Target,
    client: httpx.AsyncClient,
    url: str | None,
    previous: ImageFingerprint | None = None,
    reference: ImageFingerprint | None = None,
    thresholds: ImageThresholds | None = None,
    *,
    max_bytes: int = MAX_SNAPSHOT_BYTES,
) -> SnapshotResult:
    """Fetch the snapshot at `url` within `target.timeout` and judge the picture."""
    started = time.perf_counter()
    found = SnapshotResult(device_id=target.device_id, probe="snapshot", status=ProbeStatus.OK, duration_seconds=0.0)

    def done(status: ProbeStatus, error: str = "") -> SnapshotResult:
        found.status, found.error = status, error
        found.duration_seconds = time.perf_counter() - started
        return found

    if not url:
        return done(ProbeStatus.NOT_SUPPORTED, "the camera gave no snapshot URI")
    try:
        parts = urlsplit(url)
        found.url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:
        valid = False
    if not valid:
        return done(ProbeStatus.NOT_SUPPORTED, "the snapshot URI is not an http(s) URL")
    secret = target.credentials.password
    auth = CameraAuth(target.credentials.username, secret.get_secret_value()) if secret is not None else None
    response = await fetch_bounded(client, "GET", found.url, auth=auth, timeout=target.timeout, max_bytes=max_bytes)
    if not response.ok:
        return done(response.status, response.error)
    jpeg = response.body
    found.size_bytes = len(jpeg)
    if not jpeg.startswith(_JPEG_START):
        kind = response.content_type.split(";")[0] or "no content type"
        return done(ProbeStatus.PROTOCOL_ERROR, f"not a JPEG: {kind}, {len(jpeg)} bytes starting {jpeg[:8]!r}")
    try:
        (found.width, found.height), found.assessment = await asyncio.to_thread(
            _judge, jpeg, previous, reference, thresholds or ImageThresholds())
    except ImageDecodeError as exc:
        return done(ProbeStatus.PROTOCOL_ERROR, f"corrupt JPEG: {exc}")
    return done(ProbeStatus.OK)


def _judge(jpeg: bytes, previous: ImageFingerprint | None, reference: ImageFingerprint | None,
           thresholds: ImageThresholds) -> tuple[tuple[int, int], ImageAssessment]:
    """Size from the header, then the checks (which refuse bombs before decoding)."""
    assessment = assess(jpeg, previous, reference, thresholds)
    with Image.open(io.BytesIO(jpeg)) as image:  # header only: already proven decodable
        return image.size, assessment
