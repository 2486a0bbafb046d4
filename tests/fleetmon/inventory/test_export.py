"""Export writes text as text (no formula, CSV injection neutralised) and imports back unchanged."""

from __future__ import annotations

import csv
import dataclasses
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from fleetmon.inventory.importer import read_inventory
from fleetmon.inventory.model import DEFAULT_AREA_LEVELS, Device, DeviceKind, Funding, Protocol, join_area_path, normalise_name
from fleetmon.store.inventory import device_dicts, text_limits
from tests.fleetmon.inventory.conftest import Run, stored

HOSTILE = ("=HYPERLINK(\"http://127.0.0.1/x\",\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1", "'=quoted")


def test_exported_hostile_text_is_never_a_formula_and_imports_back_unchanged(run: Run, tmp_path: Path, store_url: str) -> None:
    sheet = tmp_path / "hostile.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "kind", "host", "notes", "owner_contact"])
        writer.writerows([f"cam-{i}", "camera", f"127.0.60.{i}", text, f"{text[:1]}owner"] for i, text in enumerate(HOSTILE, 1))
    imported = run("inventory", "import", str(sheet))
    assert imported.exit_code == 0, imported.output
    before = stored(store_url)

    for name in ("out.xlsx", "out.csv"):
        exported = tmp_path / name
        assert run("inventory", "export", str(exported)).exit_code == 0
        if name.endswith(".xlsx"):
            cells = [cell for row in load_workbook(exported).active.iter_rows() for cell in row]  # type: ignore[union-attr]
            assert [c.coordinate for c in cells if c.data_type == "f"] == []
        else:
            with exported.open(encoding="utf-8-sig", newline="") as handle:
                texts = [cell for row in csv.reader(handle) for cell in row]
            assert [t for t in texts if t[:1] in ("=", "+", "@", "\t", "\r") or t.startswith("-2")] == []
        again = run("inventory", "import", str(exported))
        assert "0 added, 0 changed, 0 retired" in again.output, again.output
        assert stored(store_url) == before


# Text as an import leaves it: normalised, no control characters but line breaks, within the store's lengths.
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("=+-@'#!\n\t\r\"; ,") | st.sampled_from(["\u0301", "ạ", "Đ"]),
    max_size=40,
).map(lambda t: normalise_name(t) if "\n" not in t else t.strip())
# Text that only looks like a spreadsheet's error value (typed into a web form, say) is text too.
_HOSTILE_TEXT = _TEXT | st.sampled_from([*HOSTILE, "#N/A", "#REF!"]).map(str.strip) | st.builds(
    lambda a, b: (a + b).strip(), st.sampled_from("=+-@'"), _TEXT)
_NAME = _HOSTILE_TEXT.map(normalise_name).filter(lambda n: n != "" and "/" not in n and ">" not in n)


@st.composite
def _devices(draw: st.DrawFn) -> list[Device]:
    count = draw(st.integers(1, 6))
    out = []
    for i in range(count):
        ident = draw(_NAME.map(lambda n: n[:60]))
        installed = draw(st.none() | st.dates(date(1980, 1, 1), date(2024, 1, 1)))
        out.append(Device(
            id=f"{ident}#{i}",
            kind=draw(st.sampled_from(DeviceKind)),
            host=f"127.0.61.{i + 1}",
            area=join_area_path(draw(st.lists(_NAME, max_size=3))),
            site=draw(_NAME),
            site_operator=draw(_NAME),
            vendor=draw(_NAME.map(lambda n: n[:64])),
            model=draw(_HOSTILE_TEXT),
            serial=f"{draw(_NAME)[:100]}#{i}",
            firmware=draw(_HOSTILE_TEXT),
            onvif_port=draw(st.none() | st.integers(1, 65535)),
            protocols=tuple(draw(st.lists(st.sampled_from(Protocol), unique=True))),
            latitude=draw(st.none() | st.floats(-90, 90).map(lambda x: round(x, 6))),
            address=draw(_HOSTILE_TEXT),
            install_date=installed,
            warranty_end=installed,
            purchase_cost_vnd=draw(st.none() | st.integers(0, 10**12)),
            funding=draw(st.none() | st.sampled_from(Funding)),
            owner_contact=draw(_HOSTILE_TEXT),
            notes=draw(_HOSTILE_TEXT),
            active=draw(st.booleans()),
        ))
    return [d if d.area else dataclasses.replace(d, site="", site_operator="") for d in out]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=_devices())
def test_any_fleet_exports_and_imports_back_as_it_was(suffix: str, fleet: list[Device]) -> None:
    from fleetmon.inventory.sheets import write_sheet

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fleet{suffix}"
        write_sheet(path, device_dicts(fleet))
        check = read_inventory(path, DEFAULT_AREA_LEVELS, known={}, limits=text_limits())
    assert check.errors == []
    assert check.devices == fleet
