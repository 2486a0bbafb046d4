"""A small fleet whose health is made by the real state machine and root cause and written to the
real state-change log, and a ticket engine reading it on an injected clock (no sleeping)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from fleetmon.alerts import tickets
from fleetmon.alerts.engine import TicketEngine
from fleetmon.config import Config, parse_config
from fleetmon.health import machine, rootcause
from fleetmon.health.model import DeviceStatus, Observation
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.result import ProbeStatus
from fleetmon.store import statelog
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import notification_outbox

START = 1_780_000_000.0  # 2026-05-28, any fixed moment will do
POLICY = machine.Policy()
AREA = "Thanh Hóa / Thọ Xuân / Xuân Lập"


def when(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def config(extra_channels: tuple[str, ...] = (), **sections: Any) -> Config:
    """The defaults, with a webhook for the field team so that every message lands in the outbox."""
    channels = {name: {"type": "webhook", "url": f"http://127.0.0.1:9/{name}"} for name in ("hook", "lead", *extra_channels)}
    data: dict[str, Any] = {"notifications": {"channels": channels,
                                              "teams": {"field": {"channels": ["hook"]}},
                                              "leads": {"Thanh Hóa": ["lead"]}, "language": "en"}}
    data.update(sections)
    return parse_config(data)


def camera(device_id: str, site: str = "Chợ Xuân Lập", parent: str = "", area: str = AREA) -> Device:
    return Device(id=device_id, kind=DeviceKind.CAMERA, host="10.0.0.1", area=area, site=site, parent=parent,
                  address="Thôn 3, Xuân Lập", latitude=19.9, longitude=105.4)


@dataclass
class Fleet:
    """Sweeps as the monitor makes them: liveness, then problems, then root cause; changes to the log."""

    store: Engine
    devices: dict[str, Device]
    cfg: Config
    now: float = START
    statuses: dict[str, DeviceStatus] = field(default_factory=dict)
    engine: TicketEngine | None = None
    policy: machine.Policy = POLICY

    def __post_init__(self) -> None:
        with self.store.begin() as conn:
            apply_plan(conn, plan_import(list(self.devices.values()), {}), "test")
        self.statuses = {i: DeviceStatus() for i in self.devices}
        self.engine = self.new_engine()

    def new_engine(self, owner: str = "test") -> TicketEngine:
        return TicketEngine(self.cfg, self.store, owner=owner, clock=lambda: self.now)

    def sweep(self, down: Sequence[str] = (), problems: Mapping[str, tuple[str, ...]] | None = None, *, step: bool = True,
              advance: float = 60.0) -> None:
        """One sweep `advance` seconds after the last; then the engine's step, as `fleetmon run` would."""
        self.now += advance
        problems = problems or {}
        changes = []
        for device_id, status in self.statuses.items():
            alive = device_id not in down
            reach = Observation(device_id=device_id, probe="reachability", status=ProbeStatus.OK if alive else ProbeStatus.TIMEOUT,
                                at=self.now, duration_seconds=0.01, alive=alive, error="" if alive else "reachability: timeout")
            if (t := machine.apply(status, reach, self.policy, liveness=True)) is not None:
                changes.append(t)
            if alive:
                onvif = Observation(device_id=device_id, probe="onvif", status=ProbeStatus.OK, at=self.now, duration_seconds=0.1,
                                    alive=True, problems=problems.get(device_id, ()))
                if (t := machine.apply(status, onvif, self.policy, liveness=False)) is not None:
                    changes.append(t)
        changes += rootcause.resolve(self.devices, self.statuses, self.now, self.policy)
        with self.store.begin() as conn:
            statelog.write(conn, changes)
        if step:
            self.step()

    def step(self) -> None:
        assert self.engine is not None
        self.engine.run_until_caught_up()

    def wait(self, seconds: float, **sweep: Any) -> None:
        """Sweeps every minute for `seconds`, the same faults each time."""
        for _ in range(int(seconds // 60)):
            self.sweep(**sweep)

    def tickets(self, *states: str) -> list[tickets.Ticket]:
        with self.store.connect() as conn:
            return sorted(tickets.find(conn, states=states), key=lambda t: t.id)

    def messages(self, channel: str = "hook") -> list[tuple[int | None, str, str]]:
        with self.store.connect() as conn:
            rows = conn.execute(select(notification_outbox.c.ticket_id, notification_outbox.c.event, notification_outbox.c.body)
                                .where(notification_outbox.c.channel == channel).order_by(notification_outbox.c.id))
            return [(r.ticket_id, r.event, r.body) for r in rows]

    def count_messages(self) -> int:
        with self.store.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(notification_outbox)).scalar_one())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fleetmon.db'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    """The store on SQLite, disposed after the test (its pooled connections closed)."""
    engine = open_store(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_fleet(engine: Engine) -> Iterator[Any]:
    def make(devices: Sequence[Device], cfg: Config | None = None) -> Fleet:
        return Fleet(engine, {d.id: d for d in devices}, cfg or config())

    yield make


# -- real peers for the notification tests ------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives and accepts one login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.peers import free_port

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            import email
            import email.policy

            box.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"fleetmon", b"s3cret-smtp")
        if ok:
            box.logins.append((data.login.decode(), mechanism))
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@contextmanager
def running_alertmanager(folder: Path, webhook: str = "") -> Iterator[str]:
    """A real Alertmanager (Debian prometheus-alertmanager) on loopback, clustering off; with `webhook`,
    it sends every group there at once (1 s waits) and says when alerts resolve."""
    import subprocess
    import time

    import httpx
    import yaml

    from tests.peers import free_port, need_binary

    binary = need_binary("prometheus-alertmanager")
    receiver: dict[str, Any] = {"name": "out"}
    if webhook:
        receiver["webhook_configs"] = [{"url": webhook, "send_resolved": True}]
    config = folder / "alertmanager.yml"
    config.write_text(yaml.safe_dump({"route": {"receiver": "out", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
                                                "group_by": ["alertname", "device"]},
                                      "receivers": [receiver]}))
    port = free_port()
    log = folder / "alertmanager.log"
    with log.open("w") as stderr:  # the child keeps its own descriptor
        process = subprocess.Popen([binary, f"--config.file={config}", f"--storage.path={folder / 'am'}",
                                    f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Alertmanager did not start: " + log.read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)
