"""Inventory sheet columns: canonical names, and the headers officials actually write.

Headers are matched after folding case, diacritics and punctuation, so "Mã thiết bị",
"MA THIET BI" and "mã thiết bị (ID)" all name `id`.
"""

from __future__ import annotations

import re
import unicodedata

# Canonical column -> (English header used on export, Vietnamese header, other accepted spellings)
COLUMNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "id": ("Device ID", "Mã thiết bị", ("id", "device", "mã", "mã camera", "ma tb")),
    "kind": ("Kind", "Loại thiết bị", ("type", "loại", "device type")),
    "host": ("Host", "Địa chỉ IP", ("ip", "ip address", "host ip", "ip camera", "địa chỉ")),
    "area": ("Area", "Địa bàn", ("khu vực", "area path")),
    "site": ("Site", "Mô hình", ("cluster", "cụm camera", "mô hình camera", "site name")),
    "site_operator": ("Site operator", "Đơn vị quản lý", ("operator", "tổ vận hành", "đơn vị vận hành")),
    "vendor": ("Vendor", "Hãng sản xuất", ("hãng", "manufacturer", "brand")),
    "model": ("Model", "Model", ("mẫu", "kiểu")),
    "serial": ("Serial", "Số serial", ("serial number", "sn", "số sê ri", "số seri")),
    "mac": ("MAC", "Địa chỉ MAC", ("mac address",)),
    "firmware": ("Firmware", "Phiên bản firmware", ("firmware version", "phần mềm")),
    "onvif_port": ("ONVIF port", "Cổng ONVIF", ("onvif",)),
    "rtsp_port": ("RTSP port", "Cổng RTSP", ("rtsp",)),
    "snmp_port": ("SNMP port", "Cổng SNMP", ("snmp",)),
    "http_port": ("HTTP port", "Cổng HTTP", ("http", "web port")),
    "protocols": ("Protocols", "Giao thức", ("probe", "probes")),
    "credential_profile": ("Credential profile", "Hồ sơ đăng nhập", ("credentials", "profile")),
    "parent": ("Parent", "Thiết bị cha", ("parent device", "đầu ghi", "nvr", "uplink", "kết nối qua")),
    "latitude": ("Latitude", "Vĩ độ", ("lat",)),
    "longitude": ("Longitude", "Kinh độ", ("lon", "lng", "long")),
    "address": ("Address", "Vị trí lắp đặt", ("location", "địa chỉ lắp đặt")),
    "install_date": ("Install date", "Ngày lắp đặt", ("installed", "installation date")),
    "warranty_end": ("Warranty end", "Ngày hết bảo hành", ("warranty", "hết bảo hành", "bảo hành đến")),
    "purchase_cost_vnd": ("Purchase cost (VND)", "Giá mua (VNĐ)", ("cost", "purchase cost", "giá trị", "kinh phí", "đơn giá")),
    "funding": ("Funding", "Nguồn kinh phí", ("funding source", "nguồn vốn", "nguồn kinh phi")),
    "owner_contact": ("Owner contact", "Chủ sở hữu / liên hệ", ("owner", "chủ sở hữu", "liên hệ", "contact")),
    "notes": ("Notes", "Ghi chú", ("note", "remarks")),
    "active": ("Active", "Đang sử dụng", ("status", "trạng thái", "in use")),
}


def fold(text: str) -> str:
    """Lower case, no diacritics (đ→d), no bracketed parts or punctuation, single spaces."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d").lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"\(.*?\)", " ", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return text.strip()


def _index(level_aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for name, (english, vietnamese, others) in COLUMNS.items():
        for header in (name, english, vietnamese, *others):
            index.setdefault(fold(header), name)
    for key, aliases in level_aliases.items():
        for header in (key, *aliases):
            index[fold(header)] = f"level:{key}"
    return index


class HeaderMatcher:
    """Maps a sheet's headers to canonical columns; area levels come from configuration."""

    def __init__(self, level_aliases: dict[str, tuple[str, ...]]) -> None:
        self.level_keys = tuple(level_aliases)
        self._index = _index(level_aliases)

    def match(self, header: object) -> str | None:
        if header is None:
            return None
        return self._index.get(fold(str(header)))


def export_headers(vietnamese: bool = False) -> list[tuple[str, str]]:
    """(canonical name, header) in export order: the device id first."""
    return [(name, vi if vietnamese else en) for name, (en, vi, _) in COLUMNS.items()]
