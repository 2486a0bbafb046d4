"""Labels and number formats of the reports, one dict per language.

Kept in one place, keyed by message id, so that a gettext/Babel catalogue can replace the dicts
later without touching the renderers. Vietnamese is the default: amounts are written the
Vietnamese way (12.500.000 ₫, 99,58 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

LANGUAGES = ("vi", "en")

VI: dict[str, str] = {
    "title": "Báo cáo bảo trì hệ thống camera",
    "period": "Kỳ báo cáo",
    "scope": "Địa bàn",
    "whole_fleet": "Toàn hệ thống",
    "generated": "Lập lúc",
    "observed_until": "Kỳ báo cáo chưa kết thúc: số liệu tính đến",
    "timezone": "Múi giờ",
    "summary": "Tổng hợp",
    "devices": "Số thiết bị",
    "availability": "Tỷ lệ hoạt động",
    "availability_note": "Tỷ lệ hoạt động tính trên thời gian đã biết trạng thái; thời gian hệ thống giám sát không chạy "
                         "được ghi là \"không rõ\", không tính là hoạt động.",
    "up_hours": "Giờ hoạt động",
    "degraded_hours": "Giờ suy giảm",
    "down_hours": "Giờ hỏng (tự thiết bị)",
    "network_hours": "Giờ mất kết nối (mạng)",
    "power_hours": "Giờ mất điện",
    "downtime_hours": "Tổng giờ ngừng",
    "unknown_hours": "Giờ không rõ",
    "monitor_gap_hours": "trong đó giám sát không chạy",
    "faults": "Sự cố",
    "faults_by_kind": "Sự cố theo loại",
    "fault_kind": "Loại sự cố",
    "count": "Số lần",
    "repeated": "Thiết bị hỏng lặp lại",
    "repeated_note": "Thiết bị tự ngừng hoạt động từ {n} lần trở lên trong kỳ.",
    "down_episodes": "Số lần hỏng",
    "out_of_warranty": "Hết bảo hành",
    "past_service_life": "Quá niên hạn sử dụng",
    "replacement_cost": "Chi phí thay thế ước tính",
    "replacement_by_funding": "Chi phí thay thế theo nguồn vốn",
    "cost_by_area": "Chi phí thay thế theo địa bàn",
    "areas": "Theo địa bàn",
    "area": "Địa bàn",
    "sites": "Theo điểm lắp đặt",
    "site": "Điểm lắp đặt",
    "no_site": "(chưa gán điểm)",
    "merged_from": "gồm cả địa bàn đã sáp nhập",
    "daily": "Tỷ lệ hoạt động theo ngày",
    "day": "Ngày",
    "known_hours": "Giờ đã biết",
    "device": "Thiết bị",
    "kind": "Loại",
    "vendor": "Hãng",
    "model": "Model",
    "install_date": "Ngày lắp đặt",
    "warranty_end": "Hết bảo hành",
    "service_end": "Hết niên hạn",
    "funding": "Nguồn vốn",
    "units": "Số thiết bị",
    "cost": "Chi phí",
    "cost_unknown": "chưa rõ giá",
    "units_without_cost": "Thiết bị chưa rõ giá",
    "list_cut": "Hiển thị {shown} trên tổng số {total} thiết bị; danh sách đầy đủ có trong tệp XLSX hoặc CSV.",
    "budget": "Dự kiến kinh phí kỳ sau",
    "budget_note": "Thay thế thiết bị đến niên hạn trước hết kỳ {period}, cộng chi phí sửa chữa theo xu hướng kỳ này.",
    "replacements_due": "Thay thế đến hạn",
    "repair_estimate": "Sửa chữa (ước tính)",
    "total": "Tổng cộng",
    "tickets": "Phiếu sửa chữa và chi phí sửa chữa",
    "tickets_unavailable": "Chưa có số liệu phiếu sửa chữa: chức năng phiếu bảo trì chưa được kết nối với báo cáo.",
    "tickets_opened": "Phiếu mở trong kỳ",
    "tickets_resolved": "Phiếu đã xử lý trong kỳ",
    "tickets_open": "Phiếu còn mở cuối kỳ",
    "mtta": "Thời gian tiếp nhận trung bình (giờ)",
    "mttr": "Thời gian sửa chữa trung bình (giờ)",
    "repair_cost_by_funding": "Chi phí sửa chữa theo nguồn vốn",
    "repair_cost_by_area": "Chi phí sửa chữa theo địa bàn",
    "settings": "Thông số tính toán",
    "service_life": "Niên hạn sử dụng (năm)",
    "price_per_kind": "Đơn giá thay thế",
    "purchase_cost": "theo giá mua",
    "none": "Không có",
    "hours": "giờ",
    "chart_availability": "Tỷ lệ hoạt động theo ngày",
    "chart_faults": "Sự cố theo loại",
    "chart_cost": "Chi phí thay thế theo địa bàn",
    "section": "Mục",
    "measure": "Chỉ tiêu",
    "value": "Giá trị",
    "unit": "Đơn vị",
    # fault kinds
    "fault.offline": "Thiết bị không phản hồi",
    "fault.power": "Mất điện",
    "fault.site_offline": "Cả điểm mất kết nối",
    "fault.behind_parent": "Mất kết nối do đầu ghi/đường truyền",
    "fault.login": "Bị từ chối đăng nhập",
    "fault.disk": "Ổ cứng hỏng/đầy",
    "fault.recording": "Ngừng ghi hình",
    "fault.retention": "Thiếu ngày lưu trữ",
    "fault.clock": "Sai đồng hồ",
    "fault.picture": "Lỗi hình ảnh",
    "fault.stream": "Mất luồng video",
    "fault.swapped": "Thiết bị bị thay/sai số sê-ri",
    "fault.reboot_loop": "Khởi động lại liên tục",
    "fault.flapping": "Chập chờn",
    "fault.port": "Cổng mạng ngừng",
    "fault.unit_status": "Thiết bị tự báo lỗi",
    "fault.other": "Khác",
    # funding
    "funding.state_budget": "Ngân sách nhà nước",
    "funding.social": "Xã hội hóa",
    "funding.household_shared": "Camera hộ gia đình chia sẻ",
    "funding.": "Chưa xác định",
    # kinds
    "kind.camera": "Camera",
    "kind.nvr": "Đầu ghi",
    "kind.switch": "Thiết bị mạng",
    "kind.other": "Khác",
}

EN: dict[str, str] = {
    "title": "Camera fleet maintenance report",
    "period": "Period",
    "scope": "Area",
    "whole_fleet": "Whole fleet",
    "generated": "Generated",
    "observed_until": "The period is not over: figures up to",
    "timezone": "Time zone",
    "summary": "Summary",
    "devices": "Devices",
    "availability": "Availability",
    "availability_note": "Availability is the working share of the time whose state is known; time the monitor was not "
                         "running is shown as unknown, not counted as up.",
    "up_hours": "Up hours",
    "degraded_hours": "Degraded hours",
    "down_hours": "Down hours (the unit)",
    "network_hours": "Unreachable hours (network)",
    "power_hours": "Power cut hours",
    "downtime_hours": "Downtime hours",
    "unknown_hours": "Unknown hours",
    "monitor_gap_hours": "of which the monitor was not running",
    "faults": "Faults",
    "faults_by_kind": "Faults by kind",
    "fault_kind": "Kind of fault",
    "count": "Count",
    "repeated": "Units failing repeatedly",
    "repeated_note": "Units that went down on their own {n} or more times in the period.",
    "down_episodes": "Outages",
    "out_of_warranty": "Out of warranty",
    "past_service_life": "Past service life",
    "replacement_cost": "Estimated replacement cost",
    "replacement_by_funding": "Replacement cost by funding source",
    "cost_by_area": "Replacement cost by area",
    "areas": "By area",
    "area": "Area",
    "sites": "By site",
    "site": "Site",
    "no_site": "(no site)",
    "merged_from": "includes merged areas",
    "daily": "Availability per day",
    "day": "Day",
    "known_hours": "Known hours",
    "device": "Device",
    "kind": "Kind",
    "vendor": "Vendor",
    "model": "Model",
    "install_date": "Installed",
    "warranty_end": "Warranty ends",
    "service_end": "Service life ends",
    "funding": "Funding",
    "units": "Units",
    "cost": "Cost",
    "cost_unknown": "price unknown",
    "units_without_cost": "Units without a price",
    "list_cut": "Showing {shown} of {total} units; the XLSX and CSV files list them all.",
    "budget": "Budget needed next period",
    "budget_note": "Replacing units whose service life ends by the end of {period}, plus repairs at this period's rate.",
    "replacements_due": "Replacements due",
    "repair_estimate": "Repairs (estimate)",
    "total": "Total",
    "tickets": "Tickets and repair cost",
    "tickets_unavailable": "Ticket figures are not available yet: maintenance tickets are not connected to reports.",
    "tickets_opened": "Tickets opened in the period",
    "tickets_resolved": "Tickets resolved in the period",
    "tickets_open": "Tickets open at the end",
    "mtta": "Mean time to acknowledge (hours)",
    "mttr": "Mean time to repair (hours)",
    "repair_cost_by_funding": "Repair cost by funding source",
    "repair_cost_by_area": "Repair cost by area",
    "settings": "How the figures are computed",
    "service_life": "Service life (years)",
    "price_per_kind": "Replacement price",
    "purchase_cost": "purchase cost",
    "none": "None",
    "hours": "h",
    "chart_availability": "Availability per day",
    "chart_faults": "Faults by kind",
    "chart_cost": "Replacement cost by area",
    "section": "Section",
    "measure": "Measure",
    "value": "Value",
    "unit": "Unit",
    "fault.offline": "Unit not answering",
    "fault.power": "Power cut",
    "fault.site_offline": "Whole site offline",
    "fault.behind_parent": "Behind a recorder or uplink that is down",
    "fault.login": "Login refused",
    "fault.disk": "Disk failed or full",
    "fault.recording": "Recording stopped",
    "fault.retention": "Footage short of retention",
    "fault.clock": "Clock wrong",
    "fault.picture": "Picture fault",
    "fault.stream": "Video stream dead",
    "fault.swapped": "Unit swapped (serial differs)",
    "fault.reboot_loop": "Reboot loop",
    "fault.flapping": "Flapping",
    "fault.port": "Network port down",
    "fault.unit_status": "Unit reports a fault",
    "fault.other": "Other",
    "funding.state_budget": "State budget",
    "funding.social": "Social funding",
    "funding.household_shared": "Household camera shared",
    "funding.": "Not specified",
    "kind.camera": "Camera",
    "kind.nvr": "Recorder",
    "kind.switch": "Network device",
    "kind.other": "Other",
}

CATALOGUES = {"vi": VI, "en": EN}


@dataclass(frozen=True, slots=True)
class Text:
    """Labels and number formats of one language; what templates and renderers call."""

    lang: str

    def __call__(self, key: str, **values: object) -> str:
        text = CATALOGUES[self.lang].get(key) or EN.get(key) or key
        return text.format(**values) if values else text

    def _group(self, value: float, decimals: int) -> str:
        text = f"{value:,.{decimals}f}"
        if self.lang == "vi":  # 12.500.000,5
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def number(self, value: float | None, decimals: int = 0) -> str:
        return "–" if value is None else self._group(value, decimals)

    def vnd(self, value: int | None) -> str:
        return "–" if value is None else f"{self._group(value, 0)} ₫"

    def percent(self, ratio: float | None, decimals: int = 2) -> str:
        return "–" if ratio is None else f"{self._group(ratio * 100, decimals)} %"

    def hours(self, value: float) -> str:
        return self._group(value, 1)

    def day(self, value: date | None) -> str:
        if value is None:
            return "–"
        return value.strftime("%d/%m/%Y") if self.lang == "vi" else value.isoformat()

    def fault(self, kind: str) -> str:
        return self(f"fault.{kind}")

    def funding(self, value: str) -> str:
        return self(f"funding.{value}")

    def kind(self, value: str) -> str:
        return self(f"kind.{value}")


def text_for(lang: str) -> Text:
    if lang not in CATALOGUES:
        raise ValueError(f"no report language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return Text(lang)
