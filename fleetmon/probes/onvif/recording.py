"""What a recorder holds, per channel, through ONVIF Profile G's search service.

FindRecordings opens a search over every recording; GetRecordingSearchResults is asked until the
search says Completed (bounded by `MAX_RESULT_PAGES` and the probe's deadline); EndSearch frees
it on the device. Each recording's EarliestRecording is the oldest footage still on the disks
(the retention horizon) and LatestRecording the newest: one that stops advancing is a recorder
that stopped recording.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fleetmon.probes.onvif.client import DeviceSession, OnvifCallError

MAX_RESULT_PAGES = 20
KEEP_ALIVE = "PT10S"


@dataclass(frozen=True, slots=True)
class Recording:
    token: str
    channel: str  # the recorded source (camera) as the recorder names it
    earliest: dt.datetime | None
    latest: dt.datetime | None
    status: str  # ONVIF RecordingStatus: Recording, Stopped, Initiated, Removing, Unknown...

    def age_seconds(self, now: dt.datetime) -> float | None:
        """How old the newest footage is, as of `now` (in the device's clock)."""
        return (now - self.latest).total_seconds() if self.latest is not None else None

    def horizon_days(self, now: dt.datetime) -> float | None:
        """How far back the footage reaches."""
        return (now - self.earliest).total_seconds() / 86400 if self.earliest is not None else None


def _aware(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _recording(info: Any) -> Recording:
    source = getattr(info, "Source", None)
    channel = (getattr(source, "SourceId", None) or getattr(source, "Name", None) or "") if source else ""
    return Recording(token=str(getattr(info, "RecordingToken", "") or ""), channel=str(channel),
                     earliest=_aware(getattr(info, "EarliestRecording", None)),
                     latest=_aware(getattr(info, "LatestRecording", None)),
                     status=str(getattr(info, "RecordingStatus", "") or "Unknown"))


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
