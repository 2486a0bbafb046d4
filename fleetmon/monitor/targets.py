"""From inventory devices to probe targets: ports with their defaults, credentials resolved once,
the configured clock skew limit (beyond it, a profile with `correct_clock` has the clock set)."""

from __future__ import annotations

from fleetmon.config import Config, ConfigError
from fleetmon.inventory.model import Device
from fleetmon.inventory.vendors import firmware_family
from fleetmon.probes.target import Credentials, Target


class TargetBuilder:
    """Resolves each credential profile once (secrets are read from env or files) and reuses it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._credentials: dict[str, Credentials] = {}

    def reset(self) -> None:
        self._credentials.clear()

    def credentials(self, profile_name: str) -> Credentials:
        key = profile_name or self.config.default_credentials or ""
        if key not in self._credentials:
            profile = self.config.profile(key)
            if profile is None and key:
                raise ConfigError(f"no credential profile named {key!r} (used by the inventory)")
            self._credentials[key] = profile.resolve() if profile else Credentials()
        return self._credentials[key]

    def target(self, device: Device, timeout: float) -> Target:
        return Target(
            device_id=device.id,
            host=device.host,
            onvif_port=device.port("onvif_port"),
            rtsp_port=device.port("rtsp_port"),
            snmp_port=device.port("snmp_port"),
            http_port=device.port("http_port"),
            credentials=self.credentials(device.credential_profile),
            timeout=timeout,
            vendor=firmware_family(device.vendor),
            kind=device.kind.value,
            serial=device.serial,
            model=device.model,
            clock_skew_limit=self.config.monitor.clock_skew_limit,
        )
