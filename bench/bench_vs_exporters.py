"""fleetmon against what a Prometheus shop would deploy instead: snmp_exporter and blackbox_exporter.

The same emulated fleet (the sample province of the given number of cameras, played by
`fleetmon simulate` in its own processes) is asked the same things three ways, one after another:

- fleetmon, in its own process, through the monitor's own code path (`run_sweep` of the
  reachability and SNMP kinds, results applied to the health state machine), then rendering its
  /metrics for the fleet it just probed (snapshot, render, gzip, as a scrape does): that render's
  CPU is fleetmon's share of what the exporters do, and is counted in its CPU per device;
- Debian's prometheus-snmp-exporter, driven as Prometheus drives it: one
  `/snmp?target=..&module=..` scrape per recorder (sysUpTime + hrStorageTable) and per switch
  (sysUpTime + ifTable), many in flight, gzip asked;
- Debian's prometheus-blackbox-exporter: one `/probe?target=host:port&module=tcp_connect` scrape
  per device fleetmon checks for reachability (cameras and recorders, their service port).

CPU is each process's own (user + system, from /proc), memory its resident-set growth over the
work (peak VmHWM less the resident set before), per device asked. The simulator's CPU share (of
one core) is reported for every phase, so a phase it slowed down shows. `bench/setup.sh`
installs the exporters (they are not needed by the tests).

    bench/setup.sh
    python bench/bench_vs_exporters.py --cameras 1000,14053,50000,136000 --write
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.common import ROOT, arguments, cpu_seconds, free_port, rss_bytes, write_section
from bench.fleet import COMMUNITY, bench_config, kind_devices, shard, start_simulator, sweep_kind
from fleetmon.exporters.prometheus import render
from fleetmon.health.machine import Policy
from fleetmon.health.model import DeviceStatus
from fleetmon.inventory.importer import read_devices
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.inventory.sheets import write_sheet
from fleetmon.monitor.kinds import build_kinds
from fleetmon.monitor.targets import TargetBuilder
from fleetmon.monitor.view import MonitorView
from fleetmon.probes.registry import ProbeClients
from fleetmon.process import raise_open_files_limit, tune_gc
from fleetmon.store.inventory import device_dicts

SECTION = "## Side by side: snmp_exporter and blackbox_exporter"
PLOT = ROOT / "docs" / "bench_vs_exporters.png"
SNMP_EXPORTER = "prometheus-snmp-exporter"
BLACKBOX_EXPORTER = "prometheus-blackbox-exporter"
SCRAPE_TIMEOUT = 5.0  # what Prometheus tells the exporter, in X-Prometheus-Scrape-Timeout-Seconds

SYS_UPTIME = "1.3.6.1.2.1.1.3"
HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
# (name, column, snmp_exporter type) of the tables walked, as the generator would write them.
HR_STORAGE_COLUMNS = (("hrStorageIndex", 1, "gauge"), ("hrStorageDescr", 3, "DisplayString"),
                      ("hrStorageAllocationUnits", 4, "gauge"), ("hrStorageSize", 5, "gauge"),
                      ("hrStorageUsed", 6, "gauge"), ("hrStorageAllocationFailures", 7, "counter"))
IF_COLUMNS = (("ifIndex", 1, "gauge"), ("ifDescr", 2, "DisplayString"), ("ifType", 3, "gauge"), ("ifMtu", 4, "gauge"),
              ("ifSpeed", 5, "gauge"), ("ifPhysAddress", 6, "PhysAddress48"), ("ifAdminStatus", 7, "gauge"),
              ("ifOperStatus", 8, "gauge"), ("ifLastChange", 9, "gauge"), ("ifInOctets", 10, "counter"),
              ("ifInUcastPkts", 11, "counter"), ("ifInDiscards", 13, "counter"), ("ifInErrors", 14, "counter"),
              ("ifOutOctets", 16, "counter"), ("ifOutUcastPkts", 17, "counter"), ("ifOutDiscards", 19, "counter"),
              ("ifOutErrors", 20, "counter"))
SNMP_MODULES = {DeviceKind.NVR: ("fleetmon_nvr", HR_STORAGE_ENTRY, "hrStorageIndex", HR_STORAGE_COLUMNS),
                DeviceKind.SWITCH: ("fleetmon_switch", IF_ENTRY, "ifIndex", IF_COLUMNS)}


def snmp_exporter_config() -> dict[str, Any]:
    """snmp_exporter 0.21's snmp.yml (the generator's output format), written by hand: one module per kind."""
    modules = {}
    for name, entry, index, columns in SNMP_MODULES.values():
        metrics: list[dict[str, Any]] = [{"name": "sysUpTime", "oid": SYS_UPTIME, "type": "gauge", "help": "sysUpTime"}]
        metrics += [{"name": column, "oid": f"{entry}.{number}", "type": kind, "help": column,
                     "indexes": [{"labelname": index, "type": "gauge"}]} for column, number, kind in columns]
        modules[name] = {"walk": [entry.rsplit(".", 1)[0]], "get": [f"{SYS_UPTIME}.0"], "metrics": metrics,
                         "version": 2, "auth": {"community": COMMUNITY}, "max_repetitions": 25, "retries": 3,
                         "timeout": "3s"}
    return modules


BLACKBOX_CONFIG = {"modules": {"tcp_connect": {"prober": "tcp", "timeout": "2s", "tcp": {"preferred_ip_protocol": "ip4"}}}}


@dataclasses.dataclass
class Phase:
    """One sweep of one kind of work by one party: fleetmon, or an exporter."""

    targets: int
    wall: float
    cpu: float
    simulator_share: float  # the busiest simulator process's CPU over the phase, in cores
    failed: int
    render_cpu: float = 0.0  # fleetmon only: its /metrics render for these devices


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_bytes(pid: int | str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def _simulator_share(pids: Sequence[int], before: Sequence[float], wall: float) -> float:
    return max(cpu_seconds(pid) - cpu for pid, cpu in zip(pids, before, strict=True)) / max(wall, 1e-9)


def _metrics_cost(view: MonitorView) -> float:
    """CPU of one scrape's work on fleetmon's side: snapshot, render, gzip (what /metrics does)."""
    cpu = _self_cpu()
    gzip.compress(render(view.snapshot()), compresslevel=1)
    return _self_cpu() - cpu


async def fleetmon_phases(fleet: list[Device], concurrency: int, simulators: Sequence[int]) -> dict[str, Any]:
    """fleetmon's side, run in its own process: the two sweeps, then its /metrics for what they found."""
    config = bench_config()
    statuses = {d.id: DeviceStatus() for d in fleet}
    phases: dict[str, Phase] = {}
    async with AsyncExitStack() as stack:
        clients = await ProbeClients.start(stack)
        builder = TargetBuilder(config)
        kinds = {k.name: k for k in build_kinds(config, clients) if k.name in ("snmp", "reachability")}
        gc.collect()
        rss_before = rss_bytes()
        for name in ("snmp", "reachability"):
            devices = kind_devices(kinds[name], fleet)
            sims, cpu, wall = [cpu_seconds(p) for p in simulators], _self_cpu(), time.perf_counter()
            await sweep_kind(kinds[name], devices, statuses, builder, concurrency, Policy())
            wall = time.perf_counter() - wall
            phases[name] = Phase(len(devices), wall, _self_cpu() - cpu, _simulator_share(simulators, sims, wall),
                                 sum(1 for i in devices if statuses[i].probes[name].last_status != "ok"))
        # Each device's samples are charged to the comparison it belongs to: recorders and
        # switches to SNMP's, cameras to the TCP connect's.
        snmp_ids = set(kind_devices(kinds["snmp"], fleet))
        for name, ids in (("snmp", snmp_ids), ("reachability", set(statuses) - snmp_ids)):
            view = MonitorView("bench", devices={d.id: d for d in fleet if d.id in ids},
                               statuses={i: s for i, s in statuses.items() if i in ids})
            phases[name].render_cpu = _metrics_cost(view)
    return {"phases": {k: dataclasses.asdict(v) for k, v in phases.items()},
            "rss_growth": peak_rss_bytes("self") - rss_before}


def run_fleetmon(fleet: list[Device], folder: Path, concurrency: int, simulators: Sequence[int]) -> dict[str, Any]:
    """fleetmon's side in a fresh process (so its CPU and memory are its own), on the same fleet read from a sheet."""
    sheet = folder / "fleetmon.csv"
    write_sheet(sheet, device_dicts(fleet))
    out = subprocess.run([sys.executable, __file__, "--fleetmon-child", str(sheet), "--concurrency", str(concurrency),
                          "--simulator-pids", ",".join(map(str, simulators))],
                         check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.splitlines()[-1]))


def start_exporter(binary: str, config: Path, port: int) -> subprocess.Popen[bytes]:
    """An exporter on 127.0.0.1:`port` with its own config, returned once it answers."""
    child = subprocess.Popen([binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
                              "--log.level=error"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{binary} exited with {child.returncode}: is its config valid for its version?")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return child
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    child.kill()
    child.wait()
    raise SystemExit(f"{binary} did not start")


def stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    child.wait()


async def scrape_all(urls: list[str], concurrency: int, answered: Callable[[bytes], bool]) -> int:
    """Every URL scraped once, `concurrency` in flight, as Prometheus asks (gzip); the number that failed."""
    failed = 0
    pending = iter(urls)
    headers = {"Accept-Encoding": "gzip", "X-Prometheus-Scrape-Timeout-Seconds": str(SCRAPE_TIMEOUT),
               "Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1"}
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT + 5)) as session:

        async def worker() -> None:
            nonlocal failed
            for url in pending:
                try:
                    async with session.get(url) as response:
                        body = await response.read()
                    failed += response.status != 200 or not answered(body)
                except (aiohttp.ClientError, TimeoutError):
                    failed += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failed


def exporter_phase(exporter: subprocess.Popen[bytes], urls: list[str], concurrency: int, simulators: Sequence[int],
                   answered: Callable[[bytes], bool]) -> tuple[Phase, int]:
    """One sweep through an exporter: its CPU and its resident-set growth over the sweep."""
    rss_before = rss_bytes(exporter.pid)
    sims, cpu, wall = [cpu_seconds(p) for p in simulators], cpu_seconds(exporter.pid), time.perf_counter()
    failed = asyncio.run(scrape_all(urls, concurrency, answered))
    wall = time.perf_counter() - wall
    phase = Phase(len(urls), wall, cpu_seconds(exporter.pid) - cpu, _simulator_share(simulators, sims, wall), failed)
    return phase, peak_rss_bytes(exporter.pid) - rss_before


def one_size(cameras: int, shards: int, concurrency: int, folder: Path) -> dict[str, Any]:
    """Every party over the fleet of `cameras` cameras, with the same simulators."""
    slices = shard(sample_fleet(cameras), shards)
    fleet = [d for part in slices for d in part]
    snmp_port, blackbox_port = free_port(), free_port()
    snmp_yml, blackbox_yml = folder / "snmp.yml", folder / "blackbox.yml"
    snmp_yml.write_text(yaml.safe_dump(snmp_exporter_config()))
    blackbox_yml.write_text(yaml.safe_dump(BLACKBOX_CONFIG))
    snmp_urls = [f"http://127.0.0.1:{snmp_port}/snmp?target={d.host}:{d.port('snmp_port')}&module={SNMP_MODULES[d.kind][0]}"
                 for d in fleet if d.kind in SNMP_MODULES]
    tcp_urls = [f"http://127.0.0.1:{blackbox_port}/probe?target={d.host}:{d.port('onvif_port')}&module=tcp_connect"
                for d in fleet if d.kind in (DeviceKind.CAMERA, DeviceKind.NVR)]
    with ExitStack() as stack:
        simulators = []
        for part in slices:
            simulators.append(start_simulator(part, folder, free_port()))
            stack.callback(stop, simulators[-1])
        pids = [s.pid for s in simulators]
        fleetmon = run_fleetmon(fleet, folder, concurrency, pids)
        snmp_exporter = start_exporter(SNMP_EXPORTER, snmp_yml, snmp_port)
        stack.callback(stop, snmp_exporter)
        snmp, snmp_rss = exporter_phase(snmp_exporter, snmp_urls, concurrency, pids, lambda body: b"\nsysUpTime " in body)
        blackbox_exporter = start_exporter(BLACKBOX_EXPORTER, blackbox_yml, blackbox_port)
        stack.callback(stop, blackbox_exporter)
        tcp, tcp_rss = exporter_phase(blackbox_exporter, tcp_urls, concurrency, pids, lambda body: b"\nprobe_success 1" in body)
    return {"devices": len(fleet), "fleetmon": fleetmon, "snmp_exporter": dataclasses.asdict(snmp),
            "blackbox_exporter": dataclasses.asdict(tcp), "exporters_rss_growth": snmp_rss + tcp_rss}


def _ms(phase: dict[str, Any], with_render: bool = False) -> float:
    cpu = float(phase["cpu"]) + (float(phase["render_cpu"]) if with_render else 0.0)
    return 1000 * cpu / max(int(phase["targets"]), 1)


def tables(rows: list[dict[str, Any]]) -> str:
    out = ["| devices | work | targets | exporter CPU per target (ms) | fleetmon CPU per target (ms): sweep + /metrics "
           "| ratio fleetmon / exporter | sweep wall (s): exporter / fleetmon | simulator CPU share (cores): exporter / "
           "fleetmon phase | failed: exporter / fleetmon |",
           "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        for work, exporter, kind in (("SNMP (snmp_exporter)", "snmp_exporter", "snmp"),
                                     ("TCP connect (blackbox_exporter)", "blackbox_exporter", "reachability")):
            e, f = row[exporter], row["fleetmon"]["phases"][kind]
            out.append(f"| {row['devices']:,} | {work} | {f['targets']:,} | {_ms(e):.3f} | {_ms(f):.3f} + "
                       f"{1000 * f['render_cpu'] / max(f['targets'], 1):.3f} = **{_ms(f, True):.3f}** | "
                       f"**{_ms(f, True) / max(_ms(e), 1e-9):.2f}** | {e['wall']:.1f} / {f['wall']:.1f} | "
                       f"{e['simulator_share']:.2f} / {f['simulator_share']:.2f} | {e['failed']} / {f['failed']} |")
    out += ["", "| devices | full sweep wall (s): exporters / fleetmon | CPU of the whole sweep (s): exporters / fleetmon "
            "| memory growth per device (B): exporters / fleetmon | ratio (memory) |", "|---|---|---|---|---|"]
    for row in rows:
        f = row["fleetmon"]["phases"]
        e_wall = row["snmp_exporter"]["wall"] + row["blackbox_exporter"]["wall"]
        e_cpu = row["snmp_exporter"]["cpu"] + row["blackbox_exporter"]["cpu"]
        f_cpu = sum(p["cpu"] + p["render_cpu"] for p in f.values())
        e_mem, f_mem = row["exporters_rss_growth"] / row["devices"], row["fleetmon"]["rss_growth"] / row["devices"]
        out.append(f"| {row['devices']:,} | {e_wall:.1f} / {sum(p['wall'] for p in f.values()):.1f} | {e_cpu:.1f} / "
                   f"{f_cpu:.1f} | {e_mem:,.0f} / {f_mem:,.0f} | {f_mem / max(e_mem, 1e-9):.2f} |")
    return "\n".join(out) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes = [row["devices"] for row in rows]
    figure, axes = pyplot.subplots(figsize=(8, 4.5), dpi=110)
    for label, party, kind, style in (("snmp_exporter, SNMP", "snmp_exporter", "", "o--"),
                                      ("fleetmon, SNMP (+ /metrics)", "fleetmon", "snmp", "o-"),
                                      ("blackbox_exporter, TCP connect", "blackbox_exporter", "", "s--"),
                                      ("fleetmon, TCP connect (+ /metrics)", "fleetmon", "reachability", "s-")):
        values = [_ms(row[party]["phases"][kind], True) if kind else _ms(row[party]) for row in rows]
        axes.plot(sizes, values, style, label=label)
    axes.set_xscale("log")
    axes.set_xlabel("devices in the fleet")
    axes.set_ylabel("CPU per device asked (ms)")
    axes.set_ylim(bottom=0)
    axes.set_title("CPU per device: fleetmon against the Prometheus exporters, same run")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return (out.stdout or out.stderr).splitlines()[0]


def main() -> None:
    parser = arguments(__doc__, concurrency=500)
    parser.add_argument("--cameras", default="1000,14053,50000,136000", help="fleet sizes, in cameras of the sample province")
    parser.add_argument("--simulators", type=int, default=1, help="simulator processes, each playing a slice of the fleet")
    parser.add_argument("--write", action="store_true", help=f"write the tables into docs/BENCHMARKS.md and {PLOT.name}")
    parser.add_argument("--fleetmon-child", type=Path, help=argparse.SUPPRESS)  # the sheet of the fleet to sweep
    parser.add_argument("--simulator-pids", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_open_files_limit()
    if args.fleetmon_child is not None:
        tune_gc()  # as `fleetmon run` does
        fleet = list(read_devices(args.fleetmon_child))
        pids = [int(p) for p in args.simulator_pids.split(",")]
        print(json.dumps(asyncio.run(fleetmon_phases(fleet, args.concurrency, pids))))
        return
    versions = f"{version(SNMP_EXPORTER)}; {version(BLACKBOX_EXPORTER)}"
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for cameras in (int(c) for c in args.cameras.split(",")):
            rows.append(one_size(cameras, args.simulators, args.concurrency, Path(folder)))
            print(tables(rows[-1:]), flush=True)
    load_after = os.getloadavg()
    text = tables(rows)
    load = f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
    print(f"{versions}\nload average (1 min): {load}\n\n{text}")
    if args.write:
        plot(rows, PLOT)
        write_section(SECTION, section(args, versions, load, text))


def section(args: Any, versions: str, load: str, text: str) -> str:
    command = (f"python bench/bench_vs_exporters.py --cameras {args.cameras} --simulators {args.simulators} "
               f"--concurrency {args.concurrency} --write")
    return f"""{SECTION}

`bench/setup.sh` then `{command}` ({platform.machine()}, {os.cpu_count()} cores shared with other work,
Python {platform.python_version()}, loopback; load average (1 min) {load}). Exporters: {versions}
(Debian bookworm's packages). One run per fleet size, every row from the same invocation.

The fleet is the sample province of the given number of cameras with its recorders and uplink
switches, played by `fleetmon simulate` ({args.simulators} process(es)). The same work goes through
each party, one after the other, {args.concurrency} in flight: SNMP of every recorder (sysUpTime +
hrStorageTable) and switch (sysUpTime + ifTable), and a TCP connect to the service port of every
camera and recorder. The exporters are driven as Prometheus drives them: one `/snmp?target=..&module=..`
or `/probe?target=..&module=tcp_connect` scrape per target, gzip asked; their configs are written
by the bench (snmp.yml in the 0.21 generator format, by hand; blackbox `tcp_connect`, IPv4).
fleetmon runs in its own process through the monitor's code path (`run_sweep` of its `snmp` and
`reachability` kinds, observations applied to the health state machine), then renders its
/metrics for the devices it probed (snapshot, render, gzip level 1): that render is counted in
its CPU per device, recorders' and switches' samples in the SNMP row, cameras' in the TCP row.
CPU is each process's own (user + system, /proc); memory growth is the peak resident set
(VmHWM) less the resident set before the work, per device (exporters: both summed). fleetmon
asks more than the exporters' modules: its SNMP probe of a recorder also reads hrDeviceTable,
hrDiskStorageTable and the vendor's disk table, and keeps health state, root cause and the
state log the exporters do not.

![CPU per device against fleet size](bench_vs_exporters.png)

{text}"""


if __name__ == "__main__":
    main()
