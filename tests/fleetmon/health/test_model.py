"""A device's probe counters, packed: what the exporter and the console read back from them."""

from __future__ import annotations

import pytest

from fleetmon.health.model import NO_PROBES, STATUSES, DeviceStatus, ProbeLedger, ProbeStats
from fleetmon.probes.result import ProbeStatus


def test_counters_read_back_as_the_probes_ran() -> None:
    ledger = (NO_PROBES.recorded("reachability", ProbeStatus.OK, 1000.0, 0.012)
              .recorded("onvif", ProbeStatus.TIMEOUT, 1001.5, 5.0)
              .recorded("reachability", ProbeStatus.OK, 1060.25, 0.034)
              .recorded("onvif", ProbeStatus.AUTH_FAILED, 1061.0, 0.2)
              .recorded("onvif", ProbeStatus.TIMEOUT, 1062.0, 5.0))

    assert list(ledger) == ["reachability", "onvif"]
    assert ledger["reachability"] == ProbeStats(last_status=ProbeStatus.OK, last_success=1060.25, last_duration=0.034,
                                                runs=2, fail_streak=0)
    onvif = ledger["onvif"]
    assert (onvif.last_status, onvif.last_success, onvif.runs, onvif.fail_streak) == (ProbeStatus.TIMEOUT, None, 3, 3)
    assert dict(onvif.failures) == {"timeout": 2, "auth_failed": 1}
    assert ledger.get("snmp") is None
    with pytest.raises(KeyError):
        ledger["snmp"]


def test_a_success_ends_the_fail_streak_and_keeps_the_failure_counts() -> None:
    ledger = NO_PROBES.recorded("snmp", ProbeStatus.TIMEOUT, 10.0, 2.0).recorded("snmp", ProbeStatus.TIMEOUT, 70.0, 2.0)
    ledger = ledger.recorded("snmp", ProbeStatus.OK, 130.0, 0.05)

    assert (ledger["snmp"].fail_streak, ledger["snmp"].last_success, dict(ledger["snmp"].failures)) == (0, 130.0, {"timeout": 2})


def test_a_reader_keeps_what_it_read_while_the_monitor_records_more() -> None:
    status = DeviceStatus()
    status.probes = status.probes.recorded("reachability", ProbeStatus.OK, 10.0, 0.01)
    read = status.probes  # a scrape on another thread holds this

    status.probes = status.probes.recorded("reachability", ProbeStatus.REFUSED, 70.0, 0.01)

    assert read["reachability"].runs == 1 and read["reachability"].last_status is ProbeStatus.OK
    assert status.probes["reachability"].runs == 2 and dict(read["reachability"].failures) == {}


def test_devices_start_from_shared_empties_and_never_change_them() -> None:
    a, b = DeviceStatus(), DeviceStatus()
    a.probes = a.probes.recorded("rtsp", ProbeStatus.OK, 1.0, 0.1)

    assert len(b.probes) == 0 and b.probes is NO_PROBES and dict(b.problems) == {}


def test_a_ledger_built_from_stats_reads_back_the_same() -> None:
    stats = {"snmp": ProbeStats(ProbeStatus.REFUSED, 99.5, 0.25, 4000, 3, {"refused": 3}),
             "reachability": ProbeStats(ProbeStatus.OK, 120.0, 0.001, 4_000_000_000, 0)}

    assert dict(ProbeLedger.of(stats).items()) == stats


def test_a_scrape_reads_the_same_from_the_packed_records() -> None:
    ledger = NO_PROBES.recorded("snmp", ProbeStatus.TIMEOUT, 10.0, 3.0).recorded("rtsp", ProbeStatus.OK, 11.0, 0.2)

    assert [(probe, None if success != success else success, duration, runs, streak, STATUSES[code])
            for probe, (success, duration, runs, streak, code) in ledger.records()] == [
        ("snmp", None, 3.0, 1, 1, ProbeStatus.TIMEOUT), ("rtsp", 11.0, 0.2, 1, 0, ProbeStatus.OK)]
