"""From ONVIF findings to what a technician reads: swapped units, footage, clocks, the stream."""

from __future__ import annotations

import dataclasses
import datetime as dt

from fleetmon.config import MonitorConfig
from fleetmon.health.machine import Policy, apply
from fleetmon.health.model import DeviceStatus, Health
from fleetmon.monitor.observe import failed, onvif, snapshot, snmp
from fleetmon.probes.camera import LOGIN_REFUSED
from fleetmon.probes.findings import DeviceIdentity, Disk, Recording, Volume
from fleetmon.probes.http.snapshot import SnapshotResult
from fleetmon.probes.onvif.probe import OnvifResult
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.rtsp import RtspResult
from fleetmon.probes.snmp.probe import Identity, SnmpResult
from fleetmon.probes.target import Target

RULES = MonitorConfig()
NVR = Target("nvr-1", "127.0.0.1")


def found(**facts: object) -> OnvifResult:
    return OnvifResult(device_id="nvr-1", probe="onvif", status=ProbeStatus.OK, duration_seconds=0.2, **facts)  # type: ignore[arg-type]


def channel(name: str, newest_minutes_ago: float, days_held: float) -> Recording:
    """Footage as of now (not the module's import: a long run would age it by the time the test runs)."""
    now = dt.datetime.now(dt.UTC)
    return Recording(token=name, channel=name, earliest=(now - dt.timedelta(days=days_held)).timestamp(),
                     latest=(now - dt.timedelta(minutes=newest_minutes_ago)).timestamp(), status="Recording")


def test_a_unit_answering_with_another_serial_is_named_as_swapped() -> None:
    target = Target("cam-1", "127.0.0.1", serial="DS-2CD2043-001")
    result = found(identity=DeviceIdentity("Hikvision", "DS-2CD2043", "V5.7", "DS-2CD2043-999", ""))
    [problem] = onvif(result, target, RULES).problems
    assert "serial DS-2CD2043-999" in problem and "DS-2CD2043-001" in problem and "swapped" in problem
    same = found(identity=DeviceIdentity("Hikvision", "DS-2CD2043", "V5.7", "DS-2CD2043-001", ""))
    assert onvif(same, target, RULES).problems == ()


def test_a_unit_answering_as_another_model_is_drift_but_spelling_is_not() -> None:
    target = Target("cam-1", "127.0.0.1", model="Hikvision DS-2CD2143G2-I")
    other = found(identity=DeviceIdentity("Dahua", "IPC-HFW2431S", "V2.8", "", ""))
    [problem] = onvif(other, target, RULES).problems
    assert problem.key == "unit_swapped:model"
    assert "model IPC-HFW2431S answers" in problem and "Hikvision DS-2CD2143G2-I" in problem
    for spelling in ("ds-2cd2143g2-i", "DS 2CD2143G2 I", "DS-2CD2143G2"):  # case, spaces, the family the unit gives
        same = found(identity=DeviceIdentity("HIKVISION", spelling, "V5.7", "", ""))
        assert onvif(same, target, RULES).problems == (), spelling
    assert onvif(other, Target("cam-1", "127.0.0.1"), RULES).problems == ()  # no model recorded: nothing to compare


def test_a_swap_is_told_the_same_way_over_snmp_as_over_onvif() -> None:
    target = Target("nvr-1", "127.0.0.1", serial="2M00D2APAZTL999", model="DHI-NVR4216")
    over_snmp = SnmpResult(device_id="nvr-1", probe="snmp", status=ProbeStatus.OK, duration_seconds=0.1,
                           identity=Identity(vendor="Dahua", model="DHI-NVR5216", serial="2M00D2APAZTL62J"))
    over_onvif = found(identity=DeviceIdentity("Dahua", "DHI-NVR5216", "V4", "2M00D2APAZTL62J", ""))
    told = snmp(over_snmp, target, RULES).problems
    assert [p.key for p in told] == ["unit_swapped:serial", "unit_swapped:model"]
    assert told == onvif(over_onvif, target, RULES).problems


def test_footage_stopped_and_short_retention_are_told_per_group_of_channels() -> None:
    target = Target("nvr-1", "127.0.0.1")
    result = found(recordings=[channel("cam-1", 1, 31), channel("cam-2", 240, 31), channel("cam-3", 300, 31),
                               channel("cam-4", 2, 12), channel("cam-5", 1, 29.5)])
    problems = onvif(result, target, RULES).problems
    assert problems == ("recording stopped on 2 channels (cam-2, cam-3): newest footage 5.0 h old",
                        "only 12.0 days of footage on channel cam-4 (required 30)")  # 29.5 days is daily churn


def test_a_clock_beyond_the_limit_and_a_dead_stream_are_problems() -> None:
    target = Target("cam-1", "127.0.0.1")
    stream = RtspResult(device_id="cam-1", probe="rtsp", status=ProbeStatus.TIMEOUT, duration_seconds=1.0)
    problems = onvif(found(clock_skew_seconds=-400.0), target, RULES, stream).problems
    assert problems == ("clock 400 s behind: footage times are wrong", "video stream: not answering")
    assert onvif(found(clock_skew_seconds=30.0), target, RULES).problems == ()


def test_the_clock_limit_is_the_same_for_snmp_as_for_onvif() -> None:
    target = Target("nvr-1", "127.0.0.1")
    rules = MonitorConfig(clock_skew_limit=90.0)
    for skew, expected in ((-100.0, ("clock 100 s behind: footage times are wrong",)), (80.0, ())):
        over_snmp = SnmpResult(device_id="nvr-1", probe="snmp", status=ProbeStatus.OK, duration_seconds=0.1,
                               clock_skew_seconds=skew)
        assert snmp(over_snmp, target, rules).problems == expected
        assert onvif(found(clock_skew_seconds=skew), target, rules).problems == expected


def test_volume_fill_is_judged_against_the_configured_percentage() -> None:
    volumes = [Volume("/mnt/hdd1", 1000, 960), Volume("/mnt/hdd2", 1000, 900)]
    result = SnmpResult(device_id="nvr-1", probe="snmp", status=ProbeStatus.OK, duration_seconds=0.1, volumes=volumes,
                        disks=[Disk("2", "HDD2", "failed", "abnormal")])
    assert snmp(result, NVR, RULES).problems == ("disk 2 (HDD2): failed (abnormal)", "volume /mnt/hdd1 96 % full")
    assert snmp(result, NVR, MonitorConfig(volume_full_percent=90)).problems[1:] == (
        "volume /mnt/hdd1 96 % full", "volume /mnt/hdd2 90 % full")


def test_a_degraded_unit_whose_numbers_move_writes_no_state_change_until_its_problems_change() -> None:
    """Issue 11: a clock 100 s ahead, then 101 s, with recording stopped for ever longer, is one degradation."""
    target, status, policy = Target("nvr-1", "127.0.0.1"), DeviceStatus(), Policy()
    changes = []
    for minute, skew, stopped_hours in ((0, 100.0, 5), (5, 101.0, 5.1), (10, 103.0, 5.2), (15, 103.0, 0)):
        result = found(clock_skew_seconds=skew, recordings=[channel("cam-1", stopped_hours * 60, 31)])
        obs = dataclasses.replace(onvif(result, target, RULES), at=minute * 60.0)
        changes.append(apply(status, obs, policy, liveness=True))
    first, *moving, recovered = changes
    assert first is not None and first.new is Health.DEGRADED and "recording stopped" in first.reason
    assert moving == [None, None]
    assert recovered is not None and recovered.reason == "clock 103 s ahead: footage times are wrong"


def test_a_refused_login_is_one_problem_not_one_more_for_the_snapshot_not_tried() -> None:
    status, policy = DeviceStatus(state=Health.UP), Policy()
    refused = OnvifResult(device_id="cam-1", probe="onvif", status=ProbeStatus.AUTH_FAILED, duration_seconds=0.1, error="HTTP 401")
    untried = SnapshotResult(device_id="cam-1", probe="snapshot", status=ProbeStatus.AUTH_FAILED, duration_seconds=0.1,
                             error=LOGIN_REFUSED)
    for _ in range(policy.down_after):
        apply(status, failed(refused, "ONVIF"), policy, liveness=False)
        apply(status, snapshot(untried), policy, liveness=False)
    assert status.state is Health.DEGRADED
    assert status.reasons == ("ONVIF: rejecting fleetmon's login (password changed?)",)
    fetched = dataclasses.replace(untried, url="http://127.0.0.1/snap.jpg", error="HTTP 401")  # tried, and refused: its own problem
    assert snapshot(fetched).problems == ("snapshot: rejecting fleetmon's login (password changed?)",)
