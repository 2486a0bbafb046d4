"""Does the camera's stream answer: RTSP OPTIONS then DESCRIBE, and what the SDP offers.

A camera whose ONVIF service answers may still have a dead streaming server, and a recorder
then stores nothing. The probe asks what a viewer would ask first, on one connection:

    OPTIONS   open on most units; the `Public` header lists the methods
    DESCRIBE  needs a login (Digest, Basic where only Basic is offered); the SDP names the codecs

The whole exchange is bounded by `target.timeout`; an answer's head is at most 16 KiB and its
body `max_bytes`, so a device that drips or floods costs one timeout and bounded memory. No
media is requested (no SETUP/PLAY). Errors name no credentials, and `url` is shown without them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit

from fleetmon.probes.http.digest import authorization
from fleetmon.probes.http.limits import classify_error
from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.target import DEFAULT_PORTS, Target

MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
USER_AGENT = "fleetmon-probe"

_STATUS_OF_RTSP: dict[int, ProbeStatus] = {
    401: ProbeStatus.AUTH_FAILED,
    403: ProbeStatus.AUTH_FAILED,
    404: ProbeStatus.NOT_SUPPORTED,  # no such stream
    405: ProbeStatus.NOT_SUPPORTED,
    501: ProbeStatus.NOT_SUPPORTED,
}


class RtspError(Exception):
    """The device broke the protocol; `status` says how the probe reports it."""

    def __init__(self, message: str, status: ProbeStatus = ProbeStatus.PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class MediaTrack:
    """One `m=` section of the SDP: kind "video"/"audio"/..., codec as in `a=rtpmap` ("H264", "PCMA")."""

    kind: str
    codec: str
    clock_rate: int | None = None


@dataclass(slots=True, kw_only=True)
class RtspResult(ProbeResult):
    url: str = ""  # the URL described, without user info
    server: str = ""
    methods: tuple[str, ...] = ()
    tracks: tuple[MediaTrack, ...] = ()

    @property
    def video_codec(self) -> str | None:
        return next((t.codec for t in self.tracks if t.kind == "video"), None)

    @property
    def problems(self) -> list[str]:
        return ["the stream offers no video track"] if self.ok and self.video_codec is None else []


@dataclass(frozen=True, slots=True)
class RtspResponse:
    code: int
    reason: str
    headers: dict[str, list[str]]  # names in lower case
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, [""])[0]


# RFC 3551 payload types an SDP may use without an rtpmap line.
_STATIC_PAYLOADS: dict[str, tuple[str, int | None]] = {
    "0": ("PCMU", 8000), "8": ("PCMA", 8000), "26": ("JPEG", 90000), "32": ("MPV", 90000)}


def parse_sdp(body: bytes) -> tuple[MediaTrack, ...]:
    """The media sections of an SDP; a codec comes from `a=rtpmap`, or from a static payload type."""
    tracks: list[MediaTrack] = []
    kind, payload, codec, rate = "", "", "", None
    for raw in body.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if kind:
                tracks.append(MediaTrack(kind, codec, rate))
            parts = line[2:].split()
            kind, payload = (parts[0], parts[3]) if len(parts) >= 4 else (parts[0] if parts else "?", "")
            codec, rate = _STATIC_PAYLOADS.get(payload, ("", None))
        elif kind and line.startswith(f"a=rtpmap:{payload} "):
            name, _, clock = line.split(" ", 1)[1].partition("/")
            codec = name.strip()
            rate = int(clock.split("/")[0]) if clock.split("/")[0].isdigit() else None
    if kind:
        tracks.append(MediaTrack(kind, codec, rate))
    return tuple(tracks)


async def probe_rtsp(target: Target, url: str | None = None, *, max_bytes: int = MAX_BODY) -> RtspResult:
    """OPTIONS and DESCRIBE on `url` (default `rtsp://host:rtsp_port/`), within `target.timeout`."""
    started = time.perf_counter()
    found = RtspResult(device_id=target.device_id, probe="rtsp", status=ProbeStatus.OK, duration_seconds=0.0)
    try:
        parts = urlsplit(url or f"rtsp://{_url_host(target.host)}:{target.rtsp_port}/")
        found.url = _without_userinfo(parts)
    except ValueError:
        found.status, found.error = ProbeStatus.NOT_SUPPORTED, "the stream URL is not a valid URL"
        return found
    try:
        async with asyncio.timeout(target.timeout):
            await _exchange(found, target, parts, found.url, max_bytes)
    except RtspError as exc:
        found.status, found.error = exc.status, str(exc)
    except ConnectionResetError:
        found.status, found.error = ProbeStatus.REFUSED, "connection reset by the device"
    except asyncio.IncompleteReadError:
        found.status, found.error = ProbeStatus.PROTOCOL_ERROR, "connection closed before a complete answer"
    except (TimeoutError, OSError) as exc:
        found.status = classify_error(exc)
        found.error = f"no complete answer within {target.timeout:g} s" if isinstance(exc, TimeoutError) else \
            f"{type(exc).__name__}: {exc.strerror or exc}"
    found.duration_seconds = time.perf_counter() - started
    return found


async def _exchange(found: RtspResult, target: Target, parts: SplitResult, url: str, max_bytes: int) -> None:
    if parts.scheme.lower() != "rtsp" or not parts.hostname:
        raise RtspError(f"not an rtsp:// URL: {url}", ProbeStatus.NOT_SUPPORTED)
    username = target.credentials.username or unquote(parts.username or "")
    secret = target.credentials.password
    password = secret.get_secret_value() if secret is not None else unquote(parts.password or "")
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or DEFAULT_PORTS["rtsp_port"], limit=MAX_HEAD)
    try:
        session = _Session(reader, writer, url, username, password, max_bytes)
        options = await session.request("OPTIONS")
        if options.code == 200:
            found.methods = tuple(m.strip().upper() for m in options.header("public").split(",") if m.strip())
        found.server = options.header("server")
        described = await session.request("DESCRIBE", {"Accept": "application/sdp"})
        found.server = found.server or described.header("server")
        if described.code != 200:
            raise RtspError(f"DESCRIBE answered RTSP {described.code} {described.reason}".strip(),
                            _STATUS_OF_RTSP.get(described.code, ProbeStatus.PROTOCOL_ERROR))
        if "sdp" not in described.header("content-type").lower():
            raise RtspError(f"DESCRIBE answered {described.header('content-type') or 'no content type'}, not SDP")
        found.tracks = parse_sdp(described.body)
    finally:
        writer.transport.abort()  # nothing to say goodbye to: no session was set up


@dataclass(slots=True)
class _Session:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    url: str
    username: str
    password: str
    max_bytes: int
    cseq: int = 0
    challenges: list[str] = field(default_factory=list)  # the device's last 401 challenges

    async def request(self, method: str, headers: dict[str, str] | None = None) -> RtspResponse:
        """One request; a 401 is answered once with the login its challenge asks for."""
        answer = await self._send(method, headers or {})
        if answer.code == 401 and not self.challenges and self.username:
            self.challenges = answer.headers.get("www-authenticate", [])
            if self._authorization(method) is not None:
                answer = await self._send(method, headers or {})
        return answer

    def _authorization(self, method: str) -> str | None:
        if not self.challenges:
            return None
        return authorization(self.challenges, self.username, self.password, method, self.url)

    async def _send(self, method: str, headers: dict[str, str]) -> RtspResponse:
        self.cseq += 1
        lines = [f"{method} {self.url} RTSP/1.0", f"CSeq: {self.cseq}", f"User-Agent: {USER_AGENT}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        login = self._authorization(method)
        if login is not None:
            lines.append(f"Authorization: {login}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        answer = await _read_response(self.reader, self.max_bytes)
        if answer.header("cseq") != str(self.cseq):
            raise RtspError(f"answer to CSeq {self.cseq} carries CSeq {answer.header('cseq')[:20]!r}")
        return answer


async def _read_response(reader: asyncio.StreamReader, max_bytes: int) -> RtspResponse:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise RtspError(f"answer head longer than {MAX_HEAD} bytes") from None
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if version != "RTSP/1.0" or not code.isdigit():
        raise RtspError(f"not an RTSP answer: {lines[0][:60]!r}")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    length = headers.get("content-length", ["0"])[0]
    if not length.isdigit():
        raise RtspError(f"Content-Length {length[:20]!r} is not a number")
    if int(length) > max_bytes:
        raise RtspError(f"body of {length} bytes exceeds the limit of {max_bytes}")
    body = await reader.readexactly(int(length))
    return RtspResponse(int(code), reason.strip(), headers, body)


def _without_userinfo(parts: SplitResult) -> str:
    host = _url_host(parts.hostname or "")
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
