"""Messages reach real receivers (SMTP, a webhook, a Telegram stand-in, Alertmanager), once, even across restarts."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import Engine, select

from fleetmon.alerts.sender import Sender
from fleetmon.config import parse_config
from fleetmon.store.schema import notification_outbox
from tests.alerts.conftest import Fleet, Mailbox, camera, running_alertmanager
from tests.peers import free_port


class Receiver:
    """A real HTTP server on loopback standing in for a helpdesk webhook and the Telegram Bot API."""

    def __init__(self) -> None:
        self.hooks: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.telegram: list[tuple[str, dict[str, Any]]] = []
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        self.hooks.append(await request.json())
        self.headers.append(dict(request.headers))
        return web.json_response({"ok": True})

    async def _telegram(self, request: web.Request) -> web.Response:
        self.telegram.append((request.match_info["token"], await request.json()))
        return web.json_response({"ok": True, "result": {"message_id": len(self.telegram)}})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        app.router.add_post("/bot{token}/sendMessage", self._telegram)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    await found.start()
    yield found
    await found.stop()


def notifying(channels: dict[str, Any], language: str = "vi") -> Any:
    return parse_config({"notifications": {"language": language, "channels": channels, "link": "https://fleetmon.local/tickets/",
                                           "teams": {"field": {"channels": list(channels)}}, "retry_initial": "30s"}})


def camera_down_for_15_minutes(store: Engine, cfg: Any, **options: Any) -> Fleet:
    fleet = Fleet(store, {"cam-7": camera("cam-7")}, cfg, **options)
    fleet.sweep()
    fleet.wait(900, down=["cam-7"])
    return fleet


async def test_an_email_in_vietnamese_arrives_at_a_real_smtp_server(
        store: Engine, smtp_server: tuple[int, Mailbox], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    port, box = smtp_server
    monkeypatch.setenv("FLEETMON_TEST_SMTP_PASSWORD", "s3cret-smtp")
    cfg = notifying({"doi-ky-thuat": {"type": "email", "host": "127.0.0.1", "port": port, "username": "fleetmon",
                                      "password": {"env": "FLEETMON_TEST_SMTP_PASSWORD"}, "sender": "fleetmon@congan.local",
                                      "to": ["kythuat@congan.local"]}})
    fleet = camera_down_for_15_minutes(store, cfg)
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        assert await Sender(cfg, store, clock=lambda: fleet.now).deliver_due(client) == 1
    [mail] = box.messages
    assert [login for login, _ in box.logins] == ["fleetmon"]  # logged in with the password from the environment
    [ticket] = fleet.tickets()
    assert mail["To"] == "kythuat@congan.local" and mail["Message-ID"].startswith("<fleetmon-outbox-")
    assert mail["Subject"] == f"[fleetmon] Sự cố mới #{ticket.id}: cam-7: thiết bị mất kết nối"
    body = mail.get_content()
    assert "Thôn 3, Xuân Lập" in body and "Cần kiểm tra: nguồn điện" in body and f"https://fleetmon.local/tickets/{ticket.id}" in body
    assert "s3cret-smtp" not in caplog.text


async def test_webhook_and_telegram_receive_the_ticket_and_the_token_is_never_logged(
        store: Engine, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    cfg = notifying({"helpdesk": {"type": "webhook", "url": f"http://127.0.0.1:{receiver.port}/hook"},
                     "tg": {"type": "telegram", "token": "123456:bot-secret-token", "chat_id": "-100777",
                            "base_url": f"http://127.0.0.1:{receiver.port}"}}, language="en")
    fleet = camera_down_for_15_minutes(store, cfg)
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        assert await Sender(cfg, store, clock=lambda: fleet.now).deliver_due(client) == 2
    [hook] = receiver.hooks
    assert hook["event"] == "opened" and hook["ticket"]["device"] == "cam-7" and hook["ticket"]["kind"] == "device_down"
    assert receiver.headers[0]["Idempotency-Key"] == f"fleetmon-outbox-{hook['id']}"
    [(token, sent)] = receiver.telegram
    assert token == "123456:bot-secret-token" and sent["chat_id"] == "-100777" and "New fault" in sent["text"]
    await receiver.stop()  # the receiver goes away: failures are logged, without the token in the URL
    fleet.wait(1200)
    async with httpx.AsyncClient() as client:
        assert await Sender(cfg, store, clock=lambda: fleet.now).deliver_due(client) == 0
    assert "Telegram: ConnectError" in caplog.text
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp")]  # not the stand-in server's own log
    assert not [line for line in ours if "bot-secret-token" in line]


async def test_the_outbox_survives_a_restart_and_an_outage_without_losing_or_doubling_a_message(store: Engine, receiver: Receiver) -> None:
    cfg = notifying({"helpdesk": {"type": "webhook", "url": f"http://127.0.0.1:{receiver.port}/hook"}})
    fleet = Fleet(store, {f"cam-{n}": camera(f"cam-{n}", site=f"Thôn {n}") for n in range(5)}, cfg)
    fleet.sweep()
    fleet.wait(900, down=["cam-0", "cam-1", "cam-2"])
    await receiver.stop()
    async with httpx.AsyncClient() as client:
        first = Sender(cfg, store, owner="w1", clock=lambda: fleet.now)
        assert await first.deliver_due(client) == 0  # helpdesk down: three failures, retried later
        claimed = first._claim  # a second sender dies holding what it claimed
        fleet.now += 60
        crashed = Sender(cfg, store, owner="w2", clock=lambda: fleet.now)
        assert crashed._claim() != [] and claimed() == []  # its claim keeps the others off it
        await receiver.start()
        fleet.now += 30
        restarted = Sender(cfg, store, owner="w1", clock=lambda: fleet.now)
        assert await restarted.deliver_due(client) == 0  # claimed by the dead sender until its lease ends
        fleet.now += 60
        assert await restarted.deliver_due(client) == 3
        assert await Sender(cfg, store, owner="w3", clock=lambda: fleet.now).deliver_due(client) == 0
    assert sorted(h["ticket"]["device"] for h in receiver.hooks) == ["cam-0", "cam-1", "cam-2"]
    with store.connect() as conn:
        rows = conn.execute(select(notification_outbox.c.attempts, notification_outbox.c.sent_at)).all()
    assert all(r.sent_at is not None and r.attempts == 2 for r in rows)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    with running_alertmanager(tmp_path) as url:
        yield url


async def test_a_real_alertmanager_receives_the_ticket_as_an_alert_and_its_resolution(store: Engine, alertmanager: str) -> None:
    cfg = notifying({"am": {"type": "alertmanager", "url": alertmanager}})
    fleet = camera_down_for_15_minutes(store, cfg, now=time.time() - 3600)  # Alertmanager judges alerts by its own clock
    async with httpx.AsyncClient() as client:
        assert await Sender(cfg, store, clock=lambda: fleet.now).deliver_due(client) == 1
        [alert] = (await client.get(f"{alertmanager}/api/v2/alerts")).json()
        assert alert["labels"]["alertname"] == "FleetmonTicket" and alert["labels"]["device"] == "cam-7"
        assert alert["labels"]["severity"] == "high" and alert["status"]["state"] == "active"
        assert "cam-7" in alert["annotations"]["summary"]
        fleet.wait(1800)  # back up: resolved after the confirmation period
        fleet.now = time.time()
        assert await Sender(cfg, store, clock=lambda: fleet.now).deliver_due(client) == 1
        active = (await client.get(f"{alertmanager}/api/v2/alerts", params={"active": "true", "silenced": "false",
                                                                                "inhibited": "false", "unprocessed": "false"})).json()
        assert [a for a in active if a["labels"].get("device") == "cam-7"] == []
