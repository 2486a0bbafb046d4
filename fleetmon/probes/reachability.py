"""Is the device on the network: TCP connects to its service ports and an ICMP echo, with latency.

A bare non-blocking `sock_connect` per port (no streams, no transport objects) keeps the CPU per
probe small enough to sweep a province from one process. ICMP echo uses an unprivileged ICMP
datagram socket when `net.ipv4.ping_group_range` admits the process's group, a raw socket when
the process has CAP_NET_RAW, and otherwise reports not_supported with the reason.

The device counts as reachable (status ok) when any check answers: a camera whose RTSP port
refuses while ONVIF answers is up but faulty, and the failing check is named in `error`.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from itertools import count

from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.target import Target

_ERRNO_STATUS: dict[int, ProbeStatus] = {
    errno.ECONNREFUSED: ProbeStatus.REFUSED,
    errno.ETIMEDOUT: ProbeStatus.TIMEOUT,
}

# Which failure says most about the device when no check answered (refused: the host is there).
_FAILURE_RANK = (ProbeStatus.REFUSED, ProbeStatus.TIMEOUT, ProbeStatus.UNREACHABLE, ProbeStatus.NOT_SUPPORTED)

_ECHO_REQUEST, _ECHO_REPLY = 8, 0
_sequence = count(1)


def status_of_os_error(exc: OSError) -> ProbeStatus:
    """refused when the host answered with a reset, timeout, else unreachable (no route, down)."""
    return _ERRNO_STATUS.get(exc.errno or 0, ProbeStatus.UNREACHABLE)


@dataclass(frozen=True, slots=True)
class Check:
    """One port or the ICMP echo; `name` is e.g. "onvif/http:80", "rtsp:554" or "icmp"."""

    name: str
    status: ProbeStatus
    latency_seconds: float | None = None
    error: str = ""


@dataclass(slots=True, kw_only=True)
class ReachabilityResult(ProbeResult):
    checks: list[Check] = field(default_factory=list)

    @property
    def latency_seconds(self) -> float | None:
        """The fastest answer of any check: the device's network round trip."""
        answered = [c.latency_seconds for c in self.checks if c.latency_seconds is not None]
        return min(answered) if answered else None


async def probe_reachability(target: Target, *, icmp: bool = True, rtsp: bool = True) -> ReachabilityResult:
    """Connect to every distinct service port (and ping) concurrently, all within target.timeout.

    `rtsp=False` leaves the RTSP port out: for a caller that checks the stream by other means.
    """
    started = time.perf_counter()
    jobs = [tcp_check(target.host, port, name, target.timeout) for port, name in _service_ports(target, rtsp).items()]
    if icmp:
        jobs.append(icmp_check(target.host, target.timeout))
    checks = list(await asyncio.gather(*jobs))
    failed = [c for c in checks if c.status is not ProbeStatus.OK]
    if len(failed) < len(checks):
        status = ProbeStatus.OK
    else:
        status = min((c.status for c in failed), key=_FAILURE_RANK.index)
    return ReachabilityResult(
        device_id=target.device_id,
        probe="reachability",
        status=status,
        duration_seconds=time.perf_counter() - started,
        error="; ".join(f"{c.name} {c.status}: {c.error}" for c in failed),
        checks=checks,
    )


def _reason(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _service_ports(target: Target, rtsp: bool = True) -> dict[int, str]:
    names: dict[int, list[str]] = {}
    ports = [("onvif", target.onvif_port), ("http", target.http_port)] + ([("rtsp", target.rtsp_port)] if rtsp else [])
    for name, port in ports:
        names.setdefault(port, []).append(name)
    return {port: "/".join(found) for port, found in names.items()}


async def tcp_check(host: str, port: int, name: str, timeout: float) -> Check:
    """A TCP handshake to host:port, closed at once; the latency is the handshake's."""
    label = f"{name}:{port}"
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            family, address = await _resolve(host, port)
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.setblocking(False)
                await loop.sock_connect(sock, address)
                latency = time.perf_counter() - started
    except TimeoutError:
        return Check(label, ProbeStatus.TIMEOUT, error=f"no answer to connect within {timeout:g} s")
    except OSError as exc:
        return Check(label, status_of_os_error(exc), error=_reason(exc))
    return Check(label, ProbeStatus.OK, latency)


async def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    """Literal addresses (the inventory's usual case) skip the resolver's thread pool."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        return family, (str(address[0]), int(address[1]))
    return (socket.AF_INET6 if ip.version == 6 else socket.AF_INET), (host, port)


async def icmp_check(host: str, timeout: float) -> Check:
    """One ICMP echo request and its reply (IPv4 only)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return Check("icmp", ProbeStatus.NOT_SUPPORTED, error="ICMP echo needs an IP address, not a name")
    if ip.version != 4:
        return Check("icmp", ProbeStatus.NOT_SUPPORTED, error="ICMP echo is implemented for IPv4 only")
    opened = _open_icmp_socket()
    if isinstance(opened, str):
        return Check("icmp", ProbeStatus.NOT_SUPPORTED, error=opened)
    sock, raw = opened
    with sock:
        sequence = next(_sequence) & 0xFFFF
        ident = os.getpid() & 0xFFFF
        token = os.urandom(16)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.get_running_loop().sock_sendto(sock, _echo_request(ident, sequence, token), (host, 0))
                await _await_reply(sock, raw, host, ident, sequence, token)
        except TimeoutError:
            return Check("icmp", ProbeStatus.TIMEOUT, error=f"no echo reply within {timeout:g} s")
        except OSError as exc:
            return Check("icmp", status_of_os_error(exc), error=_reason(exc))
        return Check("icmp", ProbeStatus.OK, time.perf_counter() - started)


def _open_icmp_socket() -> tuple[socket.socket, bool] | str:
    """(socket, is_raw), or why neither kind of ICMP socket is allowed."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            sock = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
        except PermissionError:
            continue
        sock.setblocking(False)
        return sock, kind == socket.SOCK_RAW
    low, high = _ping_group_range()
    return (f"ICMP not permitted: gid {os.getgid()} is outside net.ipv4.ping_group_range "
            f"({low} {high}) and the process lacks CAP_NET_RAW")


def _ping_group_range() -> tuple[str, str]:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range", encoding="ascii") as handle:
            low, high = handle.read().split()
    except (OSError, ValueError):
        return "?", "?"
    return low, high


def _echo_request(ident: int, sequence: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHH", _ECHO_REQUEST, 0, 0, ident, sequence)
    checksum = _checksum(header + payload)
    return struct.pack("!BBHHH", _ECHO_REQUEST, 0, checksum, ident, sequence) + payload


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


async def _await_reply(sock: socket.socket, raw: bool, host: str, ident: int, sequence: int, token: bytes) -> None:
    """Read until our reply arrives; a raw socket also sees every other ICMP packet of the host.

    A datagram socket's kernel rewrites the identifier, so only sequence and payload are matched.
    """
    loop = asyncio.get_running_loop()
    while True:
        packet, (source, _) = await loop.sock_recvfrom(sock, 2048)
        if raw:
            packet = packet[(packet[0] & 0x0F) * 4:]
        if len(packet) < 8 or source != host:
            continue
        kind, _, _, got_ident, got_sequence = struct.unpack("!BBHHH", packet[:8])
        if kind == _ECHO_REPLY and got_sequence == sequence and packet[8:] == token and (not raw or got_ident == ident):
            return
