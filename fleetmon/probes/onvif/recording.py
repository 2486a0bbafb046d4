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

from lxml import etree

from fleetmon.probes.findings import Recording
from fleetmon.probes.onvif import soap
from fleetmon.probes.onvif.client import DeviceSession, OnvifCallError
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.text import plain_text

MAX_RESULT_PAGES = 20
KEEP_ALIVE = "PT10S"
FIND_RECORDINGS = soap.Request("FindRecordings", soap.SEARCH, f"<Scope/><KeepAliveTime>{KEEP_ALIVE}</KeepAliveTime>")


def _seconds(value: Any) -> float | None:
    """Unix seconds of an xs:dateTime (one without a zone is UTC, as ONVIF sends them)."""
    if not isinstance(value, dt.datetime):
        return None
    try:  # zeep keeps a zone like +99:99, which only fails here
        return (value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)).timestamp()
    except (ValueError, OverflowError):
        return None


def _recording(token: Any, source: tuple[Any, Any] | None, earliest: Any, latest: Any, status: Any) -> Recording:
    """One RecordingInformation; `source` is its (SourceId, Name), None when it has no Source."""
    channel = (source[0] or source[1] or "") if source is not None else ""
    return Recording(token=plain_text(str(token or "")), channel=plain_text(str(channel)), earliest=_seconds(earliest),
                     latest=_seconds(latest), status=plain_text(str(status or "")) or "Unknown")


def _zeep_page(page: Any) -> tuple[list[Recording], Any]:
    """A ResultList as zeep read it: its recordings and SearchState."""
    found = []
    for info in getattr(page, "RecordingInformation", None) or []:
        source = getattr(info, "Source", None)
        found.append(_recording(getattr(info, "RecordingToken", None),
                                (getattr(source, "SourceId", None), getattr(source, "Name", None)) if source else None,
                                getattr(info, "EarliestRecording", None), getattr(info, "LatestRecording", None),
                                getattr(info, "RecordingStatus", None)))
    return found, getattr(page, "SearchState", "Completed")


def _lean_page(answer: etree._Element) -> tuple[list[Recording], Any]:
    """A GetRecordingSearchResultsResponse read by `soap`: as `_zeep_page` reads zeep's."""
    page = soap.child(answer, "ResultList")
    found = []
    for info in soap.children(page, "RecordingInformation"):
        source = soap.child(info, "Source")
        found.append(_recording(soap.text(soap.child(info, "RecordingToken")),
                                (soap.text(soap.child(source, "SourceId")), soap.text(soap.child(source, "Name")))
                                if source is not None else None,
                                soap.date_time(soap.child(info, "EarliestRecording")),
                                soap.date_time(soap.child(info, "LatestRecording")),
                                soap.text(soap.child(info, "RecordingStatus"))))
    return found, "Completed" if page is None else soap.text(soap.child(page, "SearchState"))


async def _call(session: DeviceSession, operation: str, params: dict[str, str]) -> Any:
    """One search operation: the lean path's answer element, or zeep's value."""
    if session.lean:
        return await session.ask("search", soap.Request(operation, soap.SEARCH, "".join(
            soap.element(name, value) for name, value in params.items())))
    return await session.call("search", operation, params)


async def find_recordings(session: DeviceSession) -> list[Recording]:
    """Every recording the device reports; raises `OnvifCallError` as any call does."""
    if session.lean:
        answer = await session.ask("search", FIND_RECORDINGS)
        token = soap.text(soap.child(answer, "SearchToken"))
        if token is None:
            raise OnvifCallError(ProbeStatus.PROTOCOL_ERROR, "FindRecordings: the answer holds no SearchToken")
    else:
        token = await session.call("search", "FindRecordings", {"Scope": {}, "KeepAliveTime": KEEP_ALIVE})
    found: list[Recording] = []
    for _ in range(MAX_RESULT_PAGES):
        page = await _call(session, "GetRecordingSearchResults", {"SearchToken": token, "WaitTime": "PT1S"})
        recordings, state = _lean_page(page) if session.lean else _zeep_page(page)
        found.extend(recordings)
        if state == "Completed":
            break
    try:  # not in a `finally`: after the deadline nothing more is sent; the search expires on the device
        await _call(session, "EndSearch", {"SearchToken": token})
    except OnvifCallError:
        pass
    return found
