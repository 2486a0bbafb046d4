"""The one place that bounds an HTTP exchange with a device.

httpx's own timeouts are per operation: a device that drips one byte every half second never
trips a read timeout, and one that sends 50 MB is read whole. `fetch_bounded` therefore puts a
total deadline over the whole exchange and streams the body, aborting past `max_bytes`, and it
translates every httpx/OS failure and HTTP status into a `ProbeStatus` here, once:

    TimeoutError, httpx.TimeoutException        -> timeout   (includes the total deadline)
    httpx.ConnectError / OSError with an errno  -> refused | unreachable (see reachability)
    httpx.RemoteProtocolError, other transport  -> protocol_error (garbage, reset mid-answer)
    HTTP 401, 403                               -> auth_failed
    HTTP 404, 405, 501                          -> not_supported
    any other non-2xx, body over max_bytes      -> protocol_error
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from fleetmon.probes.reachability import status_of_os_error
from fleetmon.probes.result import ProbeStatus

# Everything a device can make httpx (or the socket below it) raise; one edit if httpx changes.
HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError, httpx.DecodingError, OSError, TimeoutError)

_STATUS_OF_HTTP: dict[int, ProbeStatus] = {
    401: ProbeStatus.AUTH_FAILED,
    403: ProbeStatus.AUTH_FAILED,
    404: ProbeStatus.NOT_SUPPORTED,
    405: ProbeStatus.NOT_SUPPORTED,
    501: ProbeStatus.NOT_SUPPORTED,
}


@dataclass(frozen=True, slots=True)
class BoundedResponse:
    """How an exchange ended; `body` is complete only when `status` is ok."""

    status: ProbeStatus
    http_status: int = 0
    body: bytes = b""
    content_type: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is ProbeStatus.OK


class _TooLarge(Exception):
    """Raised inside the stream loop so the connection is dropped, not drained."""


async def fetch_bounded(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    auth: httpx.Auth | None,
    timeout: float,
    max_bytes: int,
) -> BoundedResponse:
    """One request, finished or abandoned within `timeout` seconds and `max_bytes` of body."""
    try:
        async with asyncio.timeout(timeout):
            return await _exchange(client, method, url, auth, timeout, max_bytes)
    except _TooLarge as exc:
        return BoundedResponse(ProbeStatus.PROTOCOL_ERROR, error=str(exc))
    except HTTP_ERRORS as exc:
        return BoundedResponse(classify_error(exc), error=_describe(exc, timeout))


async def _exchange(
    client: httpx.AsyncClient, method: str, url: str, auth: httpx.Auth | None, timeout: float, max_bytes: int
) -> BoundedResponse:
    async with client.stream(method, url, auth=auth, timeout=timeout) as response:
        status = _status_of_http(response.status_code)
        content_type = response.headers.get("content-type", "")
        if status is not ProbeStatus.OK:
            return BoundedResponse(status, response.status_code, content_type=content_type,
                                   error=f"HTTP {response.status_code} {response.reason_phrase}".strip())
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _TooLarge(f"body of {declared} bytes exceeds the limit of {max_bytes}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > max_bytes:
                raise _TooLarge(f"body exceeds the limit of {max_bytes} bytes")
            chunks.append(chunk)
        return BoundedResponse(status, response.status_code, b"".join(chunks), content_type)


def _status_of_http(code: int) -> ProbeStatus:
    if 200 <= code < 300:
        return ProbeStatus.OK
    return _STATUS_OF_HTTP.get(code, ProbeStatus.PROTOCOL_ERROR)


def classify_error(exc: BaseException) -> ProbeStatus:
    """The status of a failed exchange; an errno found down the cause chain decides connects."""
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return ProbeStatus.TIMEOUT
    if isinstance(exc, (httpx.ConnectError, OSError)):
        os_error = _os_error_in_chain(exc)
        return ProbeStatus.UNREACHABLE if os_error is None else status_of_os_error(os_error)
    return ProbeStatus.PROTOCOL_ERROR


def _os_error_in_chain(exc: BaseException) -> OSError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno is not None:
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _describe(exc: BaseException, timeout: float) -> str:
    """Error text without URLs' userinfo or headers: only the failure's class and message."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"no complete answer within {timeout:g} s"
    return f"{type(exc).__name__}: {exc}"
