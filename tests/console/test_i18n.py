"""Vietnamese by default, English per user setting or ?lang=, from compiled gettext catalogues."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from fleetmon.console import i18n
from tests.console.conftest import Client, World, csrf_of

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the words do not depend on the store


@SQLITE_ONLY
def test_vietnamese_by_default_english_on_request(signed_in: Callable[[str], Client]) -> None:
    client = signed_in("tech")
    assert "Phiếu sửa chữa" in client.get("/tickets").text
    english = client.get("/tickets?lang=en").text
    assert "<h1>Tickets</h1>" in english and 'lang="en"' in english
    assert "Tickets" in client.get("/tickets").text  # kept for the session


@SQLITE_ONLY
def test_the_user_setting_chooses_the_language(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("tech")
    page = client.get("/settings")
    client.post("/settings", data={"csrf": csrf_of(page.text), "language": "en"})
    client.cookies.clear()
    client = signed_in("tech")
    assert "Fleet status" in client.get("/status").text


def test_every_message_is_translated_and_the_mo_files_are_up_to_date(tmp_path: Path) -> None:
    root = Path(i18n.__file__).parent
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(root / "locale/babel.cfg"), "-k", "N_",
                    "--no-location", "-o", str(pot), str(root)], check=True, capture_output=True)
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    for lang in i18n.LANGUAGES:
        with (root / f"locale/{lang}/LC_MESSAGES/messages.po").open("rb") as f:
            po = read_po(f)
        with (root / f"locale/{lang}/LC_MESSAGES/messages.mo").open("rb") as f:
            mo = read_mo(f)
        assert wanted <= {m.id for m in po if m.id}, f"{lang}: messages missing from the catalogue"
        assert {m.id: m.string for m in po if m.id and m.string} == {m.id: m.string for m in mo if m.id}, f"{lang}: recompile the .mo"
        if lang == "vi":
            assert all(m.string for m in po if m.id), "untranslated Vietnamese messages"


@SQLITE_ONLY
def test_a_tickets_history_reads_in_the_pages_language(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("tech")
    [ticket] = [t.id for t in world.fleet.tickets() if t.device_id == "xl-cam-1"]
    client.post(f"/tickets/{ticket}/ack", data={"csrf": csrf_of(client.get(f"/tickets/{ticket}").text)})
    history = client.get(f"/tickets/{ticket}").text.split("<table class=\"list\">")[-1]
    assert "mở phiếu" in history and "đã tiếp nhận" in history
    assert "opened" not in history and "acknowledged" not in history
    english = client.get(f"/tickets/{ticket}?lang=en").text.split("<table class=\"list\">")[-1]
    assert "opened" in english and "acknowledged" in english


def test_the_engines_event_details_are_translated_with_their_values() -> None:
    vi, en = i18n.event_detail("vi"), i18n.event_detail("en")
    assert vi("not acknowledged within 30 min") == "không được tiếp nhận trong 30 phút"
    assert vi("healthy since 2026-05-28 10:00 UTC") == "hoạt động ổn định từ 2026-05-28 10:00 UTC"
    assert vi("asked Ông Ba to check power and router first") == "đã nhờ Ông Ba kiểm tra nguồn điện và bộ định tuyến trước"
    assert vi("monitoring no longer sees it") == "hệ thống giám sát không còn thấy lỗi"
    assert vi("Thay bộ nguồn") == "Thay bộ nguồn"  # a technician's own words stay as written
    assert en("not repaired within 8 h") == "not repaired within 8 h"
