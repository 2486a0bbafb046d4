"""RTSP probe against scripted and hostile RTSP servers on 127.0.0.1 (the simulator's is in tests/simulator)."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pydantic import SecretStr

from fleetmon.probes.http.digest import challenge_fields, digest_response
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.rtsp import MediaTrack, RtspResult, parse_sdp, probe_rtsp
from fleetmon.probes.target import Credentials, Target
from tests.peers import free_port

USER, PASSWORD = "viewer", "Rtsp-s3cret!"
SDP = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Session\r\nt=0 0\r\n"
       b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=control:track1\r\n"
       b"m=audio 0 RTP/AVP 8\r\na=control:track2\r\n")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Script = Callable[[str, dict[str, str]], bytes]  # (request line, headers) -> answer


def answer(cseq: str, status: str = "200 OK", headers: str = "", body: bytes = b"") -> bytes:
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{headers}{length}\r\n".encode() + body


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
    return lines[0], {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}


def scripted(script: Script) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, headers = await read_request(reader)
            writer.write(script(line, headers))
            await writer.drain()
    return handler


def digest_camera(qop: bool) -> Script:
    """Public OPTIONS; DESCRIBE behind Digest (with or without qop=auth, as cameras differ)."""
    nonce = "5f1e2d3c"

    def script(line: str, headers: dict[str, str]) -> bytes:
        method, uri, _ = line.split(" ")
        cseq = headers["cseq"]
        if method == "OPTIONS":
            return answer(cseq, headers="Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\nServer: Rtsp Server/3.0\r\n")
        given = challenge_fields(headers.get("authorization", ""))
        expected = digest_response({**given, "realm": "IPC"}, PASSWORD, method, uri, given.get("nc", ""),
                                   given.get("cnonce", ""))
        if given.get("username") == USER and given.get("nonce") == nonce and given.get("response") == expected \
                and ("qop" in given) == qop:
            return answer(cseq, headers="Content-Type: application/sdp\r\n", body=SDP)
        challenge = f'Digest realm="IPC", nonce="{nonce}"' + (', qop="auth"' if qop else "")
        return answer(cseq, "401 Unauthorized", f"WWW-Authenticate: {challenge}\r\n")
    return script


@pytest.fixture
async def fake() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(guarded, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()


def target(port: int, password: str = PASSWORD, timeout: float = 1.0) -> Target:
    return Target("cam-9", "127.0.0.1", rtsp_port=port, timeout=timeout,
                  credentials=Credentials(username=USER, password=SecretStr(password)))


async def timed(port: int, url: str | None = None, **options: object) -> tuple[RtspResult, float]:
    started = time.monotonic()
    tracemalloc.start()
    try:
        result = await probe_rtsp(target(port), url, **options)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak} bytes held"
    return result, time.monotonic() - started


@pytest.mark.parametrize("qop", [False, True], ids=["rfc2069", "qop-auth"])
async def test_digest_camera_is_described(fake: Callable[[Handler], Awaitable[int]], qop: bool) -> None:
    port = await fake(scripted(digest_camera(qop)))
    result, _ = await timed(port, f"rtsp://127.0.0.1:{port}/Streaming/Channels/101")
    assert result.status is ProbeStatus.OK, result.error
    assert result.tracks == (MediaTrack("video", "H265", 90000), MediaTrack("audio", "PCMA", 8000))
    assert (result.video_codec, result.server) == ("H265", "Rtsp Server/3.0")
    assert result.methods == ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN")


async def test_wrong_password_is_auth_failed_and_not_shown(fake: Callable[[Handler], Awaitable[int]]) -> None:
    port = await fake(scripted(digest_camera(qop=False)))
    result = await probe_rtsp(target(port, password="Wr0ng-pw"))
    assert result.status is ProbeStatus.AUTH_FAILED
    assert result.error == "DESCRIBE answered RTSP 401 Unauthorized"
    assert "Wr0ng-pw" not in repr(result)


async def test_basic_only_server_gets_basic_after_its_challenge(fake: Callable[[Handler], Awaitable[int]]) -> None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    seen: list[dict[str, str]] = []

    def script(line: str, headers: dict[str, str]) -> bytes:
        seen.append(headers)
        if headers.get("authorization") == f"Basic {token}":
            return answer(headers["cseq"], headers="Content-Type: application/sdp\r\n", body=SDP)
        return answer(headers["cseq"], "401 Unauthorized", 'WWW-Authenticate: Basic realm="NVR"\r\n')
    port = await fake(scripted(script))
    result, _ = await timed(port)
    assert result.status is ProbeStatus.OK, result.error
    assert "authorization" not in seen[0]  # OPTIONS went out without the password


async def test_userinfo_in_the_url_is_used_but_never_shown(fake: Callable[[Handler], Awaitable[int]]) -> None:
    port = await fake(scripted(digest_camera(qop=False)))
    bare = Target("cam-9", "127.0.0.1", rtsp_port=port, timeout=1.0)
    result = await probe_rtsp(bare, f"rtsp://{USER}:{PASSWORD.replace('!', '%21')}@127.0.0.1:{port}/live")
    assert result.status is ProbeStatus.OK, result.error
    assert result.url == f"rtsp://127.0.0.1:{port}/live"
    assert PASSWORD not in repr(result) and "s3cret" not in repr(result)


async def test_stream_without_video_is_a_finding(fake: Callable[[Handler], Awaitable[int]]) -> None:
    audio_only = b"v=0\r\nm=audio 0 RTP/AVP 0\r\n"
    port = await fake(scripted(lambda line, h: answer(h["cseq"], headers="Content-Type: application/sdp\r\n",
                                                        body=audio_only)))
    result, _ = await timed(port)
    assert result.status is ProbeStatus.OK
    assert result.tracks == (MediaTrack("audio", "PCMU", 8000),)
    assert result.problems == ["the stream offers no video track"]


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.sleep(30)


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    for byte in answer("1", headers="Public: OPTIONS\r\n" + "X-Pad: " + "z" * 5000 + "\r\n"):
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.02)


async def _endless_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n")
    for _ in range(2000):  # 64 MiB of header lines if nobody stops reading
        writer.write(b"X-Flood: " + b"a" * 32758 + b"\r\n")
        await writer.drain()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    raw = writer.get_extra_info("socket")
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    writer.transport.abort()


async def _close_silently(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)


HOSTILE: list[tuple[str, Handler, ProbeStatus, str]] = [
    ("hang", _hang, ProbeStatus.TIMEOUT, "no complete answer within 1 s"),
    ("slow drip", _drip, ProbeStatus.TIMEOUT, "no complete answer within 1 s"),
    ("endless head", _endless_head, ProbeStatus.PROTOCOL_ERROR, "answer head longer than 16384 bytes"),
    ("huge body", scripted(lambda line, h: f"RTSP/1.0 200 OK\r\nCSeq: {h['cseq']}\r\nContent-Length: 900000000\r\n\r\n"
                           .encode()), ProbeStatus.PROTOCOL_ERROR, "body of 900000000 bytes exceeds the limit"),
    ("http server", _garbage, ProbeStatus.PROTOCOL_ERROR, "not an RTSP answer: 'HTTP/1.1 400 Bad Request'"),
    ("wrong cseq", scripted(lambda line, h: answer("99")), ProbeStatus.PROTOCOL_ERROR, "answer to CSeq 1 carries CSeq '99'"),
    ("reset", _reset, ProbeStatus.REFUSED, "connection reset"),
    ("closed", _close_silently, ProbeStatus.PROTOCOL_ERROR, "connection closed before a complete answer"),
    ("busy", scripted(lambda line, h: answer(h["cseq"], "503 Service Unavailable")), ProbeStatus.PROTOCOL_ERROR,
     "DESCRIBE answered RTSP 503 Service Unavailable"),
    ("no such stream", scripted(lambda line, h: answer(h["cseq"], "404 Stream Not Found")), ProbeStatus.NOT_SUPPORTED,
     "RTSP 404"),
    ("not sdp", scripted(lambda line, h: answer(h["cseq"], headers="Content-Type: text/html\r\n", body=b"<html/>")),
     ProbeStatus.PROTOCOL_ERROR, "DESCRIBE answered text/html, not SDP"),
]


@pytest.mark.parametrize(("name", "handler", "status", "error"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_servers_end_within_the_timeout_with_a_status(
    fake: Callable[[Handler], Awaitable[int]], name: str, handler: Handler, status: ProbeStatus, error: str
) -> None:
    port = await fake(handler)
    result, elapsed = await timed(port)
    assert (result.status, error in result.error) == (status, True), f"{name}: {result.error}"
    assert elapsed < 1.5


async def test_closed_port_is_refused_and_bad_urls_not_supported() -> None:
    assert (await probe_rtsp(target(free_port()))).status is ProbeStatus.REFUSED
    for url in ("http://127.0.0.1/stream", "rtsp://127.0.0.1:notaport/x"):
        result = await probe_rtsp(target(1), url)
        assert result.status is ProbeStatus.NOT_SUPPORTED, url


def test_sdp_without_rtpmap_or_with_odd_lines_is_read_leniently() -> None:
    assert parse_sdp(b"m=video 0 RTP/AVP 26\nm=application 0 RTP/AVP 107\na=rtpmap:107 vnd.onvif.metadata/90000\n") == (
        MediaTrack("video", "JPEG", 90000), MediaTrack("application", "vnd.onvif.metadata", 90000))
    assert parse_sdp(b"\xff\xfe garbage\r\nm=\r\n") == (MediaTrack("?", "", None),)
