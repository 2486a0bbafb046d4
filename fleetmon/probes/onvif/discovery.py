"""Finding ONVIF devices that are not in the inventory: WS-Discovery, and scanning an address range.

    ws_discover(address, port)   sends one WS-Discovery Probe (unicast; multicast only when the
                                 caller names a multicast group, on a real network) and collects
                                 the ProbeMatches until the timeout
    identify(target, clients)    who answers ONVIF at an address: clock, GetDeviceInformation,
                                 and whether it offers recording search (then it is a recorder)
    scan(hosts, ...)             `identify` over many addresses with bounded concurrency

Replies are parsed with DTDs refused and nothing expanded or fetched; a datagram is at most
64 KiB, and the number kept is capped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree

from fleetmon.probes.findings import DeviceIdentity
from fleetmon.probes.onvif.client import DeviceSession, OnvifCallError, OnvifClients
from fleetmon.probes.onvif.probe import identity_of
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Target

WS_DISCOVERY_PORT = 3702
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
MAX_ANNOUNCEMENTS = 100_000
MAX_RANGE = 65_536
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True, slots=True)
class Announcement:
    """One ProbeMatch: a device telling where its ONVIF device service is."""

    endpoint: str
    xaddrs: tuple[str, ...]
    types: tuple[str, ...]
    scopes: tuple[str, ...]

    def scope(self, key: str) -> str:
        """The value of an onvif://www.onvif.org/<key>/<value> scope, e.g. hardware (the model) or name."""
        prefix = f"onvif://www.onvif.org/{key}/"
        return next((unquote(s[len(prefix):]) for s in self.scopes if s.startswith(prefix)), "")

    @property
    def host_port(self) -> tuple[str, int] | None:
        for xaddr in self.xaddrs:
            parts = urlsplit(xaddr)
            if parts.hostname:
                return parts.hostname, parts.port or 80
        return None


def probe_message(message_id: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            f'xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
            f"<a:Action>{WSD}/Probe</a:Action><a:MessageID>{message_id}</a:MessageID>"
            f"<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"
            f"<s:Body><d:Probe/></s:Body></s:Envelope>").encode()


def parse_probe_matches(datagram: bytes, message_id: str) -> list[Announcement]:
    """The ProbeMatch elements of a reply to our Probe; anything else (or any DTD) gives none."""
    if b"<!DOCTYPE" in datagram:
        return []
    try:
        root = etree.fromstring(datagram, _PARSER)
    except etree.XMLSyntaxError:
        return []
    relates = (root.findtext(f".//{{{WSA}}}RelatesTo") or "").strip()
    if relates and relates != message_id:
        return []
    found = []
    for match in root.iter(f"{{{WSD}}}ProbeMatch"):
        found.append(Announcement(
            endpoint=(match.findtext(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address") or "").strip(),
            xaddrs=tuple((match.findtext(f"{{{WSD}}}XAddrs") or "").split()),
            types=tuple((match.findtext(f"{{{WSD}}}Types") or "").split()),
            scopes=tuple((match.findtext(f"{{{WSD}}}Scopes") or "").split())))
    return found


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.found: dict[str, Announcement] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        for announcement in parse_probe_matches(data, self.message_id):
            if len(self.found) < MAX_ANNOUNCEMENTS:
                self.found.setdefault(announcement.endpoint or " ".join(announcement.xaddrs), announcement)


async def ws_discover(address: str, port: int = WS_DISCOVERY_PORT, *, timeout: float = 2.0) -> list[Announcement]:
    """Send a Probe to `address`:`port` and gather every answer that arrives within `timeout` seconds."""
    message_id = f"urn:uuid:{uuid.uuid4()}"
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(lambda: _Collector(message_id), family=family,
                                                               local_addr=("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    try:
        if ipaddress.ip_address(address).is_multicast:  # asked for explicitly: stay on the local segment
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        transport.sendto(probe_message(message_id), (address, port))
        await asyncio.sleep(timeout)
    finally:
        transport.close()
    return list(collector.found.values())


@dataclass(frozen=True, slots=True)
class Identified:
    """What answered ONVIF at one address; `identity` is None when the login or the call failed."""

    host: str
    port: int
    status: ProbeStatus
    identity: DeviceIdentity | None = None
    kind: str = "camera"  # "nvr" when the unit offers recording search
    error: str = ""

    @property
    def answered(self) -> bool:
        """Something speaks ONVIF there, even if it refused our login."""
        return self.status in (ProbeStatus.OK, ProbeStatus.AUTH_FAILED)


async def identify(target: Target, clients: OnvifClients) -> Identified:
    session = DeviceSession(clients, target)
    identity = None
    try:
        async with asyncio.timeout(target.timeout):
            await session.read_clock()
            identity = await identity_of(session)
            await session.discover_services()
    except TimeoutError:
        return Identified(target.host, target.onvif_port, ProbeStatus.TIMEOUT, identity, error="no answer in time")
    except OnvifCallError as exc:
        return Identified(target.host, target.onvif_port, exc.status, identity, error=str(exc))
    kind = "nvr" if "search" in session.xaddrs else "camera"
    return Identified(target.host, target.onvif_port, ProbeStatus.OK, identity, kind)


async def scan(targets: Iterable[Target], clients: OnvifClients, *, concurrency: int = 64) -> list[Identified]:
    """`identify` every target, at most `concurrency` at a time; results in the targets' order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(target: Target) -> Identified:
        async with gate:
            return await identify(target, clients)

    return list(await asyncio.gather(*(one(t) for t in targets)))


def address_range(text: str) -> list[str]:
    """Addresses of "A-B" (inclusive), "A/prefix" (its hosts) or one address; ValueError if malformed or huge."""
    text = text.strip()
    if "-" in text:
        first_text, last_text = (part.strip() for part in text.split("-", 1))
        first, last = ipaddress.ip_address(first_text), ipaddress.ip_address(last_text)
        if first.version != last.version or int(last) < int(first):
            raise ValueError(f"{text!r}: the range must run from a lower to a higher address of one family")
        if int(last) - int(first) >= MAX_RANGE:
            raise ValueError(f"{text!r}: more than {MAX_RANGE} addresses")
        return [str(ipaddress.ip_address(int(first) + n)) for n in range(int(last) - int(first) + 1)]
    if "/" in text:
        network = ipaddress.ip_network(text, strict=False)
        if network.num_addresses > MAX_RANGE:
            raise ValueError(f"{text!r}: more than {MAX_RANGE} addresses")
        return [str(host) for host in network.hosts()] or [str(network.network_address)]
    return [str(ipaddress.ip_address(text))]
