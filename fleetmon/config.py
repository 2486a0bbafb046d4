"""`fleetmon.yaml`: validated into typed models; secrets come from the environment or files.

Every model forbids unknown keys, so a typo is an error naming the key, not a silent default.
A secret is written as `{env: NAME}` or `{file: PATH}` (a plain string is accepted for demos
and tests); it prints as `<secret>` and is read only when a probe needs it. `database_url` is one
too (its password is a secret): shown only with the password masked (`display_database_url`),
checked (dialect, port) when the config loads, or when an env/file one is read.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import zoneinfo
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from fleetmon.inventory.model import DEFAULT_AREA_LEVELS, AreaLevel
from fleetmon.probes.target import AuthProtocol, Credentials, PrivProtocol, SnmpV2c, SnmpV3

log = logging.getLogger(__name__)

CONFIG_ENV = "FLEETMON_CONFIG"
DEFAULT_CONFIG_FILE = "fleetmon.yaml"


class ConfigError(Exception):
    """A config that cannot be used; the message names the file, the key and the problem."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def _parse_duration(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration (examples: 30, 30s, 5m, 1h)")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


Seconds = Annotated[float, BeforeValidator(_parse_duration), Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Model):
    """Where a secret lives. Exactly one of env, file or value."""

    env: str | None = None
    file: Path | None = None
    value: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, data: Any) -> Any:
        if isinstance(data, bool | int | float):  # YAML's reading of an unquoted 123456, 0123 (octal: 83) or yes (true)
            raise ValueError("a secret written as a bare number or yes/no: put it in quotes (password: '0123456') "
                             "so YAML keeps it exactly as written, or use {env: NAME} / {file: PATH}")
        return {"value": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("env", "file", "value") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of env, file or value")
        return self

    def resolve(self, *, warn: bool = True) -> SecretStr:
        """The secret itself; raises ConfigError naming where it was looked for (not what it is).

        A file open to other users is logged as a warning (`warn`), as ssh does for its keys.
        """
        if self.value is not None:
            return self.value
        if self.env is not None:
            found = os.environ.get(self.env)
            if found is None:
                raise ConfigError(f"environment variable {self.env} is not set")
            return SecretStr(found)
        assert self.file is not None
        try:
            text = self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read secret file {self.file}: {exc.strerror}") from None
        exposed = self.exposure() if warn else None
        if exposed:
            log.warning("%s", exposed)
        return SecretStr(text)

    def exposure(self) -> str | None:
        """A warning if the secret's file can be read or changed by users other than its owner."""
        if self.file is None:
            return None
        try:
            mode = self.file.stat().st_mode
        except OSError:
            return None
        if mode & 0o077:
            return (f"secret file {self.file} is open to other users (mode {stat.S_IMODE(mode):04o}): "
                    f"chmod 600 {self.file}")
        return None

    def __repr__(self) -> str:
        where = f"env {self.env}" if self.env else f"file {self.file}" if self.file else "inline"
        return f"<secret from {where}>"

    __str__ = __repr__


SECRET_QUERY_KEYS = re.compile(r"pass|secret|token|pwd", re.IGNORECASE)  # ?password=..., ?sslpassword=...
DIALECTS = ("sqlite", "postgresql")
_DSN_PAIR = re.compile(r"\s*(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))")
_DSN_KEYS = {"user": "username", "password": "password", "host": "host", "port": "port", "dbname": "database"}


class _Unreadable(ValueError):
    """A DSN that cannot be read; its message quotes nothing of it."""


def _dsn_to_url(text: str) -> URL:
    """A libpq key=value DSN (`host=db user=fleetmon password=... dbname=fleetmon`) as a PostgreSQL URL."""
    fields: dict[str, str] = {}
    position = 0
    while position < len(text.rstrip()):
        match = _DSN_PAIR.match(text, position)
        if match is None:
            raise _Unreadable("neither a URL (postgresql://user@host:5432/name) nor a key=value DSN")
        fields[match[1]] = re.sub(r"\\(.)", r"\1", match[2]) if match[2] is not None else match[3]
        position = match.end()
    parts = {_DSN_KEYS[k]: v for k, v in fields.items() if k in _DSN_KEYS}
    query = {k: v for k, v in fields.items() if k not in _DSN_KEYS}
    port = parts.pop("port", None)
    if port is not None and not port.isdigit():
        raise _Unreadable("the port is not a number")
    return URL.create("postgresql", port=int(port) if port else None, query=query, **parts)


def parse_database_url(text: str) -> URL:
    """The store's URL, checked; ValueError says what is wrong without repeating the URL (it may hold a password)."""
    text = text.strip()
    try:
        url = make_url(text) if "://" in text else _dsn_to_url(text)
    except ArgumentError:
        raise ValueError("not a database URL (examples: sqlite:///path/fleetmon.db, postgresql://user@host:5432/name)") from None
    except _Unreadable as exc:
        raise ValueError(f"not a database URL: {exc}") from None
    except ValueError as exc:  # SQLAlchemy's own words may quote the URL: only recognised ones are passed on
        problem = "the port is not a number" if "int()" in str(exc) else "malformed"
        raise ValueError(f"not a database URL: {problem}") from None
    if url.get_backend_name() not in DIALECTS:
        raise ValueError(f"unknown database dialect {url.get_backend_name()!r}: use {' or '.join(DIALECTS)}")
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"port {url.port} is out of range")
    return url


def display_database_url(url: URL | str) -> str:
    """The URL as it may be shown: password masked, in the URL and in its query string."""
    if isinstance(url, str):
        try:
            url = parse_database_url(url)
        except ValueError:
            return "<unreadable database URL>"
    masked = {key: "***" if SECRET_QUERY_KEYS.search(key) else value for key, value in url.query.items()}
    return url.set(query=masked).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


class SnmpV2cProfile(_Model):
    version: Literal["2c"] = "2c"
    community: SecretRef
    # Interface names (globs such as "ether1" or "gi1/0/*": uplinks, camera ports) whose going down is a
    # fault. Empty: any port that carried traffic since the unit booted and is now down.
    ports: list[str] = []


class SnmpV3Profile(_Model):
    version: Literal["3"] = "3"
    user: str
    auth_protocol: AuthProtocol = "sha"
    auth_key: SecretRef | None = None
    priv_protocol: PrivProtocol = "aes"
    priv_key: SecretRef | None = None
    context: str = ""  # contextName, for agents that serve several contexts and proxies in front of recorders
    ports: list[str] = []  # as for 2c

    @model_validator(mode="after")
    def _priv_needs_auth(self) -> SnmpV3Profile:
        if self.priv_key is not None and self.auth_key is None:
            raise ValueError("priv_key needs auth_key (authPriv)")
        return self


class CredentialProfile(_Model):
    """How to log in to a family of devices; devices name a profile, never a password."""

    username: str = ""
    password: SecretRef | None = None
    snmp: Annotated[SnmpV2cProfile | SnmpV3Profile, Field(discriminator="version")] | None = None
    correct_clock: bool = False  # set a drifting device's clock through ONVIF (off by default)
    ntp_server: str | None = None  # with correct_clock: point the device at this NTP server instead

    def secrets(self) -> dict[str, SecretRef]:
        """Every secret the profile names, by its key, for checking without using them."""
        found = {"password": self.password}
        if isinstance(self.snmp, SnmpV2cProfile):
            found["snmp.community"] = self.snmp.community
        elif isinstance(self.snmp, SnmpV3Profile):
            found |= {"snmp.auth_key": self.snmp.auth_key, "snmp.priv_key": self.snmp.priv_key}
        return {key: ref for key, ref in found.items() if ref is not None}

    def resolve(self) -> Credentials:
        snmp: SnmpV2c | SnmpV3 | None = None
        if isinstance(self.snmp, SnmpV2cProfile):
            snmp = SnmpV2c(community=self.snmp.community.resolve(), ports=tuple(self.snmp.ports))
        elif isinstance(self.snmp, SnmpV3Profile):
            snmp = SnmpV3(
                user=self.snmp.user,
                auth_protocol=self.snmp.auth_protocol,
                auth_key=self.snmp.auth_key.resolve() if self.snmp.auth_key else None,
                priv_protocol=self.snmp.priv_protocol,
                priv_key=self.snmp.priv_key.resolve() if self.snmp.priv_key else None,
                context=self.snmp.context,
                ports=tuple(self.snmp.ports),
            )
        return Credentials(
            username=self.username,
            password=self.password.resolve() if self.password else None,
            snmp=snmp,
            correct_clock=self.correct_clock,
            ntp_server=self.ntp_server,
        )


class ProbeSchedule(_Model):
    interval: Seconds
    timeout: Seconds
    # In flight at once for this probe (default: probes.concurrency). CPU-heavy probes (ONVIF's
    # SOAP, snapshot decoding) gain nothing from more than the CPU can serve: the extra wait in
    # the event loop's queue and run into their timeouts.
    concurrency: int | None = Field(default=None, ge=1, le=100_000)


class ProbesConfig(_Model):
    reachability: ProbeSchedule = ProbeSchedule(interval=60, timeout=2)
    snmp: ProbeSchedule = ProbeSchedule(interval=60, timeout=3)
    onvif: ProbeSchedule = ProbeSchedule(interval=300, timeout=5, concurrency=16)
    vendor_http: ProbeSchedule = ProbeSchedule(interval=300, timeout=5)
    snapshot: ProbeSchedule = ProbeSchedule(interval=1200, timeout=10, concurrency=16)
    concurrency: int = Field(default=500, ge=1, le=100_000)
    jitter: float = Field(default=0.9, ge=0, le=1)  # share of the interval probes are spread over


class AreaLevelConfig(_Model):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    label_vi: str = ""


DEFAULT_LEVELS = tuple(AreaLevelConfig(key=x.key, label=x.label, label_vi=x.label_vi) for x in DEFAULT_AREA_LEVELS)


class AreasConfig(_Model):
    levels: tuple[AreaLevelConfig, ...] = Field(default=DEFAULT_LEVELS, min_length=1)

    def as_levels(self) -> tuple[AreaLevel, ...]:
        return tuple(AreaLevel(key=x.key, label=x.label, label_vi=x.label_vi) for x in self.levels)


CLOCK_TOLERANCE_SECONDS = 1.0  # workers' clocks agree (NTP) to well within this


class MonitorConfig(_Model):
    """How this `fleetmon run` process takes part in monitoring."""

    worker_id: str | None = None  # default: $FLEETMON_WORKER_ID, else the host name
    shared: bool = False  # several workers share one PostgreSQL and split the fleet
    lease: Seconds = 30.0  # a dead worker's devices are taken over within this time
    down_after: int = Field(default=2, ge=1)  # failed liveness probes in a row before down
    up_after: int = Field(default=2, ge=1)  # answered liveness probes in a row before up
    clock_skew_limit: Seconds = 60.0  # a device clock further off than this makes footage times unreliable
    recording_stale_after: Seconds = 900.0  # newest footage older than this: recording stopped
    retention_days: float = Field(default=30.0, ge=0)  # footage a recorder must hold; 0 turns the check off
    volume_full_percent: float = Field(default=95.0, gt=0, le=100)  # a volume this full is a problem
    # health changes kept while the store cannot take them (a whole province changing twice); beyond, the oldest are dropped
    pending_transitions_limit: int = Field(default=200_000, ge=1)


class ListenConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


class ServiceLifeConfig(_Model):
    """Years a unit is expected to serve before it is replaced, by kind.

    Cameras outdoors last about seven years; a recorder's disks, which run day and night, wear out
    in about five, so its replacement is planned then; switches and power gear about eight.
    """

    camera: float = Field(default=7, gt=0)
    nvr: float = Field(default=5, gt=0)
    switch: float = Field(default=8, gt=0)
    other: float = Field(default=5, gt=0)


class ReplacementPriceConfig(_Model):
    """Today's price of a replacement unit by kind, in VND; unset: the unit's own purchase cost."""

    camera: int | None = Field(default=None, ge=0)
    nvr: int | None = Field(default=None, ge=0)
    switch: int | None = Field(default=None, ge=0)
    other: int | None = Field(default=None, ge=0)


class SmtpConfig(_Model):
    """An SMTP server to send through: alert emails and the monthly reports."""

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    username: str = ""
    password: SecretRef | None = None
    sender: str = "fleetmon@localhost"


class ReportRecipient(_Model):
    """An address outside the console's users that gets an area's monthly report ("" area: the whole fleet)."""

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    area: str = ""
    language: Literal["vi", "en", ""] = ""  # "" : reports.language


class ReportMailConfig(_Model):
    """The previous month's report by email, sent once per month by `fleetmon run` (or `fleetmon report --email`).

    Recipients: every active budget officer with an email address (their area's report; the whole
    fleet for an officer without an area), and the `to` list.
    """

    enabled: bool = False
    day: int = Field(default=1, ge=1, le=28)  # of the month, on reports.timezone's calendar
    hour: int = Field(default=7, ge=0, le=23)
    smtp: SmtpConfig = SmtpConfig()
    to: tuple[ReportRecipient, ...] = ()
    formats: tuple[Literal["pdf", "xlsx", "csv"], ...] = ("pdf", "xlsx")  # attached; the body is the HTML report
    check_every: Seconds = 900.0  # how often `fleetmon run` looks for a month's mail not yet sent


class ReportsConfig(_Model):
    """Maintenance reports for budget officers (`fleetmon report`)."""

    timezone: str = "Asia/Ho_Chi_Minh"  # a month is the month on the officers' calendar, not UTC's
    language: Literal["vi", "en"] = "vi"
    repeated_failures: int = Field(default=3, ge=1)  # down episodes in a period that mark a unit as failing repeatedly
    service_life_years: ServiceLifeConfig = ServiceLifeConfig()
    replacement_price_vnd: ReplacementPriceConfig = ReplacementPriceConfig()
    email: ReportMailConfig = ReportMailConfig()

    @model_validator(mode="after")
    def _known_timezone(self) -> ReportsConfig:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: {self.timezone!r} is not a known time zone (example: Asia/Ho_Chi_Minh)") from None
        return self


class WebConfig(ListenConfig):
    """The web console (fleetmon.console), served by `fleetmon run`; loopback unless said otherwise."""

    port: int = Field(default=8080, ge=0, le=65535)
    enabled: bool = True
    # Behind a TLS reverse proxy: cookies carry Secure and are never sent over plain HTTP.
    secure_cookies: bool = False
    # Signs session cookies; default: a random key kept in data_dir/console-secret (made on first start).
    session_secret: SecretRef | None = None
    session_lifetime: Seconds = 12 * 3600.0
    language: Literal["vi", "en"] = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"  # times on pages and in the windows form (the store keeps UTC)
    login_attempts: int = Field(default=5, ge=1)  # failures per account (x4 per client address) before a pause
    login_pause: Seconds = 30.0  # the first pause; it doubles with each further failure
    login_pause_max: Seconds = 900.0
    upload_limit_mb: float = Field(default=20.0, gt=0)  # largest inventory sheet accepted
    public_url: str = ""  # e.g. https://fleetmon.example.org (for links in messages); informative

    @model_validator(mode="after")
    def _known_timezone(self) -> WebConfig:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: no time zone {self.timezone!r} (e.g. Asia/Ho_Chi_Minh, UTC)") from None
        return self


# -- tickets and notifications (fleetmon.alerts) ----------------------------------------------

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
FaultKindName = Literal[
    "device_down", "site_offline", "disk_failed", "disk_full", "recording_stopped", "footage_short", "clock_skew",
    "picture", "stream_dead", "reboot_loop", "flapping", "unit_swapped", "login_refused", "other", "external",
]


class TicketRule(_Model):
    """What one kind of fault becomes: a ticket once it has lasted `after`, of this severity, for this team."""

    after: Annotated[float, BeforeValidator(_parse_duration), Field(ge=0)] = 300.0
    severity: Severity = "medium"
    team: str = "field"
    enabled: bool = True


def _rule(after: float, severity: Severity, team: str = "field") -> TicketRule:
    return TicketRule(after=after, severity=severity, team=team)


DEFAULT_TICKET_RULES: dict[str, TicketRule] = {
    "device_down": _rule(600, "high"),
    "site_offline": _rule(600, "critical"),
    "disk_failed": _rule(0, "high"),
    "disk_full": _rule(3600, "medium"),
    "recording_stopped": _rule(1800, "high"),
    "footage_short": _rule(86400, "low"),
    "clock_skew": _rule(3600, "low"),
    "picture": _rule(3600, "medium"),
    "stream_dead": _rule(900, "high"),
    "reboot_loop": _rule(0, "high"),
    "flapping": _rule(0, "medium"),
    "unit_swapped": _rule(0, "medium"),
    "login_refused": _rule(900, "medium"),
    "other": _rule(3600, "low"),
    "external": _rule(0, "medium"),  # alerts received from Alertmanager's webhook
}


class SlaConfig(_Model):
    """Time to acknowledge and time to repair, for one severity."""

    acknowledge: Seconds
    repair: Seconds


DEFAULT_SLA: dict[str, SlaConfig] = {
    "critical": SlaConfig(acknowledge=900, repair=4 * 3600),
    "high": SlaConfig(acknowledge=3600, repair=24 * 3600),
    "medium": SlaConfig(acknowledge=4 * 3600, repair=3 * 86400),
    "low": SlaConfig(acknowledge=86400, repair=14 * 86400),
}


def _utc_moment(value: Any) -> Any:
    """A date is its midnight; a time without an offset is UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


class MaintenancePlan(_Model):
    """Upkeep on schedule: every `every`, one ticket per matching site listing its tasks and units."""

    every: Seconds
    tasks: tuple[str, ...] = Field(min_length=1)  # e.g. "clean lenses", "check power and cabling", "test footage retrieval"
    area: str = ""  # sites in this area subtree (all when empty)
    sites: tuple[str, ...] = ()  # only these site names
    models: tuple[str, ...] = ()  # only sites with units of these models; the ticket lists those units
    # First due then (default: at once), later ones `every` after the last; a date is its midnight, no offset is UTC.
    starts: Annotated[datetime | None, BeforeValidator(_utc_moment)] = None
    severity: Severity = "low"
    team: str = "field"


OWNER_TEAM = "owner"  # the team of a ticket while a camera's owner is asked to check it first


class OwnerFirst(_Model):
    """Household cameras: ask the owner (inventory contact) to check power and router before sending a technician."""

    kinds: tuple[FaultKindName, ...] = ("device_down",)
    funding: tuple[Literal["state_budget", "social", "household_shared"], ...] = ("household_shared",)
    wait: Seconds = 7200.0  # still broken this long after the owner was asked: the rule's team takes over
    channels: tuple[str, ...] = Field(min_length=1)  # where owner messages go (an SMS or Zalo gateway behind a webhook)


class TicketsConfig(_Model):
    """How health becomes tickets (see docs/TICKETS.md). Every rule has a default; a config names only what it changes."""

    enabled: bool = True
    rules: dict[FaultKindName, TicketRule] = Field(default_factory=dict)
    sla: dict[Severity, SlaConfig] = Field(default_factory=dict)
    confirm_clear: Annotated[float, BeforeValidator(_parse_duration), Field(ge=0)] = 600.0  # cleared this long: resolved
    reopen_within: Annotated[float, BeforeValidator(_parse_duration), Field(ge=0)] = 86400.0  # back within: same ticket
    close_after_healthy: Annotated[float, BeforeValidator(_parse_duration), Field(ge=0)] = 900.0  # healthy this long: may close
    interval: Seconds = 10.0  # how often the engine reads new health changes and checks its timers
    plans: dict[str, MaintenancePlan] = Field(default_factory=dict)  # preventive maintenance, by name
    alertmanager_webhook: ListenConfig | None = None  # where to accept Alertmanager's webhook (off by default)
    owner_first: OwnerFirst | None = None  # off unless configured

    def rule(self, kind: str) -> TicketRule:
        return self.rules.get(kind) or DEFAULT_TICKET_RULES[kind]  # type: ignore[call-overload]

    def sla_for(self, severity: str) -> SlaConfig:
        return self.sla.get(severity) or DEFAULT_SLA[severity]  # type: ignore[call-overload]


class EmailChannel(SmtpConfig):
    type: Literal["email"] = "email"
    to: tuple[str, ...] = Field(min_length=1)


class WebhookChannel(_Model):
    type: Literal["webhook"] = "webhook"
    url: str
    token: SecretRef | None = None  # sent as `Authorization: Bearer ...` when given


class TelegramChannel(_Model):
    type: Literal["telegram"] = "telegram"
    token: SecretRef
    chat_id: str
    base_url: str = "https://api.telegram.org"


class AlertmanagerChannel(_Model):
    type: Literal["alertmanager"] = "alertmanager"
    url: str  # e.g. http://127.0.0.1:9093


Channel = Annotated[EmailChannel | WebhookChannel | TelegramChannel | AlertmanagerChannel, Field(discriminator="type")]


class TeamConfig(_Model):
    """Where a team's messages go: `channels` by default, or those of the longest matching area prefix."""

    channels: tuple[str, ...] = ()
    areas: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class NotificationsConfig(_Model):
    language: Literal["vi", "en"] = "vi"
    channels: dict[str, Channel] = Field(default_factory=dict)
    teams: dict[str, TeamConfig] = Field(default_factory=dict)
    leads: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # area prefix -> channels told on escalation
    link: str = ""  # ticket link prefix in messages, e.g. https://fleetmon.example/tickets/
    group_over: int = Field(default=5, ge=1)  # more messages than this for one channel in one engine step: one digest
    retry_initial: Seconds = 10.0
    retry_max: Seconds = 3600.0
    give_up_after: int = Field(default=50, ge=1)  # attempts; the message stays in the outbox, marked failed
    # A sender holds the messages it sends this long; a dead sender's are sent by another after it.
    # Longer than the slowest delivery (15 s timeout), or a slow send could be taken over and sent twice.
    claim_for: Annotated[float, BeforeValidator(_parse_duration), Field(ge=20)] = 60.0

    @model_validator(mode="after")
    def _known_channels(self) -> NotificationsConfig:
        named = [(f"teams.{t}", c) for t, team in self.teams.items() for c in team.channels]
        named += [(f"teams.{t}.areas.{a}", c) for t, team in self.teams.items() for a, cs in team.areas.items() for c in cs]
        named += [(f"leads.{a}", c) for a, cs in self.leads.items() for c in cs]
        for where, name in named:
            if name not in self.channels:
                raise ValueError(f"{where}: no channel named {name!r}")
        return self

    def secrets(self) -> dict[str, SecretRef]:
        found: dict[str, SecretRef | None] = {}
        for name, channel in self.channels.items():
            if isinstance(channel, EmailChannel):
                found[f"channels.{name}.password"] = channel.password
            elif isinstance(channel, WebhookChannel | TelegramChannel):
                found[f"channels.{name}.token"] = channel.token
        return {key: ref for key, ref in found.items() if ref is not None}


class Config(_Model):
    data_dir: Path = Path("fleetmon-data")
    database_url: SecretRef | None = None  # default: SQLite in data_dir; a URL, a key=value DSN, {env: NAME} or {file: PATH}
    web: WebConfig = WebConfig()
    metrics: ListenConfig = ListenConfig(port=9108)
    probes: ProbesConfig = ProbesConfig()
    monitor: MonitorConfig = MonitorConfig()
    areas: AreasConfig = AreasConfig()
    reports: ReportsConfig = ReportsConfig()
    credentials: dict[str, CredentialProfile] = Field(default_factory=dict)
    default_credentials: str | None = None  # profile for devices that name none
    tickets: TicketsConfig = TicketsConfig()
    notifications: NotificationsConfig = NotificationsConfig()

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        if self.database_url is not None and self.database_url.value is not None:
            try:
                parse_database_url(self.database_url.value.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"database_url: {exc}") from None
        if self.default_credentials and self.default_credentials not in self.credentials:
            raise ValueError(f"default_credentials: no credential profile named {self.default_credentials!r}")
        if self.monitor.shared and self.monitor.lease < 2 * self.lease_guard:
            raise ValueError(f"monitor.lease must be at least {2 * self.lease_guard:g} s: twice the longest probe "
                             f"timeout plus {CLOCK_TOLERANCE_SECONDS:g} s of clock tolerance")
        return self

    @property
    def lease_guard(self) -> float:
        """How long before its lease ends a worker stops starting probes: the longest probe must end first."""
        longest = max(s.timeout for s in (self.probes.reachability, self.probes.snmp, self.probes.onvif,
                                          self.probes.vendor_http, self.probes.snapshot))
        return longest + CLOCK_TOLERANCE_SECONDS

    @property
    def database_location(self) -> URL:
        """The store's URL, read (from the environment or a file if so configured) and checked; ConfigError if unusable."""
        if self.database_url is None:
            return URL.create("sqlite", database=str(self.data_dir / "fleetmon.db"))
        text = self.database_url.resolve().get_secret_value()
        try:
            return parse_database_url(text)
        except ValueError as exc:
            raise ConfigError(f"database_url ({self.database_url}): {exc}") from None

    @property
    def database(self) -> str:
        """The store's URL as SQLAlchemy takes it, password included: never print it, use `database_shown`."""
        return self.database_location.render_as_string(hide_password=False)

    @property
    def database_shown(self) -> str:
        return display_database_url(self.database_location)

    @model_validator(mode="after")
    def _ticket_teams_routed(self) -> Config:
        """Once teams are configured, every rule's team must be one of them: a team nobody listens to loses tickets' messages."""
        teams = self.notifications.teams
        if teams:
            named = [(f"tickets.rules.{kind}.team", self.tickets.rule(kind).team) for kind in DEFAULT_TICKET_RULES]
            named += [(f"tickets.plans.{name}.team", plan.team) for name, plan in self.tickets.plans.items()]
            for where, team in named:
                if team not in teams and team != OWNER_TEAM:
                    raise ValueError(f"{where}: no team {team!r} in notifications.teams (known: {', '.join(sorted(teams))})")
        return self

    @model_validator(mode="after")
    def _owner_channels_known(self) -> Config:
        first = self.tickets.owner_first
        for name in first.channels if first else ():
            if name not in self.notifications.channels:
                raise ValueError(f"tickets.owner_first.channels: no channel named {name!r} in notifications.channels")
        return self

    def profile(self, name: str) -> CredentialProfile | None:
        return self.credentials.get(name or self.default_credentials or "")


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{source}: {key}: {message}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> Config:
    """Validate a parsed YAML document; errors become one line per problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what, without PyYAML's quote of the line: that line may hold a secret."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "syntax error"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def load_config(path: Path | None) -> Config:
    """Read `path`, or $FLEETMON_CONFIG, or ./fleetmon.yaml; no file at all gives the defaults.

    A relative data_dir is taken relative to the config file, so a service started from any
    directory finds the same data.
    """
    explicit = path is not None or CONFIG_ENV in os.environ
    chosen = path or Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
    if not chosen.exists():
        if explicit:
            raise ConfigError(f"{chosen}: no such config file (create one with `fleetmon init`)")
        return Config()
    try:
        data = yaml.safe_load(chosen.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{chosen}: not valid YAML: {_yaml_problem(exc)}") from None
    config = parse_config(data, str(chosen))
    if not config.data_dir.is_absolute():
        config = config.model_copy(update={"data_dir": chosen.resolve().parent / config.data_dir})
    return config
