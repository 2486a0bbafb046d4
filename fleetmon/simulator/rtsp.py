"""The emulated devices' RTSP servers: OPTIONS and DESCRIBE, what a health check asks of a stream.

One wildcard listener per port; the device is the one whose address the connection reached.
As on real cameras, OPTIONS is open and DESCRIBE needs a Digest login (RFC 2069 style, no qop,
which every RTSP client speaks); the answer is an SDP offering one H.264 video track. The paths
GetStreamUri hands out (`/stream/<profile token>`) and `/` (the main stream) are served, any
other path is 404. Nothing is ever streamed: SETUP and PLAY are 405.

Faults, as a client sees them:

    offline, flapping (down), parent down   connect times out (`fleetmon.simulator.tcp_faults`); a request
                                            on a connection opened before gets no answer
    refused                                 connections reset (`fleetmon.simulator.tcp_faults`)
    hang                                    accepted and read, never answered
    slow                                    each answer delayed by the fault's param seconds
    wrong_password                          DESCRIBE is 401 whatever the login

A request head is at most 8 KiB and a body 4 KiB; a connection idle for 60 s is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from dataclasses import dataclass
from urllib.parse import urlsplit

from fleetmon.simulator.digest_auth import DeviceLogin, Verdict, device_verdict
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.loopback import WILDCARD, is_loopback_peer
from fleetmon.simulator.state import EmulatedDevice, Fault
from fleetmon.simulator.tcp_faults import LISTEN_BACKLOG, AddressFaults, reuse_port_socket
from fleetmon.simulator.web_context import HttpSettings

MAX_HEAD = 8 * 1024
MAX_BODY = 4 * 1024
IDLE_SECONDS = 60.0
STREAM_PREFIX = "/stream/"
PUBLIC_METHODS = "OPTIONS, DESCRIBE"
SERVER = "fleetmon-simulator RTSP/1.0"
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            413: "Request Entity Too Large", 505: "RTSP Version Not Supported"}


@dataclass(frozen=True, slots=True)
class RtspRequest:
    method: str
    uri: str
    version: str
    headers: dict[str, str]  # names in lower case

    @property
    def path(self) -> str:
        """The path of an absolute `rtsp://host:port/path` URI, or of a bare path."""
        return urlsplit(self.uri).path or "/"


def parse_request(head: bytes) -> RtspRequest | None:
    """A request head (up to the blank line), or None when it is not one."""
    try:
        lines = head.decode("utf-8").split("\r\n")
    except UnicodeDecodeError:
        return None
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        if line:
            name, colon, value = line.partition(":")
            if not colon:
                return None
            headers[name.strip().lower()] = value.strip()
    return RtspRequest(parts[0], parts[1], parts[2], headers)


def sdp(device: EmulatedDevice, host: str) -> str:
    """The session description of the device's stream: one H.264 video track."""
    session = int(device.boot_time)  # changes when the device reboots, as real units' do
    return "\r\n".join([
        "v=0", f"o=- {session} 1 IN IP4 {host}", f"s={device.device.model or 'Media Presentation'}",
        "c=IN IP4 0.0.0.0", "t=0 0", "a=control:*", "a=range:npt=now-",
        "m=video 0 RTP/AVP 96", "a=rtpmap:96 H264/90000",
        "a=fmtp:96 packetization-mode=1;profile-level-id=640028", "a=framerate:25", "a=control:trackID=1", "",
    ])


def response(status: int, cseq: str, headers: dict[str, str] | None = None, body: str = "") -> bytes:
    lines = [f"RTSP/1.0 {status} {_REASONS[status]}", f"CSeq: {cseq}", f"Server: {SERVER}",
             f"Date: {email.utils.formatdate(usegmt=True)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    payload = body.encode()
    if payload:
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def answer(request: RtspRequest, device: EmulatedDevice, login: DeviceLogin, host: str) -> bytes:
    """The response to one well-formed request."""
    cseq = request.headers.get("cseq")
    if cseq is None:
        return response(400, "0")
    if request.version != "RTSP/1.0":
        return response(505, cseq)
    if request.method == "OPTIONS":
        return response(200, cseq, {"Public": PUBLIC_METHODS})
    if request.method != "DESCRIBE":
        return response(405, cseq, {"Allow": PUBLIC_METHODS})
    path = request.path
    if path != "/" and not (path.startswith(STREAM_PREFIX) and len(path) > len(STREAM_PREFIX)):
        return response(404, cseq)
    verdict = device_verdict(device, login, request.headers.get("authorization", ""), "DESCRIBE", request.uri)
    if verdict is not Verdict.ACCEPTED:
        return response(401, cseq, {"WWW-Authenticate": login.challenge(qop=False, stale=verdict is Verdict.STALE)})
    base = request.uri.rstrip("/") + "/"
    return response(200, cseq, {"Content-Base": base, "Content-Type": "application/sdp"}, sdp(device, host))


class RtspServer:
    """The listener and the fault sockets of one port; `close()` then `await wait_closed()` stops both."""

    def __init__(self, server: asyncio.Server, blocked: AddressFaults) -> None:
        self.server, self.blocked = server, blocked
        self._closing: asyncio.Task[None] | None = None

    def close(self) -> None:
        self.server.close()
        self._closing = asyncio.ensure_future(self.blocked.close())

    async def wait_closed(self) -> None:
        await self.server.wait_closed()
        if self._closing is not None:
            await self._closing


async def start_rtsp(fleet: Fleet, port: int, settings: HttpSettings | None = None,
                     host: str = WILDCARD) -> RtspServer:
    """Serve RTSP for every device whose `rtsp_port` is `port`."""
    settings = settings or HttpSettings()
    login = DeviceLogin(settings.username, settings.password)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local, peer = writer.get_extra_info("sockname"), writer.get_extra_info("peername")
        device = fleet.at(local[0]) if local else None
        if device is None or peer is None or not is_loopback_peer(peer[0]):
            writer.transport.abort()
            return
        try:
            await _converse(reader, writer, device, login, local[0])
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError, ConnectionError):
            pass  # the client left, sent too much, or idled: the connection just ends
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, sock=reuse_port_socket(host, port), limit=MAX_HEAD, backlog=LISTEN_BACKLOG)
    blocked = AddressFaults(fleet, port, ("rtsp_port",))
    try:
        await blocked.start()
    except BaseException:
        server.close()
        raise
    return RtspServer(server, blocked)


async def _converse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, device: EmulatedDevice,
                    login: DeviceLogin, host: str) -> None:
    while True:
        async with asyncio.timeout(IDLE_SECONDS):
            head = await reader.readuntil(b"\r\n\r\n")
        request = parse_request(head[:-4])
        if request is None:
            writer.write(response(400, "0"))
            return
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            writer.write(response(413, request.headers.get("cseq", "0")))
            return
        await reader.readexactly(int(length))
        if not device.answers() or Fault.HANG in device.faults:
            async with asyncio.timeout(IDLE_SECONDS):  # read on, answer nothing, until the client gives up
                while await reader.read(MAX_HEAD):
                    pass
            return
        if Fault.REFUSED in device.faults:
            writer.transport.abort()
            return
        if Fault.SLOW in device.faults:
            await asyncio.sleep(device.param(Fault.SLOW))
        writer.write(answer(request, device, login, host))
        await writer.drain()

