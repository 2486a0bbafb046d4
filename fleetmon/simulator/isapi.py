"""Recorders' own storage APIs, the ones `fleetmon.probes.http.vendor_api` reads, behind HTTP Digest.

    hikvision firmware  GET /ISAPI/ContentMgmt/Storage/hdd                      hddList XML, sizes in MiB
    dahua firmware      GET /cgi-bin/storageDevice.cgi?action=getDeviceAllInfo  key=value lines, bytes

A recorder answers only its firmware family's API (`fleetmon.inventory.vendors`: a KBVision
unit speaks Dahua's), 404 for the other; devices without disks answer 404 on both. The disks
are the `EmulatedDevice`'s: DISK_FAILED shows that disk in its vendor's error state, DISK_FULL
shows no free space, as `fleetmon.simulator.control` sets them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from fleetmon.inventory.vendors import firmware_family
from fleetmon.simulator.digest_auth import DeviceLogin, refusal
from fleetmon.simulator.state import Disk, EmulatedDevice
from fleetmon.simulator.web_context import HttpSettings, device_of

ISAPI_HDD_PATH = "/ISAPI/ContentMgmt/Storage/hdd"
DAHUA_STORAGE_PATH = "/cgi-bin/storageDevice.cgi"
_MIB = 1 << 20
_PARTITIONS = 2  # Dahua reports each disk as partitions; the probe sums them


def isapi_hdd_list(disks: list[Disk]) -> bytes:
    """The `hddList` document of a Hikvision NVR (firmware 4.x), one `hdd` per disk."""
    items = []
    for number, disk in enumerate(disks, start=1):
        free = 0 if disk.failed else (disk.capacity_bytes - disk.used_bytes) // _MIB
        items.append(
            f'<hdd version="2.0"><id>{number}</id><hddName>hdd{number}</hddName><hddPath></hddPath>'
            f"<hddType>SATA</hddType><status>{'error' if disk.failed else 'ok'}</status>"
            f"<capacity>{disk.capacity_bytes // _MIB}</capacity><freeSpace>{free}</freeSpace>"
            "<property>RW</property></hdd>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<hddList version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n'
            + "\n".join(items) + "\n</hddList>\n").encode()


def dahua_storage_info(disks: list[Disk]) -> bytes:
    """`getDeviceAllInfo` of a Dahua NVR: per disk its state and partitions, CRLF-separated."""
    lines = []
    for index, disk in enumerate(disks):
        for part in range(_PARTITIONS):
            prefix = f"list.info[{index}].Detail[{part}]"
            lines += [f"{prefix}.IsError={'true' if disk.failed else 'false'}",
                      f"{prefix}.Path=/dev/sd{chr(97 + index)}{part + 1}",
                      f"{prefix}.TotalBytes={disk.capacity_bytes / _PARTITIONS:.6f}",
                      f"{prefix}.Type=ReadWrite",
                      f"{prefix}.UsedBytes={disk.used_bytes / _PARTITIONS:.6f}"]
        lines += [f"list.info[{index}].Name=/dev/sd{chr(97 + index)}",
                  f"list.info[{index}].State={'Error' if disk.failed else 'Success'}"]
    return ("\r\n".join(lines) + "\r\n").encode()


def routes(settings: HttpSettings) -> list[web.RouteDef]:
    login = DeviceLogin(settings.username, settings.password)

    def storage_api(family: str, render: Callable[[list[Disk]], bytes], content_type: str,
                    action: str | None = None) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            device = device_of(request)
            if not _serves(device, family) or (action and request.query.get("action") != action):
                raise web.HTTPNotFound()
            refused = refusal(request, device, login)
            if refused is not None:
                return refused
            return web.Response(body=render(device.disks), content_type=content_type)

        return handler

    return [
        web.get(ISAPI_HDD_PATH, storage_api("hikvision", isapi_hdd_list, "application/xml")),
        web.get(DAHUA_STORAGE_PATH, storage_api("dahua", dahua_storage_info, "text/plain", "getDeviceAllInfo")),
    ]


def _serves(device: EmulatedDevice, family: str) -> bool:
    return bool(device.disks) and firmware_family(device.device.vendor) == family
