"""ONVIF calls for a whole fleet from one process: parsed WSDLs, one HTTP pool, bounded replies.

onvif-zeep-async's `ONVIFCamera` gives every device its own aiohttp session per service (two
sockets held until `close()`) and reads replies whole. Here one zeep client per WSDL (parsed
once, by onvif-zeep-async's loader) serves every device: a call names the device's service
address and carries its own WS-Security header, so a device costs no objects between probes.

Bounds: the caller puts a deadline over the whole exchange (`asyncio.timeout`); a reply body is
read up to `max_reply_bytes` and the connection dropped beyond; zeep parses with DTDs forbidden,
entities unexpanded and lxml's size limits on, so an entity bomb or an external entity is an
error, not a memory or network hazard.

Errors (`OnvifCallError.status`) are classified once, here:

    TimeoutError                               timeout
    connect errors with an errno               refused | unreachable
    reset or closed before any answer (twice)  refused
    zeep Fault ter:NotAuthorized, HTTP 401/403 auth_failed
    Fault ActionNotSupported, HTTP 404/405/501 not_supported (no ONVIF at that address)
    other faults, garbage, oversize, resets    protocol_error
    a reply that is not well-formed XML, not   protocol_error (zeep alone would recover a broken
      a SOAP envelope, or answers another        document into an empty answer: a false "ok")
      operation than the one asked

Every message names the operation ("GetProfiles: ..."). Clients closed under a call in flight
(`fleetmon run` stopping) end the call as cancelled: the probe's result means nothing then.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import onvif
import requests
import zeep.exceptions
from lxml import etree
from onvif.client import ONVIFService, ZeepAsyncClient
from onvif.definition import SERVICES
from onvif.wsa import WsAddressingIfMissingPlugin
from onvif.zeep_aiohttp import AIOHTTPTransport
from pydantic import SecretStr
from requests.structures import CaseInsensitiveDict
from zeep.settings import Settings
from zeep.wsdl.utils import etree_to_string

from fleetmon.probes.http.limits import classify_error
from fleetmon.probes.onvif import soap
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Target

WSDL_DIR = os.path.join(os.path.dirname(onvif.__file__), "wsdl")
USED_SERVICES = ("devicemgmt", "media", "search")
DEFAULT_MAX_REPLY_BYTES = 1 << 20
GET_SYSTEM_DATE_AND_TIME = soap.Request("GetSystemDateAndTime", soap.DEVICE)
KEEPALIVE_SECONDS = 2.0  # a probe's calls reuse one connection; idle ones close soon after

# Replies are hostile until parsed: no DTD at all, no entity, no network, lxml's default limits.
REPLY_SETTINGS = Settings(strict=False, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True,
                          forbid_external=True)

_NOT_SUPPORTED_CODES = frozenset({"ActionNotSupported", "NotSupported", "NoSuchService", "ServiceNotSupported"})
_AUTH_CODES = frozenset({"NotAuthorized", "FailedAuthentication", "InvalidSecurity", "SenderNotAuthorized"})
_STATUS_OF_HTTP = {401: ProbeStatus.AUTH_FAILED, 403: ProbeStatus.AUTH_FAILED, 404: ProbeStatus.NOT_SUPPORTED,
                   405: ProbeStatus.NOT_SUPPORTED, 501: ProbeStatus.NOT_SUPPORTED}


class OnvifCallError(Exception):
    """One ONVIF call failed; `status` says how, the message says what (never a secret)."""

    def __init__(self, status: ProbeStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class _ReplyTooLarge(Exception):
    """Raised inside the read loop, so the connection is dropped, not drained."""


class _TurnedAway(Exception):
    """Connections accepted and closed before any answer, twice: the port refuses service."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]
    charset: str | None


class BoundedTransport(AIOHTTPTransport):  # type: ignore[misc]  # onvif-zeep-async ships no types
    """zeep's transport over the shared session, reading at most `max_bytes` of each reply."""

    def __init__(self, session: aiohttp.ClientSession, max_bytes: int) -> None:
        super().__init__(session=session, verify_ssl=False)
        self.max_bytes = max_bytes

    async def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> requests.Response:
        data = etree_to_string(envelope)  # type: ignore[no-untyped-call]
        got = await self.post(address, data, {"Content-Type": "application/soap+xml; charset=utf-8", **(headers or {})})
        reply = requests.Response()
        reply._content = got.body
        reply.status_code = got.status
        # Without Content-Type zeep reads the body as plain XML: no MTOM/multipart decoding of hostile input.
        reply.headers = CaseInsensitiveDict({k: v for k, v in got.headers.items()
                                             if k.lower() not in ("content-type", "content-encoding")})
        reply.encoding = got.charset
        return reply

    async def post(self, address: str, data: bytes, headers: dict[str, str]) -> Reply:
        """One request; a reply that is an HTTP refusal, an error page or no XML at all raises."""
        try:
            return await self._post(address, data, headers)
        except aiohttp.ClientConnectorError:
            raise
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            pass  # most often a pooled connection the device had closed: once more, on a new one
        try:
            return await self._post(address, data, headers)
        except aiohttp.ServerDisconnectedError:
            raise _TurnedAway("the device closed the connection without answering") from None

    async def _post(self, address: str, data: bytes, headers: dict[str, str]) -> Reply:
        async with self.session.post(address, data=data, headers=headers) as response:
            declared = response.content_length
            if declared is not None and declared > self.max_bytes:
                raise _ReplyTooLarge(f"reply of {declared} bytes exceeds the limit of {self.max_bytes}")
            body: bytes | bytearray
            if declared is not None and "Content-Encoding" not in response.headers:
                body = await response.read()  # no more than the length declared, itself within bounds
            else:  # chunked or compressed: counted as it comes (a small gzip can inflate to gigabytes)
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise _ReplyTooLarge(f"reply exceeds the limit of {self.max_bytes} bytes")
            # An HTTP-level refusal, or an error page that is no SOAP envelope: the status says it all.
            if response.status in (401, 403) or (response.status >= 300 and b"Envelope" not in body[:1024]):
                raise zeep.exceptions.TransportError(status_code=response.status)  # type: ignore[no-untyped-call]
            if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                raise soap.NotXml(f"HTTP {response.status} reply is not XML")
            return Reply(response.status, bytes(body), response.headers, response.charset)


async def _load_document(name: str) -> Any:
    """The parsed WSDL of one service, through onvif-zeep-async's loader (cached per process)."""
    definition = SERVICES[name]
    service = ONVIFService("http://127.0.0.1/", None, None, os.path.join(WSDL_DIR, definition["wsdl"]),
                           no_cache=True, binding_name=f"{{{definition['ns']}}}{definition['binding']}")
    try:
        await service.setup()
        return service.document
    finally:
        await service.close()


@dataclass(frozen=True, slots=True)
class OnvifClients:
    """What every ONVIF probe of the process shares: one zeep client per WSDL and one HTTP pool."""

    session: aiohttp.ClientSession
    clients: dict[str, ZeepAsyncClient]
    transport: BoundedTransport
    lean: bool = True  # the steady-state calls without zeep (`soap`); False: zeep for all, as a reference

    def __repr__(self) -> str:
        return f"OnvifClients(services={sorted(self.clients)}, lean={self.lean})"

    @classmethod
    async def start(cls, stack: AsyncExitStack, *, max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
                    lean: bool = True) -> OnvifClients:
        """Parse the WSDLs (~0.2 s each, once) and open the pool; `stack` closes it."""
        documents = [await _load_document(name) for name in USED_SERVICES]
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS, ssl=False)
        session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None),
                                        skip_auto_headers=("User-Agent",))
        stack.push_async_callback(session.close)
        transport = BoundedTransport(session, max_reply_bytes)
        clients = {name: ZeepAsyncClient(wsdl=document, transport=transport, settings=REPLY_SETTINGS,
                                         plugins=[WsAddressingIfMissingPlugin()])
                   for name, document in zip(USED_SERVICES, documents, strict=True)}
        return cls(session=session, clients=clients, transport=transport, lean=lean)

    async def call(self, service: str, address: str, operation: str, params: dict[str, Any] | None = None,
                   header: etree._Element | None = None) -> Any:
        """One operation of `service` ("devicemgmt", "media", "search") at `address`, through zeep."""
        client = self.clients[service]
        definition = SERVICES[service]
        binding = client.wsdl.bindings[f"{{{definition['ns']}}}{definition['binding']}"]
        kwargs = dict(params or {})
        if header is not None:
            kwargs["_soapheaders"] = [header]
        with self._classified(operation):
            # zeep's send_async, with the reply checked between transport and deserialisation
            envelope, headers = binding._create(operation, (), kwargs, client=client, options={"address": address})
            reply = await client.transport.post_xml(address, envelope, headers)
            if reply.status_code not in (201, 202) or reply.content:
                body = binding.get(operation).output.body
                soap.check_reply(reply.content, etree.QName(body.qname) if body is not None else None)
            return binding.process_reply(client, binding.get(operation), reply)

    async def ask(self, address: str, request: soap.Request, header: str = "") -> etree._Element:
        """One steady-state operation at `address` without zeep: its answer element, errors as `call`'s."""
        with self._classified(request.operation):
            reply = await self.transport.post(address, request.envelope(header), {"Content-Type": request.content_type})
            return soap.answer_of(reply.body, reply.status, request.answer)

    @contextmanager
    def _classified(self, operation: str) -> Iterator[None]:
        """A device's failure as `OnvifCallError`; the clients closed under the call as a cancellation."""
        if self.session.closed:
            raise asyncio.CancelledError("the ONVIF clients are closed: fleetmon is stopping")
        try:
            yield
        except _CALL_OR_CLOSED_ERRORS as exc:
            if self.session.closed:  # closed under this call (aiohttp: "Session is closed", a dropped connection)
                raise asyncio.CancelledError("the ONVIF clients were closed during the call: fleetmon is stopping") from None
            if isinstance(exc, RuntimeError):
                raise
            raise OnvifCallError(classify(exc), f"{operation}: {describe(exc)}") from None


def security_header(username: str, password: SecretStr, device_time: float) -> etree._Element:
    """A WS-Security UsernameToken with a PasswordDigest, Created in the device's own clock (zeep's path)."""
    token = soap.username_token(password.get_secret_value(), device_time)
    security = etree.Element(f"{{{soap.WSSE}}}Security", nsmap={"wsse": soap.WSSE, "wsu": soap.WSU})
    element = etree.SubElement(security, f"{{{soap.WSSE}}}UsernameToken")
    etree.SubElement(element, f"{{{soap.WSSE}}}Username").text = username
    etree.SubElement(element, f"{{{soap.WSSE}}}Password", Type=soap.DIGEST).text = token.digest
    etree.SubElement(element, f"{{{soap.WSSE}}}Nonce", EncodingType=soap.BASE64).text = token.nonce
    etree.SubElement(element, f"{{{soap.WSU}}}Created").text = token.created
    return security


# Everything a device can make zeep, lxml or aiohttp raise. zeep lets parser internals leak on
# unparseable bodies (an AttributeError on a reply that recovers to no element), hence the last three.
ONVIF_CALL_ERRORS: tuple[type[Exception], ...] = (
    TimeoutError, OSError, aiohttp.ClientError, zeep.exceptions.Error, etree.LxmlError, _ReplyTooLarge, soap.NotXml,
    soap.NotTheAnswer, soap.SoapFault, _TurnedAway, AttributeError, TypeError, ValueError, IndexError, KeyError)
_CALL_OR_CLOSED_ERRORS: tuple[type[Exception], ...] = (*ONVIF_CALL_ERRORS, RuntimeError)


def classify(exc: BaseException) -> ProbeStatus:
    if isinstance(exc, (zeep.exceptions.Fault, soap.SoapFault)):
        codes = {getattr(code, "localname", str(code)).rsplit(":", 1)[-1] for code in (exc.subcodes or [])}
        codes.add(str(exc.code or "").rsplit(":", 1)[-1])
        if codes & _AUTH_CODES:
            return ProbeStatus.AUTH_FAILED
        if codes & _NOT_SUPPORTED_CODES:
            return ProbeStatus.NOT_SUPPORTED
        return ProbeStatus.PROTOCOL_ERROR
    if isinstance(exc, zeep.exceptions.TransportError):
        return _STATUS_OF_HTTP.get(exc.status_code, ProbeStatus.PROTOCOL_ERROR)
    if isinstance(exc, (TimeoutError, aiohttp.ServerTimeoutError)):
        return ProbeStatus.TIMEOUT
    if isinstance(exc, _TurnedAway) or (isinstance(exc, OSError) and exc.errno == errno.ECONNRESET):
        return ProbeStatus.REFUSED  # reset before any answer: the port turns connections away
    if isinstance(exc, aiohttp.ClientConnectorError):
        return classify_error(exc.os_error)
    return ProbeStatus.PROTOCOL_ERROR


def describe(exc: BaseException) -> str:
    if isinstance(exc, (zeep.exceptions.Fault, soap.SoapFault)):
        return f"SOAP fault: {str(exc.message or '')[:200]}"
    if isinstance(exc, zeep.exceptions.TransportError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, (soap.NotXml, soap.NotTheAnswer, _ReplyTooLarge, _TurnedAway)):
        return str(exc)[:200]  # already in words
    return f"{type(exc).__name__}: {str(exc)[:200]}"


@dataclass(slots=True)
class DeviceSession:
    """One device during one probe: its service addresses and its clock offset for signing."""

    clients: OnvifClients
    target: Target
    skew: float = 0.0  # device clock minus ours, seconds
    xaddrs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xaddrs.setdefault("devicemgmt", f"{self.base_url}/onvif/device_service")

    @property
    def base_url(self) -> str:
        host = f"[{self.target.host}]" if ":" in self.target.host else self.target.host
        return f"http://{host}:{self.target.onvif_port}"

    async def call(self, service: str, operation: str, params: dict[str, Any] | None = None, *,
                   auth: bool = True) -> Any:
        """An operation through zeep (services, profiles, addresses, anything unusual)."""
        credentials = self.target.credentials
        header = None
        if auth and credentials.password is not None:
            header = security_header(credentials.username, credentials.password, time.time() + self.skew)
        return await self.clients.call(service, self.xaddrs[service], operation, params, header)

    async def ask(self, service: str, request: soap.Request, *, auth: bool = True) -> etree._Element:
        """A steady-state operation without zeep: its answer element (see `soap`)."""
        credentials = self.target.credentials
        header = ""
        if auth and credentials.password is not None:
            header = soap.security_header(credentials.username, credentials.password.get_secret_value(),
                                          time.time() + self.skew)
        return await self.clients.ask(self.xaddrs[service], request, header)

    @property
    def lean(self) -> bool:
        return self.clients.lean

    async def read_clock(self) -> float | None:
        """The device clock's offset from ours (midpoint of the exchange), adopted for signing.

        Asked unauthenticated first, as the spec allows and logins may depend on the answer.
        """
        before = time.time()
        try:
            device_time = await self._device_time(auth=False)
        except OnvifCallError as exc:
            if exc.status is not ProbeStatus.AUTH_FAILED:
                raise
            before = time.time()
            device_time = await self._device_time(auth=True)
        after = time.time()
        if device_time is None:
            return None
        self.skew = device_time - (before + after) / 2
        return self.skew

    async def _device_time(self, *, auth: bool) -> float | None:
        if self.lean:
            answer = await self.ask("devicemgmt", GET_SYSTEM_DATE_AND_TIME, auth=auth)
            value = soap.child(answer, "SystemDateAndTime", "UTCDateTime")
            date, clock = soap.child(value, "Date"), soap.child(value, "Time")
            return _moment(*(soap.integer(soap.child(date, name)) for name in ("Year", "Month", "Day")),
                           *(soap.integer(soap.child(clock, name)) for name in ("Hour", "Minute", "Second")))
        answer = await self.call("devicemgmt", "GetSystemDateAndTime", auth=auth)
        return utc_timestamp(getattr(answer, "UTCDateTime", None))

    async def discover_services(self) -> None:
        """Service addresses from GetServices, else GetCapabilities; the device's own host is kept.

        Units behind a commune router's NAT advertise their LAN address, so only the path of an
        advertised address is used, on the host and port that reached the device.
        """
        try:
            services = [(s.Namespace, s.XAddr) for s in await self.call("devicemgmt", "GetServices",
                                                                        {"IncludeCapability": False}) or []]
        except OnvifCallError as exc:
            if exc.status not in (ProbeStatus.NOT_SUPPORTED, ProbeStatus.PROTOCOL_ERROR):
                raise
            capabilities = await self.call("devicemgmt", "GetCapabilities", {"Category": "All"})
            media = getattr(capabilities, "Media", None)
            services = [(SERVICES["media"]["ns"], media.XAddr)] if media is not None else []
        by_namespace = {SERVICES[name]["ns"]: name for name in USED_SERVICES}
        for namespace, xaddr in services:
            name = by_namespace.get(namespace or "")
            if name is not None and xaddr:
                self.xaddrs[name] = self.base_url + (urlsplit(xaddr).path or "/")


def utc_timestamp(value: Any) -> float | None:
    """An ONVIF tt:DateTime as zeep reads it (Date + Time parts) as a Unix timestamp, None when absent or impossible."""
    date, clock = getattr(value, "Date", None), getattr(value, "Time", None)
    return _moment(*(getattr(date, name, None) for name in ("Year", "Month", "Day")),
                   *(getattr(clock, name, None) for name in ("Hour", "Minute", "Second")))


def _moment(year: Any, month: Any, day: Any, hour: Any, minute: Any, second: Any) -> float | None:
    """A leap second (23:59:60) reads as the second before it, as SNMP's DateAndTime does."""
    try:
        return dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=dt.UTC).timestamp()
    except (TypeError, ValueError, OverflowError):
        return None
