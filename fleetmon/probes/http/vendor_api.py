"""NVR disk health over the vendors' own HTTP APIs, for recorders whose SNMP is off (most in the field).

    hikvision  GET /ISAPI/ContentMgmt/Storage/hdd                      ISAPI XML, capacity in MiB
    dahua      GET /cgi-bin/storageDevice.cgi?action=getDeviceAllInfo  key=value lines, in bytes

Both sit behind HTTP Digest auth. The exchange is bounded by `fetch_bounded`; the XML parser
refuses DTDs, so entity-expansion bombs and external entities (XXE) are protocol errors, never
expanded or fetched. Vendor state words are normalised through `DISK_STATES`, the one table to
edit when a firmware adds a word. A disk fault is a finding (status ok, a disk in state failed);
the probe's status says only whether the recorder answered.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from lxml import etree

from fleetmon.probes.findings import Disk, DiskState, Problem, disk_state
from fleetmon.probes.http.limits import fetch_bounded
from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.target import Target

# Vendor state word (lower case) -> normalised state; a word not listed is "other".
DISK_STATES: dict[str, dict[str, DiskState]] = {
    "hikvision": {
        "ok": "ok", "idle": "ok", "sleeping": "ok",
        "error": "failed", "smartfailed": "failed", "offline": "failed", "notexist": "failed", "mismatch": "failed",
        "unformatted": "unformatted", "unrecordhostformatted": "unformatted",
        "full": "full",
    },
    "dahua": {
        "success": "ok", "normal": "ok", "idle": "ok", "sleep": "ok",
        "error": "failed", "fault": "failed", "offline": "failed",
        "unformatted": "unformatted", "noformat": "unformatted",
        "full": "full",
    },
}

_MIB = 1 << 20
_MAX_BODY = 256 * 1024


class StorageFormatError(ValueError):
    """The recorder answered 200 with something that is not the expected storage document."""


@dataclass(slots=True, kw_only=True)
class VendorHttpResult(ProbeResult):
    disks: list[Disk] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [disk.describe() for disk in self.disks if disk.state != "ok"]


def normalise_state(vendor: str, word: str, capacity: int | None, free: int | None) -> DiskState:
    return disk_state(DISK_STATES[vendor].get(word.strip().lower(), "other"), capacity, free)


# XML from a device is hostile until parsed: no DTD loading, no entities, no network, no huge trees.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
_DTD_REFUSED = "XML with a DTD refused (entity expansion or external entities)"


def parse_isapi_hdd(body: bytes) -> list[Disk]:
    """Disks of an ISAPI `hddList` (either namespace, or none).

    ISAPI never sends a DTD: one is refused before parsing (UTF-8) or after it (other encodings,
    which the parser reads without expanding or fetching entities).
    """
    if b"<!DOCTYPE" in body:
        raise StorageFormatError(_DTD_REFUSED)
    try:
        root = etree.fromstring(body, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise StorageFormatError(f"malformed XML: {exc}") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise StorageFormatError(_DTD_REFUSED)
    if etree.QName(root).localname not in ("hddList", "storage"):
        raise StorageFormatError(f"expected an ISAPI hddList, got <{etree.QName(root).localname}>")
    disks = []
    for hdd in root.iter("{*}hdd"):
        capacity, free = _mib(hdd, "capacity"), _mib(hdd, "freeSpace")
        word = hdd.findtext("{*}status", "")
        disks.append(Disk(hdd.findtext("{*}id", "?"), hdd.findtext("{*}hddName", ""),
                          normalise_state("hikvision", word, capacity, free), word, capacity, free))
    return disks


def _mib(hdd: etree._Element, tag: str) -> int | None:
    text = hdd.findtext("{*}" + tag)
    if text is None:
        return None
    try:
        return int(text) * _MIB
    except ValueError:
        raise StorageFormatError(f"{tag} is not a number: {text[:40]!r}") from None


_DAHUA_LINE = re.compile(r"list\.info\[(\d+)\]\.(?:Detail\[(\d+)\]\.)?(\w+)=(.*)")


def parse_dahua_storage(body: bytes) -> list[Disk]:
    """Disks of `getDeviceAllInfo`: one `list.info[i]` per disk, its partitions in `Detail[j]`."""
    text = body.decode("utf-8", errors="replace")
    disks: dict[int, dict[str, str]] = {}
    totals: dict[int, list[int]] = {}
    for line in text.splitlines():
        match = _DAHUA_LINE.fullmatch(line.strip())
        if match is None:
            continue
        index, detail, key, value = int(match[1]), match[2], match[3], match[4].strip()
        fields = disks.setdefault(index, {})
        if detail is None:
            fields[key] = value
        elif key in ("TotalBytes", "UsedBytes"):
            sums = totals.setdefault(index, [0, 0])
            sums[key == "UsedBytes"] += _bytes(value)
        elif key == "IsError" and value.lower() == "true":
            fields["IsError"] = "true"
    if not disks and text.strip():
        raise StorageFormatError(f"not a Dahua storage answer: {text.strip()[:60]!r}")
    return [_dahua_disk(index, disks[index], totals.get(index)) for index in sorted(disks)]


def _dahua_disk(index: int, fields: dict[str, str], sums: list[int] | None) -> Disk:
    capacity, free = (sums[0], sums[0] - sums[1]) if sums else (None, None)
    word = "Error" if fields.get("IsError") else fields.get("State", "")
    return Disk(str(index), fields.get("Name", ""), normalise_state("dahua", word, capacity, free), word, capacity, free)


def _bytes(value: str) -> int:
    try:
        return int(float(value))
    except ValueError:
        raise StorageFormatError(f"byte count is not a number: {value[:40]!r}") from None


@dataclass(frozen=True, slots=True)
class _StorageApi:
    path: str
    parse: Callable[[bytes], list[Disk]]


STORAGE_APIS: dict[str, _StorageApi] = {
    "hikvision": _StorageApi("/ISAPI/ContentMgmt/Storage/hdd", parse_isapi_hdd),
    "dahua": _StorageApi("/cgi-bin/storageDevice.cgi?action=getDeviceAllInfo", parse_dahua_storage),
}


async def probe_vendor_http(target: Target, client: httpx.AsyncClient, *, max_bytes: int = _MAX_BODY) -> VendorHttpResult:
    """The recorder's disks through its vendor API, chosen by `target.vendor`."""
    started = time.perf_counter()
    api = STORAGE_APIS.get(target.vendor.strip().lower())

    def result(status: ProbeStatus, error: str = "", disks: list[Disk] | None = None) -> VendorHttpResult:
        return VendorHttpResult(device_id=target.device_id, probe="vendor_http", status=status,
                                duration_seconds=time.perf_counter() - started, error=error, disks=disks or [])

    if api is None:
        return result(ProbeStatus.NOT_SUPPORTED, f"no storage API known for vendor {target.vendor!r}")
    password = target.credentials.password
    auth = httpx.DigestAuth(target.credentials.username, password.get_secret_value()) if password else None
    response = await fetch_bounded(client, "GET", f"http://{_url_host(target.host)}:{target.http_port}{api.path}",
                                   auth=auth, timeout=target.timeout, max_bytes=max_bytes)
    if not response.ok:
        return result(response.status, response.error)
    try:
        return result(ProbeStatus.OK, disks=api.parse(response.body))
    except StorageFormatError as exc:
        return result(ProbeStatus.PROTOCOL_ERROR, str(exc))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
