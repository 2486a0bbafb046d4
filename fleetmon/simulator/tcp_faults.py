"""Faults at the TCP level: an offline device's address times out, a refused one resets.

A TCP server of the simulator binds one wildcard listener per port (with SO_REUSEPORT) and
finds the device by the local address. For a device that must not answer, `AddressFaults` binds
an extra listener on that device's exact address and port; Linux's listener lookup prefers the
exact address over the wildcard, so that socket alone sees the device's SYNs:

    offline, flapping (down half), parent down   a classic BPF filter `ret #0` drops every
                                                 packet: SYNs vanish and the client's connect
                                                 times out, as with a powered-off camera
    refused                                      the kernel completes the handshake and the
                                                 connection is reset at once (SO_LINGER 0)

A true ECONNREFUSED needs a listener lookup that finds nothing, which the wildcard listener
prevents without firewall rules or an eBPF sk_lookup program; an immediate reset is the closest
user-space emulation, and the client sees "connection reset" before any byte of an answer.

The extra sockets follow the fleet's state: `reconcile()` runs every `period` seconds and on
demand, so flapping works and clearing a fault restores the device. Their number grows only
with the faulty devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import logging
import socket
import struct
import time
from dataclasses import dataclass, field

from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.loopback import bind_loopback
from fleetmon.simulator.state import EmulatedDevice, Fault

log = logging.getLogger(__name__)

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)  # Linux value
_DROP_ALL = struct.pack("=HBBI", 0x06, 0, 0, 0)  # BPF_RET | BPF_K, k = 0: keep no bytes
_DROP_ALL_BUFFER = ctypes.create_string_buffer(_DROP_ALL)
_SOCK_FPROG = struct.pack("@HP", 1, ctypes.addressof(_DROP_ALL_BUFFER))  # struct sock_fprog
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)
RECONCILE_PERIOD = 0.5


class Blocked(enum.Enum):
    SILENT = "silent"  # SYNs dropped: connect times out
    RESET = "reset"  # handshake then reset


def blocking(device: EmulatedDevice, now: float) -> Blocked | None:
    """How TCP connections to `device` fail now, or None when they are accepted."""
    if not device.answers(now):
        return Blocked.SILENT
    if Fault.REFUSED in device.faults:
        return Blocked.RESET
    return None


# A sweep opens a thousand connections at once; the default backlogs (100-128) would drop SYNs
# and make healthy devices look slow to the prober (a 1 s retransmission), which is the
# simulator's limit, not the fleet's. asyncio also accepts up to this many per loop turn, so a
# much larger one piles up accepted sockets faster than a busy loop closes them.
LISTEN_BACKLOG = 1024


def _faults_on_path(emulated: EmulatedDevice | None) -> bool:
    """Whether the device or anything it hangs behind (recorder, uplink) has a fault set."""
    while emulated is not None:
        if emulated.faults:
            return True
        emulated = emulated.parent
    return False


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT, so exact-address listeners can share its port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        bind_loopback(sock, host, port)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _silent_listener(host: str, port: int) -> socket.socket:
    sock = reuse_port_socket(host, port)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, _SOCK_FPROG)
        sock.listen(16)
    except OSError:
        sock.close()
        raise
    return sock


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    raw = writer.get_extra_info("socket")
    if raw is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    writer.transport.abort()


@dataclass(slots=True)
class _Held:
    blocked: Blocked
    sock: socket.socket | None = None
    server: asyncio.base_events.Server | None = None

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        if self.sock is not None:
            self.sock.close()


@dataclass(slots=True)
class AddressFaults:
    """The exact-address sockets of one TCP port, kept in step with the fleet's faults."""

    fleet: Fleet
    port: int
    port_fields: tuple[str, ...]  # the Device ports this server stands for, e.g. ("onvif_port", "http_port")
    period: float = RECONCILE_PERIOD
    _held: dict[str, _Held] = field(default_factory=dict)  # by host
    _task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"AddressFaults(port={self.port}, blocked={len(self._held)})"

    def wanted(self, now: float) -> dict[str, Blocked]:
        """Hosts on this port that must not be served now, and how."""
        wanted = {}
        for emulated in self.fleet.devices.values():
            if not _faults_on_path(emulated):
                continue
            if all(emulated.device.port(name) != self.port for name in self.port_fields):
                continue
            how = blocking(emulated, now)
            if how is not None:
                wanted[emulated.device.host] = how
        return wanted

    async def reconcile(self) -> None:
        wanted = self.wanted(time.time())
        for host in [h for h, held in self._held.items() if wanted.get(h) is not held.blocked]:
            await self._held.pop(host).close()
        for host, how in wanted.items():
            if host in self._held:
                continue
            try:
                self._held[host] = await self._open(host, how)
            except OSError as exc:  # e.g. out of file descriptors: that device stays served
                log.warning("cannot block %s:%d (%s): %s", host, self.port, how.value, exc)

    async def _open(self, host: str, how: Blocked) -> _Held:
        if how is Blocked.SILENT:
            return _Held(how, sock=_silent_listener(host, self.port))
        sock = reuse_port_socket(host, self.port)
        return _Held(how, server=await asyncio.start_server(_reset, sock=sock, backlog=64))

    async def _loop(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:  # one bad pass must not end fault emulation for the port
                log.exception("TCP fault reconciliation on port %d failed", self.port)
            await asyncio.sleep(self.period)

    async def start(self) -> None:
        await self.reconcile()
        self._task = asyncio.create_task(self._loop(), name=f"tcp-faults-{self.port}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for held in self._held.values():
            await held.close()
        self._held.clear()
