"""ONVIF over the simulator's web port: device, media and (for recorders) search services.

    device  GetSystemDateAndTime, GetServices, GetCapabilities (pre-auth, as the spec allows),
            GetDeviceInformation, SetSystemDateAndTime, GetNTP, SetNTP
    media   GetProfiles, GetStreamUri, GetSnapshotUri
    search  GetRecordingSummary, FindRecordings, GetRecordingSearchResults, EndSearch (NVRs)

Every other call needs a WS-Security UsernameToken (PasswordDigest or PasswordText) whose
Created time is within `CREATED_WINDOW` of the *device's* clock, as on real units: a client that
does not sign with the device's time fails on a skewed device. Faults as a client sees them:
wrong_password -> ter:NotAuthorized (HTTP 400); clock_skew -> GetSystemDateAndTime off by the
param, until SetSystemDateAndTime (Manual, or NTP after SetNTP) corrects it; recording_stopped -> the latest
recording stops advancing (frozen `RECORDING_STOPPED_AGE` before the fault was first seen);
disk_full and disk_failed -> a short earliest-footage horizon. Reboots are not visible over
ONVIF, which has no uptime call (SNMP and ISAPI show them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.soap import (
    CONTENT_TYPE,
    Request,
    SoapError,
    envelope,
    fault_envelope,
    parse_request,
    parse_time,
    token_matches,
    xs_datetime,
)
from fleetmon.simulator.soap import text as t
from fleetmon.simulator.state import EmulatedDevice, Fault
from fleetmon.simulator.web_context import FLEET, SNAPSHOT_PATH, HttpSettings, device_of

CREATED_WINDOW = 300.0  # seconds a token's Created may differ from the device clock
RECORDING_STOPPED_AGE = 3 * 3600.0
RETENTION_DAYS = 30.0
DISK_FULL_RETENTION_DAYS = 2.0
DEFAULT_CHANNELS = 4
DAY = 86400.0
NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
NS_SEARCH = "http://www.onvif.org/ver10/search/wsdl"
CAMERA_PROFILES = (("Profile_1", "mainStream", 1920, 1080), ("Profile_2", "subStream", 640, 360))


@dataclass(frozen=True, slots=True)
class Call:
    request: Request
    device: EmulatedDevice
    fleet: Fleet
    base_url: str  # http://host:port of the device as the client reached it
    now: float


Operation = Callable[["OnvifService", Call], str]


def _local_port(request: web.Request) -> int:
    transport = request.transport
    return int(transport.get_extra_info("sockname")[1]) if transport is not None else 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(slots=True)
class OnvifService:
    settings: HttpSettings
    stopped_at: dict[str, float] = field(default_factory=dict)  # device id -> last recording time
    ntp_servers: dict[str, str] = field(default_factory=dict)  # device id -> configured server
    ntp_mode: set[str] = field(default_factory=set)  # devices whose clock follows their NTP server
    _children: dict[str, list[EmulatedDevice]] | None = None

    def __repr__(self) -> str:
        return f"OnvifService(username={self.settings.username!r})"

    async def handle(self, request: web.Request) -> web.Response:
        device = device_of(request)
        try:
            call = Call(parse_request(await request.read()), device, request.app[FLEET],
                        f"http://{_url_host(device.device.host)}:{_local_port(request)}", time.time())
            operation, pre_auth = OPERATIONS.get(call.request.operation, (None, False))
            if operation is None:
                raise SoapError("ter:ActionNotSupported", f"{call.request.operation} is not supported",
                                code="Receiver", status=500)
            if not pre_auth:
                self.authenticate(call)
            if call.request.operation in SEARCH_OPERATIONS and not device.is_nvr:
                raise SoapError("ter:ActionNotSupported", "this device records nothing", code="Receiver", status=500)
            body = operation(self, call)
        except SoapError as error:
            return web.Response(body=fault_envelope(error), status=error.status, content_type=CONTENT_TYPE)
        return web.Response(body=envelope(body), content_type=CONTENT_TYPE)

    def authenticate(self, call: Call) -> None:
        token = call.request.token
        if token is None:
            raise SoapError("ter:NotAuthorized", "Sender not authorized: no UsernameToken")
        password = self.settings.password.get_secret_value()
        if Fault.WRONG_PASSWORD in call.device.faults or not token_matches(token, self.settings.username, password):
            raise SoapError("ter:NotAuthorized", "Sender not authorized")
        created = parse_time(token.created) if token.digest else None
        if token.digest and (created is None or abs(created.timestamp() - call.device.clock(call.now)) > CREATED_WINDOW):
            raise SoapError("ter:NotAuthorized", "Sender not authorized: Created is not the device's time")

    def children(self, fleet: Fleet, device: EmulatedDevice) -> list[EmulatedDevice]:
        """The cameras recorded by `device` (inventory children), indexed once per fleet."""
        if self._children is None:
            index: dict[str, list[EmulatedDevice]] = {}
            for emulated in fleet.devices.values():
                if emulated.device.parent:
                    index.setdefault(emulated.device.parent, []).append(emulated)
            self._children = index
        return self._children.get(device.device.id, [])


# -- device service ---------------------------------------------------------------------------

def _date_time(timestamp: float) -> str:
    parts = time.gmtime(timestamp)
    return (f"<tt:Time><tt:Hour>{parts.tm_hour}</tt:Hour><tt:Minute>{parts.tm_min}</tt:Minute>"
            f"<tt:Second>{parts.tm_sec}</tt:Second></tt:Time><tt:Date><tt:Year>{parts.tm_year}</tt:Year>"
            f"<tt:Month>{parts.tm_mon}</tt:Month><tt:Day>{parts.tm_mday}</tt:Day></tt:Date>")


def get_system_date_and_time(service: OnvifService, call: Call) -> str:
    clock = call.device.clock(call.now)
    kind = "NTP" if call.device.device.id in service.ntp_mode else "Manual"
    return (f"<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>{kind}</tt:DateTimeType>"
            f"<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
            f"<tt:UTCDateTime>{_date_time(clock)}</tt:UTCDateTime><tt:LocalDateTime>{_date_time(clock)}</tt:LocalDateTime>"
            f"</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")


def get_device_information(service: OnvifService, call: Call) -> str:
    device = call.device.device
    return (f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{t(device.vendor or 'fleetmon-sim')}</tds:Manufacturer>"
            f"<tds:Model>{t(device.model or device.kind.value)}</tds:Model>"
            f"<tds:FirmwareVersion>{t(device.firmware or '1.0.0')}</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{t(device.serial or device.id)}</tds:SerialNumber>"
            f"<tds:HardwareId>{t(device.mac or device.id)}</tds:HardwareId></tds:GetDeviceInformationResponse>")


def _services(call: Call) -> list[tuple[str, str]]:
    services = [(NS_DEVICE, "device_service"), (NS_MEDIA, "media_service")]
    if call.device.is_nvr:
        services.append((NS_SEARCH, "search_service"))
    return services


def get_services(service: OnvifService, call: Call) -> str:
    items = "".join(f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{call.base_url}/onvif/{path}</tds:XAddr>"
                    f"<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
                    for ns, path in _services(call))
    return f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>"


def get_capabilities(service: OnvifService, call: Call) -> str:
    base = call.base_url
    return (f"<tds:GetCapabilitiesResponse><tds:Capabilities>"
            f"<tt:Device><tt:XAddr>{base}/onvif/device_service</tt:XAddr></tt:Device>"
            f"<tt:Media><tt:XAddr>{base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities>"
            f"<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
            f"</tt:StreamingCapabilities></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>")


def _set_clock(device: EmulatedDevice, skew: float) -> None:
    """The device clock `skew` seconds off ours; under a second counts as correct."""
    if abs(skew) < 1.0:
        device.faults.pop(Fault.CLOCK_SKEW, None)
    else:
        device.faults[Fault.CLOCK_SKEW] = skew


def set_system_date_and_time(service: OnvifService, call: Call) -> str:
    request, device_id = call.request, call.device.device.id
    if request.text("DateTimeType") == "NTP":
        if device_id not in service.ntp_servers:
            raise SoapError("ter:InvalidArgVal", "no NTP server configured; SetNTP first")
        service.ntp_mode.add(device_id)
        _set_clock(call.device, 0.0)
    else:
        fields = [request.text(f"UTCDateTime/{part}") for part in ("Date/Year", "Date/Month", "Date/Day",
                                                                      "Time/Hour", "Time/Minute", "Time/Second")]
        try:
            year, month, day, hour, minute, second = (int(v or "") for v in fields)
            wanted = time.mktime((year, month, day, hour, minute, second, 0, 0, 0)) - time.timezone
        except (ValueError, OverflowError):
            raise SoapError("ter:InvalidDateTime", "UTCDateTime is missing or not a date") from None
        service.ntp_mode.discard(device_id)
        _set_clock(call.device, wanted - call.now)
    return "<tds:SetSystemDateAndTimeResponse/>"


def set_ntp(service: OnvifService, call: Call) -> str:
    device_id = call.device.device.id
    servers = call.request.texts("IPv4Address") + call.request.texts("DNSname") + call.request.texts("IPv6Address")
    if servers:
        service.ntp_servers[device_id] = servers[0]
        if device_id in service.ntp_mode:  # already following NTP: syncs with the new server at once
            _set_clock(call.device, 0.0)
    else:
        service.ntp_servers.pop(device_id, None)
        service.ntp_mode.discard(device_id)
    return "<tds:SetNTPResponse/>"


def get_ntp(service: OnvifService, call: Call) -> str:
    server = service.ntp_servers.get(call.device.device.id)
    manual = (f"<tt:NTPManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>{t(server)}</tt:IPv4Address></tt:NTPManual>"
              if server else "")
    return f"<tds:GetNTPResponse><tds:NTPInformation><tt:FromDHCP>false</tt:FromDHCP>{manual}</tds:NTPInformation></tds:GetNTPResponse>"


# -- media service ----------------------------------------------------------------------------

def profiles(service: OnvifService, fleet: Fleet, device: EmulatedDevice) -> list[tuple[str, str, int, int]]:
    """(token, name, width, height): two streams on a camera, one per recorded channel on an NVR."""
    if not device.is_nvr:
        return list(CAMERA_PROFILES)
    count = len(service.children(fleet, device)) or DEFAULT_CHANNELS
    return [(f"Channel_{n}", f"Channel {n}", 1920, 1080) for n in range(1, count + 1)]


def get_profiles(service: OnvifService, call: Call) -> str:
    items = []
    for token, name, width, height in profiles(service, call.fleet, call.device):
        items.append(
            f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
            f'<tt:VideoEncoderConfiguration token="enc_{token}"><tt:Name>{name}</tt:Name><tt:UseCount>1</tt:UseCount>'
            f"<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>{width}</tt:Width><tt:Height>{height}</tt:Height>"
            f"</tt:Resolution><tt:Quality>5</tt:Quality></tt:VideoEncoderConfiguration></trt:Profiles>")
    return f"<trt:GetProfilesResponse>{''.join(items)}</trt:GetProfilesResponse>"


def _profile_token(service: OnvifService, call: Call) -> str:
    token = call.request.text("ProfileToken") or ""
    if token not in {p[0] for p in profiles(service, call.fleet, call.device)}:
        raise SoapError("ter:InvalidArgVal", f"no profile {token!r}")
    return token


def _media_uri(response: str, uri: str) -> str:
    return (f"<trt:{response}><trt:MediaUri><tt:Uri>{t(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
            f"<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{response}>")


# -- search service (recorders) ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Footage:
    channel: str
    earliest: float
    latest: float
    recording: bool


def footage(service: OnvifService, fleet: Fleet, device: EmulatedDevice, now: float) -> list[Footage]:
    """What each channel holds now, in the device's clock."""
    clock = device.clock(now)
    device_id = device.device.id
    if Fault.RECORDING_STOPPED in device.faults:
        latest = service.stopped_at.setdefault(device_id, now - RECORDING_STOPPED_AGE) + (clock - now)
    else:
        service.stopped_at.pop(device_id, None)
        latest = clock - 1.0
    healthy = [d for d in device.disks if not d.failed]
    share = sum(d.capacity_bytes for d in healthy) / max(sum(d.capacity_bytes for d in device.disks), 1)
    days = DISK_FULL_RETENTION_DAYS if Fault.DISK_FULL in device.faults else RETENTION_DAYS * share
    channels = [c.device.id for c in service.children(fleet, device)] or [
        f"Channel {n}" for n in range(1, DEFAULT_CHANNELS + 1)]
    recording = Fault.RECORDING_STOPPED not in device.faults
    return [Footage(name, min(latest, clock - days * DAY), latest, recording) for name in channels]


def get_recording_summary(service: OnvifService, call: Call) -> str:
    held = footage(service, call.fleet, call.device, call.now)
    return (f"<tse:GetRecordingSummaryResponse><tse:Summary>"
            f"<tt:DataFrom>{xs_datetime(min(f.earliest for f in held))}</tt:DataFrom>"
            f"<tt:DataUntil>{xs_datetime(max(f.latest for f in held))}</tt:DataUntil>"
            f"<tt:NumberRecordings>{len(held)}</tt:NumberRecordings></tse:Summary></tse:GetRecordingSummaryResponse>")


SEARCH_TOKEN = "all-recordings"


def find_recordings(service: OnvifService, call: Call) -> str:
    return f"<tse:FindRecordingsResponse><tse:SearchToken>{SEARCH_TOKEN}</tse:SearchToken></tse:FindRecordingsResponse>"


def get_recording_search_results(service: OnvifService, call: Call) -> str:
    if call.request.text("SearchToken") != SEARCH_TOKEN:
        raise SoapError("ter:InvalidArgVal", "unknown search token")
    items = []
    for number, held in enumerate(footage(service, call.fleet, call.device, call.now), start=1):
        items.append(
            f"<tt:RecordingInformation><tt:RecordingToken>Recording_{number}</tt:RecordingToken>"
            f"<tt:Source><tt:SourceId>{t(held.channel)}</tt:SourceId><tt:Name>{t(held.channel)}</tt:Name>"
            f"<tt:Location/><tt:Description/><tt:Address/></tt:Source>"
            f"<tt:EarliestRecording>{xs_datetime(held.earliest)}</tt:EarliestRecording>"
            f"<tt:LatestRecording>{xs_datetime(held.latest)}</tt:LatestRecording><tt:Content/>"
            f"<tt:RecordingStatus>{'Recording' if held.recording else 'Stopped'}</tt:RecordingStatus>"
            f"</tt:RecordingInformation>")
    return (f"<tse:GetRecordingSearchResultsResponse><tse:ResultList><tt:SearchState>Completed</tt:SearchState>"
            f"{''.join(items)}</tse:ResultList></tse:GetRecordingSearchResultsResponse>")


def end_search(service: OnvifService, call: Call) -> str:
    return f"<tse:EndSearchResponse><tse:Endpoint>{xs_datetime(call.device.clock(call.now))}</tse:Endpoint></tse:EndSearchResponse>"


def get_stream_uri(service: OnvifService, call: Call) -> str:
    device = call.device.device
    uri = f"rtsp://{_url_host(device.host)}:{device.port('rtsp_port')}/stream/{_profile_token(service, call)}"
    return _media_uri("GetStreamUriResponse", uri)


def get_snapshot_uri(service: OnvifService, call: Call) -> str:
    device = call.device.device
    path = SNAPSHOT_PATH.format(profile=_profile_token(service, call))
    if device.port("http_port") == device.port("onvif_port"):  # this very server: as the client reached it
        return _media_uri("GetSnapshotUriResponse", f"{call.base_url}{path}")
    return _media_uri("GetSnapshotUriResponse", f"http://{_url_host(device.host)}:{device.port('http_port')}{path}")


# name -> (operation, callable before authentication)
OPERATIONS: dict[str, tuple[Operation, bool]] = {
    "GetSystemDateAndTime": (get_system_date_and_time, True),
    "GetServices": (get_services, True),
    "GetCapabilities": (get_capabilities, True),
    "GetDeviceInformation": (get_device_information, False),
    "SetSystemDateAndTime": (set_system_date_and_time, False),
    "SetNTP": (set_ntp, False),
    "GetNTP": (get_ntp, False),
    "GetProfiles": (get_profiles, False),
    "GetStreamUri": (get_stream_uri, False),
    "GetSnapshotUri": (get_snapshot_uri, False),
    "GetRecordingSummary": (get_recording_summary, False),
    "FindRecordings": (find_recordings, False),
    "GetRecordingSearchResults": (get_recording_search_results, False),
    "EndSearch": (end_search, False),
}
SEARCH_OPERATIONS = frozenset({"GetRecordingSummary", "FindRecordings", "GetRecordingSearchResults", "EndSearch"})


def routes(settings: HttpSettings) -> list[web.RouteDef]:
    """ONVIF's endpoints; every service path is answered by one dispatcher on the operation."""
    service = OnvifService(settings)
    return [web.post("/onvif/{service}", service.handle)]
