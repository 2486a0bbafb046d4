"""What a probe returns. A device's fault is a result with a status, never an exception.

    ProbeStatus        how the exchange ended, as a technician would sort it
    ProbeResult        common fields of every protocol's result; each protocol subclasses it
                       with its own typed findings (disks, clock skew, image checks...)

`error` is human text for logs and the console; it never goes into a metric label and never
contains a secret.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ProbeStatus(enum.StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    PROTOCOL_ERROR = "protocol_error"
    NOT_SUPPORTED = "not_supported"


@dataclass(slots=True, kw_only=True)
class ProbeResult:
    device_id: str
    probe: str
    status: ProbeStatus
    duration_seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is ProbeStatus.OK
