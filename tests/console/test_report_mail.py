"""The monthly report by email: each budget officer gets their area's report, once, through a real SMTP server."""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess
from contextlib import AsyncExitStack
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from fleetmon.config import Config
from fleetmon.console import users
from fleetmon.console.report_mail import due_period, send_month, start_report_mail
from fleetmon.console.users import Role
from tests.alerts.conftest import Mailbox, smtp_server  # noqa: F401  (the real SMTP server of the alert tests)
from tests.console.conftest import PASSWORD, SAM_SON, World
from tests.peers import need_binary

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
JUNE_2 = datetime(2026, 6, 2, 9, 0, tzinfo=HCM)  # the world's history is in May 2026
SMTP_PASSWORD = "s3cret-smtp"


def _mailing(world: World, port: int, **email: Any) -> Config:
    """The world's config with reports.email on the test SMTP server (password from the environment)."""
    settings = {"enabled": True, "smtp": {"host": "127.0.0.1", "port": port, "username": "fleetmon",
                                          "password": {"env": "FLEETMON_TEST_SMTP_PASSWORD"}, "sender": "fleetmon@congan.local"},
                "to": [{"email": "ss@congan.local", "area": SAM_SON, "language": "en"}]} | email
    reports = world.config.reports.model_dump(mode="json") | {"email": settings}
    return world.config.model_copy(update={"reports": Config.model_validate({"reports": reports}).reports})


def _officers(world: World) -> None:
    with world.engine.begin() as conn:
        users.set_email(conn, "budget", "tinh@congan.local")  # no area: the whole fleet
        users.add(conn, "budget-tx", PASSWORD, Role.BUDGET_OFFICER, "Thanh Hóa / Thọ Xuân", email="tx@congan.local")
        users.add(conn, "budget-old", PASSWORD, Role.BUDGET_OFFICER, "Thanh Hóa", email="old@congan.local")
        users.set_active(conn, "budget-old", False)  # disabled: nothing
        users.set_email(conn, "police", "police@congan.local")  # not a budget officer: nothing


def _attachments(mail: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in mail.iter_attachments():
        name = part.get_filename()
        assert name is not None
        data = part.get_content()
        assert isinstance(data, bytes)
        found[name.rsplit(".", 1)[1]] = data
    return found


def _summary(xlsx: bytes) -> dict[str, object]:
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0]
    return {str(row[0]): row[1] for row in sheet.iter_rows(values_only=True) if row and row[0] is not None}


def _pdf_text(pdf: bytes, folder: Path) -> str:
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run([need_binary("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_each_budget_officer_gets_their_areas_report_once(world: World, smtp_server: tuple[int, Mailbox],  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    port, box = smtp_server
    monkeypatch.setenv("FLEETMON_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    caplog.set_level(logging.DEBUG, logger="fleetmon")
    _officers(world)
    cfg = _mailing(world, port)
    outcomes = send_month(world.engine, cfg, "2026-05", JUNE_2)
    assert sorted((o.recipient.email, o.result) for o in outcomes) == [
        ("ss@congan.local", "sent"), ("tinh@congan.local", "sent"), ("tx@congan.local", "sent")]
    mails = {m["To"]: m for m in box.messages}
    assert sorted(mails) == ["ss@congan.local", "tinh@congan.local", "tx@congan.local"]
    assert [login for login, _ in box.logins] == ["fleetmon"] * 3
    expected = {"tinh@congan.local": ("Toàn hệ thống", 4), "tx@congan.local": ("Thanh Hóa / Thọ Xuân", 2),
                "ss@congan.local": (SAM_SON, 2)}
    for to, (area, devices) in expected.items():
        mail = mails[to]
        assert mail["From"] == "fleetmon@congan.local" and "2026-05" in mail["Subject"] and area in mail["Subject"]
        html = mail.get_body(("html",))
        assert html is not None and area in html.get_content()
        files = _attachments(mail)
        assert sorted(files) == ["pdf", "xlsx"]
        summary = _summary(files["xlsx"])
        assert summary[("Địa bàn" if to != "ss@congan.local" else "Area")] == area
        assert summary[("Số thiết bị" if to != "ss@congan.local" else "Devices")] == devices
        text = _pdf_text(files["pdf"], tmp_path)
        assert area in text
        assert ("Báo cáo bảo trì" if to != "ss@congan.local" else "maintenance report") in text
    other_areas = {"tx@congan.local": ("Sầm Sơn", "ss-cam"), "ss@congan.local": ("Thọ Xuân", "xl-cam")}
    for to, words in other_areas.items():  # an area's officer never sees another area
        body = mails[to].get_body(("html",))
        assert body is not None and not any(w in body.get_content() for w in words)
        assert not any(w in _pdf_text(_attachments(mails[to])["pdf"], tmp_path) for w in words)

    # a restart, a second run or the command by hand: nothing goes out twice
    again = send_month(world.engine, cfg, "2026-05", JUNE_2.replace(day=3))
    assert {o.result for o in again} == {"already sent"} and len(box.messages) == 3
    assert SMTP_PASSWORD not in caplog.text


def test_a_failed_send_is_tried_again_and_then_sent_once(world: World, smtp_server: tuple[int, Mailbox],  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    port, box = smtp_server
    monkeypatch.setenv("FLEETMON_TEST_SMTP_PASSWORD", "a wrong password")
    caplog.set_level(logging.DEBUG, logger="fleetmon")
    cfg = _mailing(world, port, formats=["xlsx"])
    [refused] = send_month(world.engine, cfg, "2026-05", JUNE_2)
    assert refused.result.startswith("not sent: SMTP server 127.0.0.1") and box.messages == []
    assert "a wrong password" not in caplog.text and "a wrong password" not in refused.result
    monkeypatch.setenv("FLEETMON_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    [sent] = send_month(world.engine, cfg, "2026-05", JUNE_2)
    assert sent.result == "sent" and len(box.messages) == 1
    assert [o.result for o in send_month(world.engine, cfg, "2026-05", JUNE_2)] == ["already sent"]


def test_the_mail_is_due_from_its_day_and_hour_on_the_reports_calendar(world: World) -> None:
    cfg = _mailing(world, 25, day=2, hour=7)
    assert due_period(datetime(2026, 6, 1, 23, 0, tzinfo=HCM), cfg) is None
    assert due_period(datetime(2026, 6, 2, 6, 59, tzinfo=HCM), cfg) is None
    assert due_period(datetime(2026, 6, 2, 7, 0, tzinfo=HCM), cfg) == "2026-05"
    assert due_period(datetime(2026, 6, 30, 23, 0, tzinfo=HCM), cfg) == "2026-05"
    assert due_period(datetime(2026, 1, 5, 0, 0, tzinfo=HCM), cfg) == "2025-12"
    assert due_period(datetime(2026, 6, 2, 0, 30, tzinfo=ZoneInfo("UTC")), cfg) == "2026-05"  # 07:30 in Hà Nội


def test_fleetmon_run_sends_the_month_when_it_is_due_and_not_again_after_a_restart(
        world: World, smtp_server: tuple[int, Mailbox], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    port, box = smtp_server
    monkeypatch.setenv("FLEETMON_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    cfg = _mailing(world, port, formats=["xlsx"], check_every="0.05s")
    now = [datetime(2026, 6, 1, 6, 0, tzinfo=HCM)]  # before 07:00 on the 1st: not due yet

    async def run_for(seconds: float) -> None:
        async with AsyncExitStack() as stack:  # one `fleetmon run`, stopped at the end
            await start_report_mail(cfg, world.engine, stack, clock=lambda: now[0])
            await asyncio.sleep(seconds)

    asyncio.run(run_for(0.3))
    assert box.messages == []
    now[0] = datetime(2026, 6, 1, 7, 5, tzinfo=HCM)
    asyncio.run(run_for(0.3))
    assert [m["To"] for m in box.messages] == ["ss@congan.local"]
    now[0] = datetime(2026, 6, 20, 7, 5, tzinfo=HCM)
    asyncio.run(run_for(0.3))  # restarted later in the month
    assert len(box.messages) == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_fleetmon_report_email_by_hand(world: World, smtp_server: tuple[int, Mailbox], store_url: str,  # noqa: F811
                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from fleetmon.cli import main

    port, box = smtp_server
    monkeypatch.setenv("FLEETMON_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    _officers(world)
    config_file = tmp_path / "fleetmon.yaml"
    config_file.write_text(yaml.safe_dump({
        "database_url": store_url, "data_dir": "data",
        "reports": {"email": {"smtp": {"host": "127.0.0.1", "port": port, "username": "fleetmon",
                                       "password": {"env": "FLEETMON_TEST_SMTP_PASSWORD"}}}}}), encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(main, ["--config", str(config_file), "report", "--email", "--period", "2026-05"])
    assert first.exit_code == 0, first.output
    assert "tx@congan.local (Thanh Hóa / Thọ Xuân): sent" in first.output and "tinh@congan.local (whole fleet): sent" in first.output
    assert sorted(m["To"] for m in box.messages) == ["tinh@congan.local", "tx@congan.local"]
    second = runner.invoke(main, ["--config", str(config_file), "report", "--email", "--period", "2026-05"])
    assert second.exit_code == 0 and second.output.count("already sent") == 2 and len(box.messages) == 2
    wrong = runner.invoke(main, ["--config", str(config_file), "report", "--email", "--period", "2026-Q2"])
    assert wrong.exit_code == 2 and "one month" in wrong.output
