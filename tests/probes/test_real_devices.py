"""The SNMP probe against recordings of real devices nobody here wrote, held to what each unit is.

Every recording in `tests/data/snmprec/` is served by snmpsim (a third-party agent) and probed as
a technician's inventory would name it (its kind, not its brand: the vendor is learnt). The truth
beside the recordings (`truth.yaml`, written from the recordings and their MIBs) says what each
unit is and what is wrong with it; for every one: no crash, alive, no problem the truth does not
list, its identity as the truth says, every listed fault found.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from fleetmon.config import CredentialProfile, MonitorConfig
from fleetmon.monitor import observe
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.snmp.client import SnmpClient
from fleetmon.probes.snmp.probe import SnmpResult, probe_snmp
from fleetmon.probes.target import Credentials, SnmpV2c, SnmpV3, Target
from tests.peers import data_file
from tests.snmpsim_peer import V3_AUTH_KEY, V3_PRIV_KEY, V3_USER, serve_recordings

TRUTH: dict[str, dict[str, Any]] = yaml.safe_load(data_file("snmprec", "truth.yaml").read_text(encoding="utf-8"))
KIND = {"camera": "camera", "nvr": "nvr", "switch": "switch", "host": "other", "other": "other"}
V3 = SnmpV3(V3_USER, "sha", SecretStr(V3_AUTH_KEY), "aes", SecretStr(V3_PRIV_KEY))


@pytest.fixture(scope="module")
def snmpsim() -> Iterator[int]:
    with serve_recordings() as port:
        yield port


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with AsyncExitStack() as stack:
        yield await SnmpClient.start(stack)


def target(port: int, recording: str, snmp: SnmpV2c | SnmpV3 | None = None) -> Target:
    return Target(recording, "127.0.0.1", snmp_port=port, timeout=5, kind=KIND[TRUTH[recording]["kind"]],
                  credentials=Credentials(snmp=snmp or SnmpV2c(SecretStr(recording))))


# The clock and volume fill are measurements the monitor judges against the configuration (its
# defaults here); the probe's own words cover what the unit itself says is wrong.
CLOCK_LIMIT_SECONDS = MonitorConfig().clock_skew_limit
VOLUME_FULL_PERCENT = 95.0  # the monitor's default


def _clock(result: SnmpResult) -> float | None:
    """The measured clock offset (device minus ours), under either of the names it has had."""
    return getattr(result, "clock_skew_seconds", getattr(result, "clock_offset_seconds", None))


def _is_fault_of(problem: str, fault: dict[str, Any]) -> bool:
    if "port" in fault:
        return problem == f"port {fault['port']} down"
    if "disk" in fault:
        return problem.startswith((f"disk {fault['disk']}:", f"disk {fault['disk']} ("))
    if "sensor" in fault:
        return problem.startswith(f"{fault['sensor']}:")
    return False


def test_the_corpus_is_what_the_issue_asks_for() -> None:
    recordings = {path.stem for path in data_file("snmprec").glob("*.snmprec")}
    assert recordings == set(TRUTH), "every recording has its truth and every truth its recording"
    cameras = [t for t in TRUTH.values() if t["kind"] in ("camera", "nvr")]
    assert len(cameras) >= 15 and len(TRUTH) >= 25
    assert {"hikvision", "dahua", "axis", "bosch", "hanwha", "vivotek", "illustra"} <= {t["vendor"] for t in cameras}
    assert {"mikrotik", "tp-link", "cisco"} <= {t["vendor"] for t in TRUTH.values() if t["kind"] == "switch"}
    assert any(t["kind"] == "host" and t["vendor"] == "net-snmp" for t in TRUTH.values())


@pytest.mark.parametrize("recording", sorted(TRUTH))
async def test_real_device(snmpsim: int, client: SnmpClient, recording: str) -> None:
    truth = TRUTH[recording]
    result: SnmpResult = await probe_snmp(target(snmpsim, recording), client)

    # Alive: a unit that answers SNMP is never down, whatever it leaves out.
    assert result.status is ProbeStatus.OK and result.ok, f"{result.status}: {result.error}"
    assert truth["state"] == "alive"

    # Identity as the unit states it.
    assert result.vendor == truth["vendor"]
    for key in ("model", "serial", "firmware"):
        if key in truth:
            assert str(truth[key]).lower() in getattr(result.identity, key).lower(), (key, result.identity)
    assert result.uptime_seconds == truth["uptime"]

    # Every listed fault found, and nothing else.
    faults = truth["faults"] or []
    full = {v.name: v.used_percent for v in result.volumes if v.used_percent >= VOLUME_FULL_PERCENT}
    assert full.keys() == {f["volume"] for f in faults if "volume" in f}, f"volumes found full on {recording}: {full}"
    for fault in faults:
        if "volume" in fault:
            assert abs(full[fault["volume"]] - fault["used_percent"]) < 0.1
    clock = _clock(result)
    if any("clock" in f for f in faults):
        assert clock is not None and clock < -CLOCK_LIMIT_SECONDS
    else:
        assert clock is None or abs(clock) <= CLOCK_LIMIT_SECONDS
    problems = [p for p in result.problems if not p.startswith(("clock", "volume"))]
    for fault in faults:
        if "port" in fault or "disk" in fault or "sensor" in fault:
            assert any(_is_fault_of(p, fault) for p in problems), (fault, problems)
    unexplained = [p for p in problems if not any(_is_fault_of(p, f) for f in faults)]
    assert unexplained == [], f"false alarms on {recording}"


async def test_an_enterprise_only_agent_is_learnt_from_what_it_answers(snmpsim: int, client: SnmpClient) -> None:
    """HIK-DEVICE-MIB only, no system group, no inventory brand: alive, named, and its empty card slot no fault."""
    result = await probe_snmp(target(snmpsim, "hikvision-cam"), client)
    assert result.ok and result.sys_descr == "" and result.sys_object_id == ""
    assert (result.vendor, result.identity.model) == ("hikvision", "DS-2CD2185FWD-I")
    assert result.disks == [] and result.uptime_seconds is None


async def test_uptime_falls_back_to_the_host_and_the_engine(snmpsim: int, client: SnmpClient) -> None:
    vivotek = await probe_snmp(target(snmpsim, "vivotek"), client)
    assert vivotek.uptime_source == "sysUpTime"
    dahua = await probe_snmp(target(snmpsim, "dahua-nvr"), client)
    assert dahua.uptime_source == "sysUpTime"
    bosch = await probe_snmp(target(snmpsim, "bosch"), client)
    assert (bosch.uptime_seconds, bosch.uptime_source) == (None, "")


async def test_snmpv3_context_name_picks_the_recording(snmpsim: int, client: SnmpClient) -> None:
    """snmpsim serves one device per SNMPv3 context: the probe reaches the one the credentials name."""
    routeros = await probe_snmp(target(snmpsim, "routeros", snmp=SnmpV3(**{**_fields(V3), "context": "routeros"})), client)
    assert routeros.ok and routeros.identity.serial == "71B1060EE89D"
    dahua = await probe_snmp(target(snmpsim, "dahua-nvr", snmp=SnmpV3(**{**_fields(V3), "context": "dahua-nvr"})), client)
    assert dahua.ok and dahua.identity.serial == "2M00D2APAZTL62J"


def _fields(snmp: SnmpV3) -> dict[str, Any]:
    return {name: getattr(snmp, name) for name in ("user", "auth_protocol", "auth_key", "priv_protocol", "priv_key")}


async def test_a_swapped_unit_is_told(snmpsim: int, client: SnmpClient) -> None:
    swapped = Target("dahua-nvr", "127.0.0.1", snmp_port=snmpsim, timeout=5, kind="nvr", serial="2M00D2APAZTL999",
                     credentials=Credentials(snmp=SnmpV2c(SecretStr("dahua-nvr"))))
    result = await probe_snmp(swapped, client)
    assert observe.snmp(result, swapped, MonitorConfig()).problems == (
        "unit swapped or inventory out of date: serial 2M00D2APAZTL62J answers, the inventory has 2M00D2APAZTL999",)


async def test_context_and_watched_ports_come_from_the_config(snmpsim: int, client: SnmpClient,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A v3 profile's `context` is sent and its `ports` narrow which ports are faults, as the YAML says."""
    monkeypatch.setenv("FM_AUTH", V3_AUTH_KEY)
    monkeypatch.setenv("FM_PRIV", V3_PRIV_KEY)
    profile = CredentialProfile.model_validate({"snmp": {
        "version": "3", "user": V3_USER, "auth_protocol": "sha", "auth_key": {"env": "FM_AUTH"}, "priv_protocol": "aes",
        "priv_key": {"env": "FM_PRIV"}, "context": "routeros", "ports": ["wlan2"]}})
    credentials = profile.resolve()
    result = await probe_snmp(Target("routeros", "127.0.0.1", snmp_port=snmpsim, timeout=5, kind="switch",
                                     credentials=credentials), client)
    assert result.ok and result.identity.serial == "71B1060EE89D"
    assert [p for p in result.problems if p.startswith("port")] == ["port wlan2 down"]  # wlan3 is not watched
