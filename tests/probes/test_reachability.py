"""Reachability against real loopback sockets: open, closed, never-accepting ports and ICMP echo."""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Iterator

import pytest

from fleetmon.probes.reachability import icmp_check, probe_reachability, status_of_os_error, tcp_check
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Target
from tests.peers import free_port


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def never_accepting() -> Iterator[int]:
    """A listener whose accept queue is full: the kernel drops further SYNs, like a blackhole."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        port = sock.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        time.sleep(0.05)
        try:
            yield port
        finally:
            for filler in fillers:
                filler.close()


async def test_open_port_is_ok_with_latency(listener: int) -> None:
    check = await tcp_check("127.0.0.1", listener, "onvif", 1.0)
    assert check.status is ProbeStatus.OK
    assert check.latency_seconds is not None and 0 < check.latency_seconds < 1.0


async def test_closed_port_is_refused() -> None:
    check = await tcp_check("127.0.0.1", free_port(), "rtsp", 1.0)
    assert check.status is ProbeStatus.REFUSED
    assert check.error == "Connection refused"


async def test_port_that_never_accepts_times_out_within_bound(never_accepting: int) -> None:
    started = time.perf_counter()
    check = await tcp_check("127.0.0.1", never_accepting, "onvif", 0.3)
    assert check.status is ProbeStatus.TIMEOUT
    assert time.perf_counter() - started < 0.3 + 0.2


@pytest.mark.parametrize("code", [errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL])
def test_no_route_errors_are_unreachable(code: int) -> None:
    """Tests stay on loopback, which always has a route: the kernel's answer is fed in directly."""
    assert status_of_os_error(OSError(code, os.strerror(code))) is ProbeStatus.UNREACHABLE


async def test_icmp_echo_to_loopback_or_the_reason_it_is_not_allowed() -> None:
    check = await icmp_check("127.0.0.1", 1.0)
    if check.status is ProbeStatus.NOT_SUPPORTED:
        assert "ping_group_range" in check.error and "CAP_NET_RAW" in check.error
    else:
        assert check.status is ProbeStatus.OK
        assert check.latency_seconds is not None and check.latency_seconds < 1.0


async def test_device_probe_names_the_failing_port_and_stays_up(listener: int) -> None:
    rtsp = free_port()
    target = Target("cam-1", "127.0.0.1", onvif_port=listener, http_port=listener, rtsp_port=rtsp, timeout=1.0)
    result = await probe_reachability(target, icmp=False)
    assert result.status is ProbeStatus.OK
    assert [(c.name, c.status) for c in result.checks] == [
        (f"onvif/http:{listener}", ProbeStatus.OK), (f"rtsp:{rtsp}", ProbeStatus.REFUSED)]
    assert result.error == f"rtsp:{rtsp} refused: Connection refused"
    assert result.latency_seconds is not None


async def test_device_with_nothing_answering_reports_the_most_telling_failure(never_accepting: int) -> None:
    target = Target("cam-2", "127.0.0.1", onvif_port=never_accepting, http_port=never_accepting,
                    rtsp_port=free_port(), timeout=0.3)
    started = time.perf_counter()
    result = await probe_reachability(target, icmp=False)
    assert result.status is ProbeStatus.REFUSED
    assert {c.status for c in result.checks} == {ProbeStatus.TIMEOUT, ProbeStatus.REFUSED}
    assert time.perf_counter() - started < 0.3 + 0.2
