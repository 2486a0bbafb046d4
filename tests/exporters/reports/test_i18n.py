"""Both languages say everything, and amounts read the way each language writes them."""

from __future__ import annotations

from datetime import date

from fleetmon.exporters.reports.faults import KINDS
from fleetmon.exporters.reports.i18n import EN, VI, text_for
from fleetmon.inventory.model import DeviceKind, Funding


def test_every_label_exists_in_both_languages_including_every_fault_kind_and_funding() -> None:
    assert set(VI) == set(EN)
    for key in [f"fault.{k}" for k in KINDS] + [f"funding.{f.value}" for f in Funding] + [f"kind.{k.value}" for k in DeviceKind]:
        assert key in VI, key


def test_numbers_the_vietnamese_and_the_english_way() -> None:
    vi, en = text_for("vi"), text_for("en")
    assert (vi.vnd(12_500_000), en.vnd(12_500_000)) == ("12.500.000 ₫", "12,500,000 ₫")
    assert (vi.percent(0.995833), en.percent(0.995833)) == ("99,58 %", "99.58 %")
    assert (vi.hours(1234.56), en.hours(1234.56)) == ("1.234,6", "1,234.6")
    assert (vi.day(date(2026, 9, 30)), en.day(date(2026, 9, 30))) == ("30/09/2026", "2026-09-30")
    assert vi.percent(None) == "–"
