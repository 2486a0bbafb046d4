"""What a probe is given: where the device is and how to log in, secrets already resolved.

Probes never read configuration or the store; the caller builds a `Target` from an inventory
`Device` and a credential profile (`fleetmon.config`), or from command-line options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr

AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]

# Each protocol's standard port: the one place that says so (inventory rows without a port get these).
DEFAULT_PORTS: dict[str, int] = {"onvif_port": 80, "rtsp_port": 554, "snmp_port": 161, "http_port": 80}
PrivProtocol = Literal["des", "aes", "aes192", "aes256"]


@dataclass(frozen=True, slots=True)
class SnmpV2c:
    community: SecretStr
    ports: tuple[str, ...] = ()  # interface names (globs) whose going down is a fault; empty: any port that carried traffic


@dataclass(frozen=True, slots=True)
class SnmpV3:
    """USM user; no auth key means noAuthNoPriv, no priv key means authNoPriv."""

    user: str
    auth_protocol: AuthProtocol = "sha"
    auth_key: SecretStr | None = None
    priv_protocol: PrivProtocol = "aes"
    priv_key: SecretStr | None = None
    context: str = ""  # contextName: agents that serve several contexts, proxies in front of recorders
    ports: tuple[str, ...] = ()  # as SnmpV2c.ports

    @property
    def level(self) -> str:
        if self.auth_key is None:
            return "noAuthNoPriv"
        return "authPriv" if self.priv_key is not None else "authNoPriv"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Secrets are `SecretStr`: printing a target or a result never shows them."""

    username: str = ""
    password: SecretStr | None = None
    snmp: SnmpV2c | SnmpV3 | None = None
    correct_clock: bool = False  # the profile allows fleetmon to set a drifting clock
    ntp_server: str | None = None  # ...by pointing the device at this NTP server, else by setting the time


@dataclass(frozen=True, slots=True)
class Target:
    device_id: str
    host: str
    onvif_port: int = DEFAULT_PORTS["onvif_port"]
    rtsp_port: int = DEFAULT_PORTS["rtsp_port"]
    snmp_port: int = DEFAULT_PORTS["snmp_port"]
    http_port: int = DEFAULT_PORTS["http_port"]
    credentials: Credentials = field(default_factory=Credentials)
    timeout: float = 5.0
    vendor: str = ""
    kind: str = ""
    serial: str = ""  # as the inventory records it: a different one answering means a swapped unit
    model: str = ""  # as the inventory records it, the same way
    # A clock further off than this is set right when `credentials.correct_clock` allows; None: never.
    # The caller passes its configured limit (`monitor.clock_skew_limit`), so probes read no config.
    clock_skew_limit: float | None = None
