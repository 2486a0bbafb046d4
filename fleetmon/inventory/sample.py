"""A province-sized sample fleet shaped like Thanh Hóa's (see shared/seeds), for the demo and benchmarks.

332 camera clusters (mô hình) over the 27 district-level areas, each cluster behind one uplink
switch with NVRs of 16 or 32 channels; 72 % of clusters state-funded, 28 % socially funded.
Beyond the 14,053 police-managed cameras, extra devices are household cameras shared with
police. Every address is on loopback (127.100.0.0 upwards) so the simulator can play the fleet.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator
from datetime import date, timedelta

from fleetmon.inventory.model import AREA_SEPARATOR, Device, DeviceKind, Funding, Protocol

PROVINCE = "Thanh Hóa"
DISTRICTS = (
    "TP Thanh Hóa", "TP Sầm Sơn", "TX Bỉm Sơn", "TX Nghi Sơn", "Bá Thước", "Cẩm Thủy", "Đông Sơn",
    "Hà Trung", "Hậu Lộc", "Hoằng Hóa", "Lang Chánh", "Mường Lát", "Nga Sơn", "Ngọc Lặc",
    "Như Thanh", "Như Xuân", "Nông Cống", "Quan Hóa", "Quan Sơn", "Quảng Xương", "Thạch Thành",
    "Thiệu Hóa", "Thọ Xuân", "Thường Xuân", "Triệu Sơn", "Vĩnh Lộc", "Yên Định",
)
COMMUNE_WORDS = (
    "An", "Bình", "Hòa", "Thịnh", "Phú", "Lộc", "Tân", "Hưng", "Thành", "Long", "Minh", "Quang",
    "Trung", "Yên", "Định", "Khánh", "Lợi", "Thọ", "Vinh", "Tiến", "Phong", "Ninh", "Hải", "Đức",
)
POLICE_CAMERAS = 14_053
SITES = 332
FIRST_HOST = ipaddress.IPv4Address("127.100.0.1")
SAMPLE_PORTS = {"onvif_port": 10080, "http_port": 10080, "rtsp_port": 10554, "snmp_port": 10161}

# (vendor, share, camera models, NVR models); KBVision is a Dahua OEM, common in Vietnam.
VENDORS = (
    ("Hikvision", 0.45, ("DS-2CD1023G0E-I", "DS-2CD2143G2-I", "DS-2DE4425IW-DE"), ("DS-7616NI-K2", "DS-7732NI-K4")),
    ("Dahua", 0.22, ("IPC-HFW1230S", "IPC-HDW2431T-AS", "SD49225XA-HNR"), ("NVR4216-4KS2", "NVR5232-4KS2")),
    ("KBVision", 0.15, ("KX-A2111N3", "KX-C4012SN3"), ("KX-8216N3", "KX-4K8232N2")),
    ("Vantech", 0.10, ("VPH-3651IP", "VP-4560IP"), ("VPH-4832NVR",)),
    ("Questek", 0.08, ("QNV-2112F",), ("QNV-2832",)),
)


def _hosts() -> Iterator[str]:
    address = int(FIRST_HOST)
    while True:
        last = address & 0xFF
        if last not in (0, 255):
            yield str(ipaddress.IPv4Address(address))
        address += 1


def _communes(rng: random.Random, district: str, count: int) -> list[str]:
    stem = district.split()[-1]
    words = rng.sample(COMMUNE_WORDS, k=min(count, len(COMMUNE_WORDS)))
    return [f"{stem} {w}" if w != stem else f"{w} Tân" for w in words]


def _vendor(rng: random.Random) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    pick = rng.random()
    for name, share, cameras, nvrs in VENDORS:
        pick -= share
        if pick <= 0:
            return name, cameras, nvrs
    name, _, cameras, nvrs = VENDORS[0]
    return name, cameras, nvrs


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` spread over `parts` unevenly (clusters differ in size), summing exactly."""
    weights = [rng.uniform(0.4, 1.6) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return counts


def sample_fleet(cameras: int = POLICE_CAMERAS, seed: int = 2023) -> list[Device]:
    """Devices for `cameras` cameras plus the NVRs and uplinks they hang behind."""
    rng = random.Random(seed)
    hosts = _hosts()
    police = min(cameras, POLICE_CAMERAS)
    sites = max(1, round(SITES * police / POLICE_CAMERAS))
    areas = []
    for district in DISTRICTS:
        for commune in _communes(rng, district, rng.randint(8, 20)):
            areas.append(AREA_SEPARATOR.join((PROVINCE, district, commune)))
    site_areas = [areas[(i * 7919) % len(areas)] for i in range(sites)]
    out: list[Device] = []

    def device(kind: DeviceKind, **values: object) -> Device:
        installed = date(2021, 1, 1) + timedelta(days=rng.randint(0, 4 * 365))
        host = next(hosts)
        return Device(
            kind=kind,
            host=host,
            mac="bc:ad:28:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(host).packed[1:]),
            latitude=round(rng.uniform(19.4, 20.6), 6),  # Thanh Hóa lies about here
            longitude=round(rng.uniform(104.6, 106.0), 6),
            install_date=installed,
            warranty_end=installed + timedelta(days=365 * rng.choice((2, 3))),
            **SAMPLE_PORTS,  # type: ignore[arg-type]
            **values,  # type: ignore[arg-type]
        )

    for s, (area, per_site) in enumerate(zip(site_areas, _split(police, sites, rng), strict=True)):
        site = f"Camera ANTT {area.split(AREA_SEPARATOR)[-1]} {s + 1:03d}"
        funding = Funding.STATE_BUDGET if rng.random() < 0.72 else Funding.SOCIAL
        common = {"area": area, "site": site, "site_operator": f"Công an xã {area.split(AREA_SEPARATOR)[-1]}", "funding": funding}
        vendor, camera_models, nvr_models = _vendor(rng)
        switch_id = f"sw-{s + 1:04d}"
        out.append(device(DeviceKind.SWITCH, id=switch_id, vendor="TP-Link", model="TL-SG3428", serial=f"TPL{s + 1:08d}",
                          protocols=(Protocol.SNMP,), purchase_cost_vnd=rng.randint(2, 8) * 1_000_000, **common))
        remaining, n = per_site, 0
        while remaining > 0:
            n += 1
            channels = 32 if remaining > 16 else 16
            nvr_id = f"nvr-{s + 1:04d}-{n}"
            out.append(device(DeviceKind.NVR, id=nvr_id, vendor=vendor, model=rng.choice(nvr_models), parent=switch_id,
                              serial=f"{vendor[:2].upper()}N{s + 1:05d}{n:02d}", firmware="V4.71.020",
                              protocols=(Protocol.ONVIF, Protocol.SNMP, Protocol.HTTP),
                              purchase_cost_vnd=rng.randint(5, 25) * 1_000_000, **common))
            for index in range(min(channels, remaining)):
                camera_id = f"cam-{len(out):06d}"
                out.append(device(DeviceKind.CAMERA, id=camera_id, vendor=vendor, model=rng.choice(camera_models),
                                  parent=nvr_id, serial=f"{vendor[:2].upper()}C{len(out):08d}", firmware="V5.7.3",
                                  protocols=(Protocol.ONVIF,), purchase_cost_vnd=rng.randint(15, 120) * 100_000,
                                  address=f"Ngã ba {index + 1}, {area.split(AREA_SEPARATOR)[-1]}", **common))
            remaining -= min(channels, remaining)
    for h in range(cameras - police):
        area = areas[h % len(areas)]
        out.append(device(DeviceKind.CAMERA, id=f"home-{h + 1:06d}", vendor=rng.choice(("Ezviz", "Imou", "Hikvision")),
                          model="C6N", serial=f"HH{h + 1:09d}", protocols=(Protocol.ONVIF,), area=area,
                          funding=Funding.HOUSEHOLD_SHARED, owner_contact=f"Hộ gia đình {h + 1}",
                          purchase_cost_vnd=rng.randint(6, 15) * 100_000))
    return out
