"""Message texts from Jinja2 templates (`templates/ticket.<language>.txt.j2`): Vietnamese by default, English available.

A message says what is broken, where (area, site, address, map coordinates), since when, what
the monitor saw, and what to check. The first line of a rendered template is the subject. A
storm (many tickets for one channel in one engine step) is one digest (`digest.<language>.txt.j2`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import jinja2

from fleetmon.alerts.tickets import Ticket
from fleetmon.inventory.model import Device

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("fleetmon.alerts", "templates"), autoescape=False,
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=False)

KIND_LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "device_down": "thiết bị mất kết nối", "site_offline": "cả điểm mất kết nối (mất điện hoặc đường truyền)",
        "disk_failed": "ổ cứng hỏng", "disk_full": "ổ cứng đầy", "recording_stopped": "ngừng ghi hình",
        "footage_short": "không đủ số ngày lưu hình", "clock_skew": "đồng hồ sai giờ", "picture": "lỗi hình ảnh",
        "stream_dead": "mất luồng video", "reboot_loop": "khởi động lại liên tục", "flapping": "chập chờn (lúc có lúc mất)",
        "unit_swapped": "thiết bị bị thay / đổi firmware", "login_refused": "từ chối đăng nhập (đổi mật khẩu?)",
        "other": "sự cố khác", "preventive": "bảo dưỡng định kỳ",
        "external": "cảnh báo từ hệ thống khác (Alertmanager)",
    },
    "en": {
        "device_down": "unit offline", "site_offline": "whole site offline (power or uplink)", "disk_failed": "disk failed",
        "disk_full": "disk full", "recording_stopped": "recording stopped", "footage_short": "footage short of retention",
        "clock_skew": "clock wrong", "picture": "picture fault", "stream_dead": "video stream dead", "reboot_loop": "reboot loop",
        "flapping": "flapping (up and down)", "unit_swapped": "unit swapped or firmware changed",
        "login_refused": "login refused (password changed?)", "other": "other fault", "preventive": "preventive maintenance",
        "external": "alert from another system (Alertmanager)",
    },
}

CHECKS: dict[str, dict[str, str]] = {
    "vi": {
        "device_down": "nguồn điện, bộ đổi nguồn/PoE, cáp mạng và cổng switch của thiết bị",
        "site_offline": "điện lưới tại điểm, UPS, modem/router và đường truyền của nhà mạng",
        "disk_failed": "thay ổ cứng hỏng, kiểm tra lại cấu hình ghi hình sau khi thay",
        "disk_full": "chế độ ghi đè, dung lượng ổ, lịch ghi hình",
        "recording_stopped": "lịch ghi hình, ổ cứng của đầu ghi, kết nối camera tới đầu ghi",
        "footage_short": "dung lượng ổ so với yêu cầu lưu trữ, bitrate và lịch ghi",
        "clock_skew": "cài NTP cho thiết bị, múi giờ, pin đồng hồ",
        "picture": "ống kính (bẩn, bị che, bị xoay), đèn hồng ngoại, nguồn",
        "stream_dead": "dịch vụ RTSP, cấu hình luồng, tải của camera",
        "reboot_loop": "nguồn điện chập chờn, bộ đổi nguồn, nhiệt độ, firmware",
        "flapping": "cáp mạng lỏng, đầu bấm RJ45, nguồn yếu, cổng switch",
        "unit_swapped": "số serial/firmware trên thiết bị so với danh mục; cập nhật danh mục nếu thay có chủ đích",
        "login_refused": "mật khẩu trên thiết bị so với hồ sơ đăng nhập của fleetmon",
        "other": "chi tiết giám sát thấy ở trên",
        "preventive": "làm các việc đã nêu ở trên cho từng thiết bị trong danh sách",
        "external": "hệ thống đã gửi cảnh báo (xem nội dung ở trên)",
    },
    "en": {
        "device_down": "power, power adapter/PoE, network cable and the switch port of the unit",
        "site_offline": "mains power at the site, UPS, modem/router and the carrier's line",
        "disk_failed": "replace the failed disk, then check the recording setup",
        "disk_full": "overwrite mode, disk size, recording schedule",
        "recording_stopped": "recording schedule, the recorder's disks, the cameras' link to the recorder",
        "footage_short": "disk size against the retention required, bitrate and schedule",
        "clock_skew": "NTP on the unit, time zone, clock battery",
        "picture": "the lens (dirty, covered, turned), infrared lights, power",
        "stream_dead": "the RTSP service, stream settings, the camera's load",
        "reboot_loop": "unstable power, the power adapter, heat, firmware",
        "flapping": "loose network cable, RJ45 plugs, weak power, switch port",
        "unit_swapped": "serial/firmware on the unit against the inventory; update the inventory if the swap was planned",
        "login_refused": "the password on the unit against fleetmon's credential profile",
        "other": "the details monitoring saw, above",
        "preventive": "the tasks above, on every unit listed",
        "external": "what the sending system's alert says, above",
    },
}

HEADLINES: dict[str, dict[str, str]] = {
    "vi": {"ask_owner": "Nhờ chủ camera kiểm tra",
           "opened": "Sự cố mới", "reopened": "Sự cố tái diễn", "resolved": "Đã hết sự cố", "escalated": "Chưa ai nhận phiếu",
           "repair_overdue": "Quá hạn sửa chữa", "closed": "Đã đóng phiếu"},
    "en": {"ask_owner": "Owner asked to check",
           "opened": "New fault", "reopened": "Fault back", "resolved": "Fault cleared", "escalated": "Not acknowledged in time",
           "repair_overdue": "Repair overdue", "closed": "Ticket closed"},
}

AFFECTED_LABELS: dict[str, dict[str, str]] = {
    "vi": {"device_down": "Các thiết bị phía sau không liên lạc được", "site_offline": "Các thiết bị của điểm mất kết nối",
           "preventive": "Thiết bị"},
    "en": {"device_down": "Units behind it, unreachable", "site_offline": "Units of the site offline", "preventive": "Units"},
}

SEVERITY_LABELS = {"vi": {"critical": "khẩn cấp", "high": "cao", "medium": "trung bình", "low": "thấp"},
                   "en": {"critical": "critical", "high": "high", "medium": "medium", "low": "low"}}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str


def render(ticket: Ticket, event: str, device: Device | None, *, language: str = "vi", link: str = "", note: str = "") -> Message:
    template = "owner" if event == "ask_owner" else "ticket"
    text = _ENV.get_template(f"{template}.{language}.txt.j2").render(
        t=ticket, device=device, headline=HEADLINES[language][event], kind=KIND_LABELS[language].get(ticket.kind, ticket.kind),
        checks=CHECKS[language].get(ticket.kind, ""), severity=SEVERITY_LABELS[language].get(ticket.severity, ticket.severity),
        since=f"{ticket.fault_since:%Y-%m-%d %H:%M}", link=f"{link}{ticket.id}" if link else "", note=note,
        affected=AFFECTED_LABELS[language].get(ticket.kind, AFFECTED_LABELS[language]["preventive"]),
    )
    subject, _, body = text.partition("\n")
    return Message(subject=subject.strip(), body=body.strip() + "\n")


def render_digest(items: Sequence[tuple[Ticket, str]], *, language: str = "vi", link: str = "") -> Message:
    """One message for many (ticket, event) pairs, e.g. a district's power cut."""
    kinds = Counter(KIND_LABELS[language].get(t.kind, t.kind) for t, _ in items)
    summary = ", ".join(f"{n} {label}" for label, n in kinds.most_common())
    text = _ENV.get_template(f"digest.{language}.txt.j2").render(summary=summary, items=[
        {"t": t, "headline": HEADLINES[language][event], "severity": SEVERITY_LABELS[language].get(t.severity, t.severity),
         "since": f"{t.fault_since:%Y-%m-%d %H:%M}", "link": f"{link}{t.id}" if link else ""} for t, event in items])
    subject, _, body = text.partition("\n")
    return Message(subject=subject.strip(), body=body.strip() + "\n")
