"""Keeping the simulator's servers on loopback.

Its servers bind one wildcard socket per port (a device is found by the local address, and there
may be tens of thousands of 127.x.y.z addresses), so each such socket is also tied to the loopback
interface (SO_BINDTODEVICE): a packet from another host never reaches it, and a port scan from the
network finds nothing open. Where the kernel refuses that (not Linux, or too old and unprivileged),
servers still drop every non-loopback peer unanswered, and a warning says so.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

log = logging.getLogger(__name__)

WILDCARD = "0.0.0.0"
LOOPBACK_INTERFACE = b"lo"
_warned: list[bool] = []


def bind_loopback(sock: socket.socket, host: str, port: int) -> None:
    """Bind `sock` to `host`:`port`; a wildcard `host` is confined to the loopback interface."""
    if not ipaddress.ip_address(host).is_loopback:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, LOOPBACK_INTERFACE)
        except (OSError, AttributeError) as exc:
            if not _warned:
                _warned.append(True)
                log.warning("cannot tie the simulator's sockets to the loopback interface (%s): they listen on every "
                            "interface, and answer loopback peers only", exc)
    sock.bind((host, port))


def is_loopback_peer(address: str) -> bool:
    """Whether a peer address (IPv4, IPv6, IPv4-mapped, with or without a zone) is on loopback."""
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped.is_loopback
    return parsed.is_loopback
