"""WS-Discovery for the emulated fleet: a UDP responder answering Probe messages, loopback only.

Real units answer a multicast Probe on 239.255.255.250:3702; the simulator never joins a
multicast group. Its one socket (bound to the wildcard address, `IP_PKTINFO` on) answers unicast
Probes from 127.0.0.0/8:

    sent to a device's own address   that device's ProbeMatch, from that address
    sent to any other address        every ONVIF device (cameras, recorders) that answers now,
                                     `MATCHES_PER_DATAGRAM` per ProbeMatches datagram

Offline, flapping-down and parent-down devices stay silent, as they do on TCP.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from lxml import etree

from fleetmon.inventory.model import DeviceKind
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.loopback import WILDCARD, bind_loopback
from fleetmon.simulator.snmp_agent import CMSG_SPACE, IP_PKTINFO, LOOPBACK, PKTINFO
from fleetmon.simulator.soap import text as t
from fleetmon.simulator.state import EmulatedDevice

log = logging.getLogger(__name__)

DEFAULT_DISCOVERY_PORT = 13702
MATCHES_PER_DATAGRAM = 20
MAX_DATAGRAM = 65507
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
ONVIF_KINDS = frozenset({DeviceKind.CAMERA, DeviceKind.NVR})


def endpoint_of(emulated: EmulatedDevice) -> str:
    """A stable WS-Addressing endpoint for the device, as units derive theirs from the MAC."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'fleetmon-sim:' + emulated.device.id)}"


def probe_match(emulated: EmulatedDevice) -> str:
    device = emulated.device
    host = f"[{device.host}]" if ":" in device.host else device.host
    types = "dn:NetworkVideoTransmitter tds:Device" if device.kind is DeviceKind.CAMERA else "tds:Device"
    scopes = " ".join(f"onvif://www.onvif.org/{key}/{quote(value, safe='')}" for key, value in (
        ("type", "video_encoder" if device.kind is DeviceKind.CAMERA else "recorder"),
        ("hardware", device.model or device.kind.value), ("name", device.vendor or "fleetmon-sim"),
        ("location", device.site or device.area or "unknown")) if value)
    return (f"<d:ProbeMatch><a:EndpointReference><a:Address>{endpoint_of(emulated)}</a:Address></a:EndpointReference>"
            f"<d:Types>{types}</d:Types><d:Scopes>{t(scopes)}</d:Scopes>"
            f"<d:XAddrs>http://{host}:{device.port('onvif_port')}/onvif/device_service</d:XAddrs>"
            f"<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch>")


def probe_matches(relates_to: str, matches: list[str]) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            f'xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
            f'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Header>'
            f"<a:Action>{WSD}/ProbeMatches</a:Action><a:MessageID>urn:uuid:{uuid.uuid4()}</a:MessageID>"
            f"<a:RelatesTo>{t(relates_to)}</a:RelatesTo>"
            f"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To></s:Header>"
            f"<s:Body><d:ProbeMatches>{''.join(matches)}</d:ProbeMatches></s:Body></s:Envelope>").encode()


def probe_id(message: bytes) -> str | None:
    """The MessageID of a WS-Discovery Probe, or None for anything else (garbage, DTDs, other actions)."""
    if b"<!DOCTYPE" in message:
        return None
    try:
        root = etree.fromstring(message, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.find(f".//{{{WSD}}}Probe") is None:
        return None
    return (root.findtext(f".//{{{WSA}}}MessageID") or "").strip()[:200]


@dataclass(slots=True)
class DiscoveryResponder:
    fleet: Fleet
    sock: socket.socket

    def __repr__(self) -> str:
        return f"DiscoveryResponder(port={self.sock.getsockname()[1]})"

    def replies(self, local: str) -> Iterator[list[str]]:
        """ProbeMatch elements for a Probe sent to `local`, a datagram's worth at a time."""
        addressed = self.fleet.at(local)
        if addressed is not None:
            devices = [addressed]
        else:
            devices = [d for d in self.fleet.devices.values() if d.device.kind in ONVIF_KINDS]
        answering = [probe_match(d) for d in devices if d.device.kind in ONVIF_KINDS and d.answers()]
        for start in range(0, len(answering), MATCHES_PER_DATAGRAM):
            yield answering[start:start + MATCHES_PER_DATAGRAM]

    def _on_readable(self) -> None:
        for _ in range(64):
            try:
                message, ancillary, _, source = self.sock.recvmsg(MAX_DATAGRAM, CMSG_SPACE)
            except BlockingIOError:
                return
            except OSError as exc:
                log.debug("ws-discovery recvmsg: %s", exc)
                return
            if ipaddress.ip_address(source[0]) not in LOOPBACK:
                continue
            local = next((data[8:12] for level, kind, data in ancillary
                          if level == socket.IPPROTO_IP and kind == IP_PKTINFO), None)
            message_id = probe_id(message)
            if local is None or message_id is None:
                continue
            for matches in self.replies(socket.inet_ntoa(local)):
                try:
                    self.sock.sendmsg([probe_matches(message_id, matches)],
                                      [(socket.IPPROTO_IP, IP_PKTINFO, PKTINFO.pack(0, local, b"\x00" * 4))], 0, source)
                except OSError as exc:
                    log.debug("ws-discovery sendmsg: %s", exc)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()


async def start_discovery(fleet: Fleet, port: int = DEFAULT_DISCOVERY_PORT, host: str = WILDCARD) -> DiscoveryResponder:
    """Answer WS-Discovery Probes on UDP `port`; `close()` stops it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        sock.setblocking(False)
        bind_loopback(sock, host, port)
    except OSError:
        sock.close()
        raise
    responder = DiscoveryResponder(fleet, sock)
    asyncio.get_running_loop().add_reader(sock.fileno(), responder._on_readable)
    return responder
