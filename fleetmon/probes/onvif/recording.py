"""What a recorder holds, per channel, through ONVIF Profile G's search service.

FindRecordings opens a search over every recording; GetRecordingSearchResults is asked until the
search says Completed (bounded by `MAX_RESULT_PAGES` and the probe's deadline); EndSearch frees
it on the device. Each recording's EarliestRecording is the oldest footage still on the disks
(the retention horizon) and LatestRecording the newest: one that stops advancing is a recorder
that stopped recording. Found as `fleetmon.probes.findings.Recording`, times in the device's clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fleetmon.probes.findings import Recording
from fleetmon.probes.onvif.client import DeviceSession, OnvifCallError
from fleetmon.probes.text import plain_text

MAX_RESULT_PAGES = 20
KEEP_ALIVE = "PT10S"


def _seconds(value: Any) -> float | None:
    """Unix seconds of an xs:dateTime (one without a zone is UTC, as ONVIF sends them)."""
    if not isinstance(value, dt.datetime):
        return None
    try:  # zeep keeps a zone like +99:99, which only fails here
        return (value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)).timestamp()
    except (ValueError, OverflowError):
        return None


def _recording(info: Any) -> Recording:
    source = getattr(info, "Source", None)
    channel = (getattr(source, "SourceId", None) or getattr(source, "Name", None) or "") if source else ""
    return Recording(token=plain_text(str(getattr(info, "RecordingToken", "") or "")), channel=plain_text(str(channel)),
                     earliest=_seconds(getattr(info, "EarliestRecording", None)),
                     latest=_seconds(getattr(info, "LatestRecording", None)),
                     status=plain_text(str(getattr(info, "RecordingStatus", "") or "")) or "Unknown")


async def find_recordings(session: DeviceSession) -> list[Recording]:
    """Every recording the device reports; raises `OnvifCallError` as any call does."""
    token = await session.call("search", "FindRecordings", {"Scope": {}, "KeepAliveTime": KEEP_ALIVE})
    found: list[Recording] = []
    for _ in range(MAX_RESULT_PAGES):
        page = await session.call("search", "GetRecordingSearchResults", {"SearchToken": token, "WaitTime": "PT1S"})
        found.extend(_recording(info) for info in getattr(page, "RecordingInformation", None) or [])
        if getattr(page, "SearchState", "Completed") == "Completed":
            break
    try:  # not in a `finally`: after the deadline nothing more is sent; the search expires on the device
        await session.call("search", "EndSearch", {"SearchToken": token})
    except OnvifCallError:
        pass
    return found
