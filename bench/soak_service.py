"""The whole service for real: `fleetmon run` on the simulated sample province, for minutes or hours.

Not the sweep code path alone (bench_monitor_sweep.py) but the command an operator runs: every probe
kind at its configured interval (each device at its phase), the state-change log written, tickets
kept, an inventory re-import half-way, faults coming and going in the simulator, and /metrics
scraped per district every 30 s (by a scraping client here, or by a real Prometheus with
`--prometheus`). Every few seconds this samples each worker process: CPU share, resident memory,
open file descriptors (/proc), and from its /metrics the scheduler's and the event loop's lag,
sweep durations and overruns, and its share of the fleet.

With `--workers 2|3` the workers share a PostgreSQL cluster started here (`monitor.shared`); at
60 % of the run the last worker is SIGKILLed and the time until the others own its devices is
the takeover time. `--accelerate N` divides every interval by N: a soak of hours of simulated
time in minutes, whose figures at the start and the end should be flat.

    python bench/soak_service.py --cameras 136000 --minutes 15
    python bench/soak_service.py --cameras 136000 --minutes 6 --workers 3
    python bench/soak_service.py --cameras 14053 --minutes 20 --accelerate 10
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.common import ROOT, cpu_seconds, free_port, rss_bytes
from fleetmon.config import ProbesConfig
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.inventory.sheets import write_sheet
from fleetmon.process import raise_open_files_limit
from fleetmon.store.inventory import device_dicts

PYTHON = sys.executable
KINDS = ("reachability", "snmp", "onvif", "vendor_http", "snapshot")
# Faults that come and go, re-drawn every FAULT_PERIOD / accelerate seconds: (fault, param, share %).
CYCLING_FAULTS = (("offline", None, 0.2), ("disk_full", None, 1.0), ("recording_stopped", None, 1.0),
                  ("clock_skew", 900.0, 0.3), ("snapshot_black", None, 0.3), ("reboot", None, 0.1))
FAULT_PERIOD = 180.0
SCRAPE_INTERVAL = 30.0
KILL_AT = 0.6  # share of the run after which the last of several workers is killed


@dataclass
class Worker:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    last_cpu: float = 0.0
    last_at: float = 0.0
    alive: bool = True


@dataclass
class Run:
    folder: Path
    fleet: list[Device]
    accelerate: float
    workers: list[Worker] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    scrapes: list[tuple[float, float, int]] = field(default_factory=list)  # (at, seconds, bytes)
    scrape_errors: int = 0
    events: list[tuple[float, str]] = field(default_factory=list)
    started: float = 0.0
    peers: dict[str, int] = field(default_factory=dict)  # name -> pid of the processes around fleetmon: their CPU is sampled too


# -- peers: PostgreSQL, the simulator, Prometheus ---------------------------------------------------


def start_postgres() -> tuple[str, list[str], Path]:
    """A throwaway cluster on 127.0.0.1 (as the tests' fixture makes one); its URL, how to run its tools, its data."""
    bindir = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1])
    root = Path(tempfile.mkdtemp(prefix="fleetmon-soak-pg-"))
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "fleetmon", "--no-sync"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", str(root / "log"),
                    "-w", "start"], check=True, capture_output=True)
    return f"postgresql://fleetmon@127.0.0.1:{port}/postgres", [*as_user, str(bindir / "pg_ctl")], root / "data"


def start_simulator(sheet: Path, folder: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    port = free_port()
    token_file = folder / "simulator.token"
    log = (folder / "simulator.log").open("wb")
    child = subprocess.Popen([PYTHON, "-m", "fleetmon", "simulate", "--inventory", str(sheet), "--control-port", str(port),
                              "--token-file", str(token_file), "--ws-discovery-port", "0", "--fault", "packet_loss=1:5%"],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the simulator stopped; see {folder / 'simulator.log'}")
        token = token_file.read_text().strip() if token_file.exists() else ""
        try:
            if token and httpx.get(f"http://127.0.0.1:{port}/devices?faulty=true", timeout=30,
                                   headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                return child, port, token
        except httpx.TransportError:
            pass
        time.sleep(1)
    child.kill()
    raise SystemExit("the simulator did not start in 15 minutes")


def districts(fleet: list[Device]) -> list[str]:
    return sorted({" / ".join(d.area_path[:2]) for d in fleet if len(d.area_path) >= 2})


def smallest_area(fleet: list[Device]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for d in fleet:
        counts[d.area] += 1
    return min(counts, key=lambda a: (counts[a], a))


def start_prometheus(folder: Path, targets: list[str], areas: list[str], interval: float) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    every = f"{max(1, round(interval))}s"
    jobs = [{"job_name": f"district-{i:02d}", "scrape_interval": every, "scrape_timeout": every,
             "params": {"area": [area]}, "static_configs": [{"targets": targets}]} for i, area in enumerate(areas)]
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": every}, "scrape_configs": jobs}, allow_unicode=True))
    log = (folder / "prometheus.log").open("wb")
    child = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
                              f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return child, port


def prometheus_scrape_figures(port: int, seconds: float) -> dict[str, float]:
    """Scrape durations over the run as Prometheus recorded them, over every district job and worker."""
    window = f"{max(1, int(seconds))}s"
    figures = {}
    for name, query in {"median": f"quantile(0.5, quantile_over_time(0.5, scrape_duration_seconds[{window}]))",
                        "p90": f"quantile(0.9, quantile_over_time(0.9, scrape_duration_seconds[{window}]))",
                        "max": f"max(max_over_time(scrape_duration_seconds[{window}]))",
                        "failed": f"sum(count_over_time(up[{window}])) - sum(sum_over_time(up[{window}]))",
                        "scrapes": f"sum(count_over_time(up[{window}]))",
                        "samples": "sum(scrape_samples_scraped)"}.items():
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": query}, timeout=60).json()
        result = answer["data"]["result"]
        figures[name] = float(result[0]["value"][1]) if result else float("nan")
    return figures


# -- fleetmon ---------------------------------------------------------------------------------------


def write_config(folder: Path, name: str, metrics_port: int, database_url: str | None, workers: int, accelerate: float) -> Path:
    defaults = ProbesConfig()
    probes: dict[str, Any] = {}
    for kind in KINDS:
        schedule = getattr(defaults, kind)
        probes[kind] = {"interval": schedule.interval / accelerate, "timeout": schedule.timeout}
        if schedule.concurrency:
            probes[kind]["concurrency"] = schedule.concurrency
    secrets = folder / "secrets"
    secrets.mkdir(exist_ok=True)
    for secret, value in {"password": "fleetmon-demo", "community": "public"}.items():
        (secrets / secret).write_text(value + "\n")
        (secrets / secret).chmod(0o600)
    config: dict[str, Any] = {
        "data_dir": str(folder / "data"),
        "metrics": {"host": "127.0.0.1", "port": metrics_port},
        "web": {"port": 0},
        "credentials": {"demo": {"username": "admin", "password": {"file": str(secrets / "password")},
                                 "snmp": {"version": "2c", "community": {"file": str(secrets / "community")}}}},
        "default_credentials": "demo",
        "probes": probes,
        "monitor": {"shared": workers > 1, "worker_id": name},
    }
    if database_url:
        config["database_url"] = database_url
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def fleetmon(config: Path, *command: str) -> tuple[float, str]:
    """Run a fleetmon command to its end; its wall seconds, and the last line of its error output if it failed."""
    started = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "fleetmon", "--config", str(config), *command], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    failed = (done.stderr.strip().splitlines() or ["?"])[-1] if done.returncode else ""
    return time.perf_counter() - started, failed


def start_worker(folder: Path, name: str, config: Path, port: int) -> Worker:
    log = (folder / f"{name}.log").open("wb")
    child = subprocess.Popen([PYTHON, "-m", "fleetmon", "--config", str(config), "run", "--worker-id", name,
                              "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return Worker(name, port, child, last_cpu=cpu_seconds(child.pid), last_at=time.monotonic())


def wait_serving(workers: list[Worker], area: str) -> None:
    """Until every worker answers /metrics: the run's clock starts with the service up."""
    for w in workers:
        while True:
            if w.process.poll() is not None:
                raise SystemExit(f"worker {w.name} exited with {w.process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{w.port}/metrics", params={"area": area}, timeout=30).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(1)
        w.last_cpu, w.last_at = cpu_seconds(w.process.pid), time.monotonic()


def own_metrics(text: str) -> dict[str, float]:
    """fleetmon's own health from a scrape: lags, sweeps, overruns, share; one figure per family and probe."""
    wanted = {"fleetmon_scheduler_lag_seconds", "fleetmon_event_loop_lag_seconds", "fleetmon_sweep_overruns",
              "fleetmon_sweeps", "fleetmon_sweep_duration_seconds", "fleetmon_worker_devices", "fleetmon_transitions_pending",
              "fleetmon_transitions_dropped", "fleetmon_probes_in_flight"}
    figures = {}
    for family in text_string_to_metric_families(text):
        if family.name in wanted:
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                probe = sample.labels.get("probe")
                figures[f"{family.name}{'.' + probe if probe else ''}"] = sample.value
    return figures


# -- the run ----------------------------------------------------------------------------------------


async def sample_forever(run: Run, client: httpx.AsyncClient, area: str, every: float) -> None:
    peers, at = {name: cpu_seconds(pid) for name, pid in run.peers.items()}, time.monotonic()
    while True:
        await asyncio.sleep(every)
        now = time.monotonic()
        row: dict[str, Any] = {"t": now - run.started}
        for name, pid in run.peers.items():
            cpu = cpu_seconds(pid)
            row[f"{name}_cpu"], peers[name] = (cpu - peers[name]) / (now - at), cpu
        at = now
        for w in run.workers:
            if not w.alive:
                continue
            try:
                cpu, rss = cpu_seconds(w.process.pid), rss_bytes(w.process.pid)
                fds = len(os.listdir(f"/proc/{w.process.pid}/fd"))
                answer = await client.get(f"http://127.0.0.1:{w.port}/metrics", params={"area": area}, timeout=30)
            except (OSError, httpx.HTTPError) as exc:
                run.events.append((now - run.started, f"{w.name}: sample failed: {exc.__class__.__name__}"))
                continue
            row[w.name] = {"cpu": (cpu - w.last_cpu) / (now - w.last_at), "rss": rss, "fds": fds, **own_metrics(answer.text)}
            w.last_cpu, w.last_at = cpu, now
        run.samples.append(row)


async def scrape_forever(run: Run, client: httpx.AsyncClient, areas: list[str], interval: float) -> None:
    """Each district of each worker once per interval, spread over it, gzip as Prometheus asks."""
    async def one(worker: Worker, area: str, offset: float) -> None:
        await asyncio.sleep(offset)
        while worker.alive:
            started = time.monotonic()
            try:
                answer = await client.get(f"http://127.0.0.1:{worker.port}/metrics", params={"area": area},
                                          headers={"Accept-Encoding": "gzip"}, timeout=interval)
                answer.raise_for_status()
                run.scrapes.append((started - run.started, time.monotonic() - started, len(answer.content)))
            except httpx.HTTPError:
                run.scrape_errors += worker.alive
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    jobs = [one(w, area, interval * i / (len(areas) * len(run.workers)))
            for i, (w, area) in enumerate((w, a) for w in run.workers for a in areas)]
    await asyncio.gather(*jobs)


async def faults_forever(run: Run, client: httpx.AsyncClient, control: str, token: str, period: float) -> None:
    """Faults come and go: every period each cycling fault is cleared and set again on another random share."""
    headers = {"Authorization": f"Bearer {token}"}
    switches = [d.id for d in run.fleet if d.kind is DeviceKind.SWITCH]
    rng = random.Random(7)
    while True:
        try:
            for fault, param, share in CYCLING_FAULTS:
                await client.delete(f"{control}/faults", params={"fault": fault}, headers=headers, timeout=60)
                body = {"fault": fault, "share": share, **({"param": param} if param is not None else {})}
                await client.post(f"{control}/faults", json=body, headers=headers, timeout=60)
            await client.post(f"{control}/faults", json={"fault": "offline", "device": rng.choice(switches)},
                              headers=headers, timeout=60)
            run.events.append((time.monotonic() - run.started, "faults re-drawn"))
        except httpx.HTTPError as exc:  # a simulator too busy to answer in time: the next round tries again
            run.events.append((time.monotonic() - run.started, f"faults not re-drawn: {exc.__class__.__name__}"))
        await asyncio.sleep(period)


async def reimport_then_kill(run: Run, config: Path, sheet: Path, seconds: float) -> None:
    """Half-way: re-import the sheet with 1 % of its rows changed. At KILL_AT, with several workers: SIGKILL the last."""
    await asyncio.sleep(seconds / 2)
    rows = device_dicts(run.fleet)
    for row in rows[:: 100]:
        row["notes"] = "re-imported during the soak"
    await asyncio.to_thread(write_sheet, sheet, rows)
    wall, failed = await asyncio.to_thread(fleetmon, config, "inventory", "import", str(sheet))
    run.events.append((time.monotonic() - run.started, f"inventory re-import of {len(rows[::100])} changed rows: {wall:.1f} s"
                       + (f", FAILED: {failed}" if failed else "")))
    if len(run.workers) < 2:
        return
    await asyncio.sleep(seconds * (KILL_AT - 0.5))
    victim = run.workers[-1]
    victim.process.send_signal(signal.SIGKILL)
    victim.alive = False
    killed = time.monotonic()
    run.events.append((killed - run.started, f"{victim.name} killed (SIGKILL)"))
    async with httpx.AsyncClient() as client:
        area = smallest_area(run.fleet)
        while True:
            owned = 0.0
            for w in run.workers[:-1]:
                answer = await client.get(f"http://127.0.0.1:{w.port}/metrics", params={"area": area}, timeout=30)
                owned += own_metrics(answer.text).get("fleetmon_worker_devices", 0.0)
            if owned >= len(run.fleet):
                run.events.append((time.monotonic() - run.started, f"takeover complete: {time.monotonic() - killed:.1f} s after the kill"))
                return
            await asyncio.sleep(0.5)


async def drive(run: Run, config: Path, sheet: Path, seconds: float, every: float, control: str, token: str,
                scrape_with_client: bool) -> None:
    area = smallest_area(run.fleet)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(limits=limits) as client:
        tasks = [asyncio.create_task(sample_forever(run, client, area, every)),
                 asyncio.create_task(faults_forever(run, client, control, token, FAULT_PERIOD / run.accelerate)),
                 asyncio.create_task(reimport_then_kill(run, config, sheet, seconds))]
        if scrape_with_client:
            tasks.append(asyncio.create_task(scrape_forever(run, client, districts(run.fleet), SCRAPE_INTERVAL / run.accelerate)))
        done, _ = await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


# -- the report -------------------------------------------------------------------------------------


def _window(run: Run, name: str, key: str, start: float, end: float) -> list[float]:
    total = run.samples[-1]["t"] if run.samples else 1.0
    return [s[name][key] for s in run.samples if name in s and key in s[name] and start <= s["t"] / total <= end]


def report(run: Run, seconds: float, prometheus: dict[str, float] | None) -> str:
    lines = [f"devices {len(run.fleet):,}; workers {len(run.workers)}; {seconds / 60:.0f} min wall"
             f" = {seconds * run.accelerate / 3600:.2f} h simulated (accelerate {run.accelerate:g}); machine {os.cpu_count()} cores,"
             f" load {os.getloadavg()[0]:.1f} at the end", ""]
    lines.append("| worker | devices owned (before kill) | CPU share of a core (median / max) | RSS start → end, peak (MiB) "
                 "| open fds start → end, max | event-loop lag, worst minute (median / max s) | scheduler lag max (s) | overruns |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for w in run.workers:
        cpu = _window(run, w.name, "cpu", 0.05, 1)
        rss = [x / 2**20 for x in _window(run, w.name, "rss", 0, 1)]
        fds = _window(run, w.name, "fds", 0, 1)
        if not cpu:
            continue
        start_rss = statistics.median([x / 2**20 for x in _window(run, w.name, "rss", 0.1, 0.2)] or rss[:1])
        end_rss = statistics.median([x / 2**20 for x in _window(run, w.name, "rss", 0.9, 1)] or rss[-1:])
        start_fds = statistics.median(_window(run, w.name, "fds", 0.1, 0.2) or fds[:1])
        end_fds = statistics.median(_window(run, w.name, "fds", 0.9, 1) or fds[-1:])
        loop = _window(run, w.name, "fleetmon_event_loop_lag_seconds", 0.05, 1)
        sched = [max((v for k, v in s[w.name].items() if k.startswith("fleetmon_scheduler_lag_seconds")), default=0.0)
                 for s in run.samples if w.name in s]
        last = next(s[w.name] for s in reversed(run.samples) if w.name in s)
        overruns = {k.split(".")[1]: v for k, v in last.items() if k.startswith("fleetmon_sweep_overruns") and v}
        owned = (_window(run, w.name, "fleetmon_worker_devices", 0.3, KILL_AT - 0.02)
                 or _window(run, w.name, "fleetmon_worker_devices", 0, 1))
        lines.append(f"| {w.name} | {statistics.median(owned):,.0f} | {statistics.median(cpu):.2f} / {max(cpu):.2f} "
                     f"| {start_rss:.0f} → {end_rss:.0f}, {max(rss):.0f} | {start_fds:.0f} → {end_fds:.0f}, {max(fds):.0f} "
                     f"| {statistics.median(loop or [0]):.2f} / {max(loop or [0]):.2f} | {max(sched or [0]):.1f} "
                     f"| {sum(overruns.values()):.0f} {json.dumps(overruns) if overruns else ''} |")
    lines.append("")
    last = {w.name: next((s[w.name] for s in reversed(run.samples) if w.name in s), {}) for w in run.workers}
    lines.append("| probe | sweeps (all workers) | last sweep duration (s, slowest worker) | interval (s) |")
    lines.append("|---|---|---|---|")
    for kind in KINDS:
        sweeps = sum(m.get(f"fleetmon_sweeps.{kind}", 0) for m in last.values())
        duration = max((m.get(f"fleetmon_sweep_duration_seconds.{kind}", 0) for m in last.values()), default=0)
        lines.append(f"| {kind} | {sweeps:.0f} | {duration:.1f} | {getattr(ProbesConfig(), kind).interval / run.accelerate:g} |")
    lines.append("")
    if run.scrapes:
        times = sorted(s[1] for s in run.scrapes)
        lines.append(f"district scrapes (client, gzip): {len(times)}, failed {run.scrape_errors}; latency median "
                     f"{statistics.median(times) * 1000:.0f} ms, p90 {times[int(0.9 * len(times))] * 1000:.0f} ms, "
                     f"max {times[-1] * 1000:.0f} ms; body median {statistics.median(s[2] for s in run.scrapes) / 1024:.0f} KiB")
    if prometheus:
        lines.append(f"district scrapes (Prometheus): {prometheus['scrapes']:.0f}, failed {prometheus['failed']:.0f}; "
                     f"duration median {prometheus['median'] * 1000:.0f} ms, p90 {prometheus['p90'] * 1000:.0f} ms, "
                     f"max {prometheus['max'] * 1000:.0f} ms; samples in the last round {prometheus['samples']:,.0f}")
    for name in run.peers:
        peer = [s[f"{name}_cpu"] for s in run.samples[1:]]
        if peer:
            lines.append(f"{name} CPU share of a core: median {statistics.median(peer):.2f}, max {max(peer):.2f}")
    lines += ["", "events:"] + [f"- {t:.0f} s: {what}" for t, what in run.events if what != "faults re-drawn"]
    lines.append(f"- faults re-drawn {sum(1 for _, what in run.events if what == 'faults re-drawn')} times")
    return "\n".join(lines)


def main() -> None:
    from bench.common import arguments

    parser = arguments(__doc__, cameras=14_053)
    parser.add_argument("--minutes", type=float, default=15.0, help="wall minutes of monitoring, after start-up")
    parser.add_argument("--workers", type=int, choices=(1, 2, 3), default=1)
    parser.add_argument("--accelerate", type=float, default=1.0, help="every interval divided by this")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--prometheus", action="store_true", help="a real Prometheus scrapes (else a client here)")
    parser.add_argument("--out", type=Path, help="write every sample as JSON here")
    parser.add_argument("--folder", type=Path, help="where the run's files go (default: a new folder under the temp dir)")
    parser.add_argument("--port-offset", type=int, default=3000,
                        help="added to the sample fleet's device ports: other simulators on this machine keep theirs")
    args = parser.parse_args()
    raise_open_files_limit()
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # this tree's fleetmon
    folder = args.folder or Path(tempfile.mkdtemp(prefix="fleetmon-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped from outside: the children are stopped too
    fleet = [dataclasses.replace(d, onvif_port=d.onvif_port + args.port_offset, rtsp_port=d.rtsp_port + args.port_offset,
                                 snmp_port=d.snmp_port + args.port_offset, http_port=d.http_port + args.port_offset)
             for d in sample_fleet(args.cameras)]
    run = Run(folder, fleet, args.accelerate)
    print(f"soak in {folder}: {len(run.fleet):,} devices", flush=True)
    sheet = folder / "fleet.csv"
    write_sheet(sheet, device_dicts(run.fleet))
    children: list[subprocess.Popen[bytes]] = []
    postgres: tuple[str, list[str], Path] | None = None
    prometheus: tuple[subprocess.Popen[bytes], int] | None = None
    try:
        if args.workers > 1:
            postgres = start_postgres()
        started = time.perf_counter()
        simulator, control_port, token = start_simulator(sheet, folder)
        children.append(simulator)
        run.peers["simulator"] = simulator.pid
        print(f"simulator up in {time.perf_counter() - started:.0f} s", flush=True)
        ports = [free_port() for _ in range(args.workers)]
        configs = [write_config(folder, f"w{i + 1}", port, postgres[0] if postgres else None, args.workers, args.accelerate)
                   for i, port in enumerate(ports)]
        wall, failed = fleetmon(configs[0], "inventory", "import", str(sheet))
        if failed:
            raise SystemExit(f"the first import failed: {failed}")
        print(f"first import: {wall:.0f} s", flush=True)
        run.workers = [start_worker(folder, f"w{i + 1}", config, port) for i, (config, port) in enumerate(zip(configs, ports, strict=True))]
        wait_serving(run.workers, smallest_area(run.fleet))
        print(f"workers serving {time.perf_counter() - started:.0f} s after the simulator started", flush=True)
        if args.prometheus:
            prometheus = start_prometheus(folder, [f"127.0.0.1:{p}" for p in ports], districts(run.fleet),
                                          SCRAPE_INTERVAL / args.accelerate)
            children.append(prometheus[0])
            run.peers["prometheus"] = prometheus[0].pid
        run.started = time.monotonic()
        seconds = args.minutes * 60
        asyncio.run(drive(run, configs[0], sheet, seconds, args.sample, f"http://127.0.0.1:{control_port}", token,
                          not args.prometheus))
        figures = prometheus_scrape_figures(prometheus[1], seconds) if prometheus else None
        for w in run.workers:
            if w.alive and w.process.poll() is not None:
                run.events.append((seconds, f"{w.name} had exited with {w.process.returncode}; see {folder}/{w.name}.log"))
        print(report(run, seconds, figures), flush=True)
        if args.out:
            args.out.write_text(json.dumps({"samples": run.samples, "events": run.events, "scrapes": len(run.scrapes),
                                            "scrape_errors": run.scrape_errors, "prometheus": figures}, indent=None))
    finally:
        for w in run.workers:
            if w.process.poll() is None:
                w.process.send_signal(signal.SIGTERM)
        for w in run.workers:
            try:
                w.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                w.process.kill()
                w.process.wait()
        for child in children:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if postgres:
            subprocess.run([*postgres[1], "-D", str(postgres[2]), "-m", "fast", "stop"], capture_output=True)
    print(f"logs in {folder}")


if __name__ == "__main__":
    main()
