"""Clock correction through ONVIF: footage stamped with a wrong time is weak evidence.

Off unless a credential profile sets `correct_clock: true`. With an NTP server the device is
pointed at it (SetNTP, then SetSystemDateAndTime with DateTimeType NTP), which keeps it right;
without one its clock is set once to our UTC time (SetSystemDateAndTime, Manual). The skew is
read before and after, so the caller can record what was done (a `ClockCorrection`). Calls are
signed with the device's own clock, as its logins require. A device's refusal is a result, never an exception.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from typing import Any, Literal

from fleetmon.probes.findings import ClockCorrection
from fleetmon.probes.onvif.client import DeviceSession, OnvifCallError, OnvifClients
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Target

DEFAULT_THRESHOLD_SECONDS = 2.0  # devices report whole seconds: below this there is nothing to fix


def _ntp_entry(server: str) -> dict[str, str]:
    try:
        version = ipaddress.ip_address(server).version
    except ValueError:
        return {"Type": "DNS", "DNSname": server}
    return {"Type": f"IPv{version}", f"IPv{version}Address": server}


def _manual_now() -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {"DateTimeType": "Manual", "DaylightSavings": False,
            "UTCDateTime": {"Date": {"Year": now.year, "Month": now.month, "Day": now.day},
                            "Time": {"Hour": now.hour, "Minute": now.minute, "Second": now.second}}}


async def correct_clock(target: Target, clients: OnvifClients, *, ntp_server: str | None = None,
                        threshold: float = DEFAULT_THRESHOLD_SECONDS) -> ClockCorrection:
    """Set the device's clock (or its NTP server) when it is off by `threshold` seconds or more."""
    session = DeviceSession(clients, target)
    before: float | None = None
    method: Literal["none", "manual", "ntp"] = "none"
    try:
        async with asyncio.timeout(target.timeout):
            before = await session.read_clock()
            if before is None or abs(before) < threshold:
                return ClockCorrection(target.device_id, ProbeStatus.OK, "none", before, before)
            if ntp_server:
                method = "ntp"
                await session.call("devicemgmt", "SetNTP", {"FromDHCP": False, "NTPManual": [_ntp_entry(ntp_server)]})
                await session.call("devicemgmt", "SetSystemDateAndTime",
                                   {"DateTimeType": "NTP", "DaylightSavings": False})
            else:
                method = "manual"
                await session.call("devicemgmt", "SetSystemDateAndTime", _manual_now())
            after = await session.read_clock()
    except TimeoutError:
        return ClockCorrection(target.device_id, ProbeStatus.TIMEOUT, method, before,
                               error=f"no complete answer within {target.timeout:g} s")
    except OnvifCallError as exc:
        return ClockCorrection(target.device_id, exc.status, method, before, error=str(exc))
    return ClockCorrection(target.device_id, ProbeStatus.OK, method, before, after)
