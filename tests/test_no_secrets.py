"""No configured secret ever leaves fleetmon: every output of a full run is searched for every secret.

Distinctive secrets — the devices' password, an SNMP community, SNMPv3 auth and priv keys, the
PostgreSQL password of the store's role — are configured as a site would (files of mode 0600, the
environment), a simulated fleet accepts them, and the real commands run: check-config, probe (a
working login, a refused one, SNMPv3), a short `run` whose /metrics is scraped, status, inventory
export, and the error paths (database unreachable, a URL with a bad port, a YAML error on the
password's line). None of the secrets may appear in any stdout or stderr (the logs, at debug level),
metrics body, exported file, or file left in data_dir.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import psycopg
import pytest

from fleetmon.simulator.control import read_token
from tests.peers import free_port

ROOT = Path(__file__).resolve().parents[1]

SECRETS = {
    "device password": "Dev-Pw-7Q2x9k",
    "snmp community": "Comm-5Zk8rW",
    "snmp auth key": "Auth-Key-4Hn6tB",
    "snmp priv key": "Priv-Key-8Jw3mD",
    "database password": "Db-Pw-2Vc7pF",
}


class Outputs:
    """Everything fleetmon said or wrote, by where it came from."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def add(self, where: str, text: str | bytes) -> None:
        while where in self.seen:  # the same command on another path (an error path) is kept beside, not over
            where += "'"
        self.seen[where] = text.decode("utf-8", "replace") if isinstance(text, bytes) else text

    def command(self, folder: Path, env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "fleetmon", *args], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=180, check=False)
        self.add(f"fleetmon {' '.join(args)} (stdout)", done.stdout)
        self.add(f"fleetmon {' '.join(args)} (stderr)", done.stderr)
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def leaks(self) -> list[str]:
        return [f"{name} in {where}" for where, text in self.seen.items() for name, secret in SECRETS.items()
                if secret in text]


def _secret_file(folder: Path, name: str, value: str) -> Path:
    path = folder / name
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _role_url(postgres_url: str) -> str:
    """A role of its own with a password, owning the test database: the store's URL then holds the password."""
    database = postgres_url.rsplit("/", 1)[1]
    role = f"{database}_owner"  # one per test database: a role owning an old one could not be dropped
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{SECRETS['database password']}'")
        conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{role}"')
        conn.execute(f'ALTER SCHEMA public OWNER TO "{role}"')
    return postgres_url.replace("postgresql://fleetmon@", f"postgresql://{role}:{SECRETS['database password']}@")


def _config(folder: Path, metrics_port: int) -> str:
    secrets = folder / "secrets"
    secrets.mkdir(mode=0o700)
    password = _secret_file(secrets, "password", SECRETS["device password"])
    community = _secret_file(secrets, "community", SECRETS["snmp community"])
    return f"""
data_dir: data
database_url: {{env: FLEETMON_DATABASE_URL}}
metrics: {{host: 127.0.0.1, port: {metrics_port}}}
probes:
  reachability: {{interval: 2, timeout: 1}}
  snmp: {{interval: 2, timeout: 1}}
  onvif: {{interval: 3, timeout: 3}}
  vendor_http: {{interval: 3, timeout: 3}}
  snapshot: {{interval: 5, timeout: 3}}
credentials:
  v2:
    username: admin
    password: {{file: {password}}}
    snmp: {{version: '2c', community: {{file: {community}}}}}
  v3:
    username: admin
    password: {{file: {password}}}
    snmp: {{version: '3', user: fleetmon, auth_key: {{env: FLEETMON_TEST_AUTH}}, priv_key: {{env: FLEETMON_TEST_PRIV}}}}
default_credentials: v2
"""


def _free_ports_in_sheet(sheet: Path) -> None:
    """The sample's fixed ports, moved to free ones: other tests may run simulators too."""
    web, rtsp, snmp = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    sheet.write_text(sheet.read_text(encoding="utf-8-sig").replace(",10080,10554,10161,10080,", f",{web},{rtsp},{snmp},{web},"),
                     encoding="utf-8")


def _wait_for(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} within {seconds} s")


def test_no_secret_in_any_output_of_a_full_run(tmp_path: Path, postgres_url: str) -> None:
    folder = tmp_path
    metrics_port, control_port = free_port(), free_port()
    store_url = _role_url(postgres_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLEETMON_DATABASE_URL": store_url,
           "FLEETMON_TEST_AUTH": SECRETS["snmp auth key"], "FLEETMON_TEST_PRIV": SECRETS["snmp priv key"]}
    (folder / "fleetmon.yaml").write_text(_config(folder, metrics_port), encoding="utf-8")
    out = Outputs()

    out.command(folder, env, "check-config")
    out.command(folder, env, "inventory", "sample", "--devices", "5", "-o", "fleet.csv")
    _free_ports_in_sheet(folder / "fleet.csv")
    out.command(folder, env, "inventory", "import", "fleet.csv")

    token_file = folder / "simulator.token"
    simulator_env = {**env, "FLEETMON_SIM_WEB_USERNAME": "admin", "FLEETMON_SIM_WEB_PASSWORD": SECRETS["device password"],
                     "FLEETMON_SIM_SNMP_COMMUNITY": SECRETS["snmp community"],
                     "FLEETMON_SIM_SNMP_AUTH_KEY": SECRETS["snmp auth key"], "FLEETMON_SIM_SNMP_PRIV_KEY": SECRETS["snmp priv key"]}
    simulator = subprocess.Popen(
        [sys.executable, "-m", "fleetmon", "simulate", "--inventory", "fleet.csv", "--control-port", str(control_port),
         "--token-file", str(token_file), "--ws-discovery-port", "0"],
        cwd=folder, env=simulator_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    run: subprocess.Popen[str] | None = None
    try:
        _wait_for(lambda: read_token(token_file) is not None, 60, "the simulator did not start")
        simulate = ("simulate", "--control-port", str(control_port), "--token-file", str(token_file))
        out.command(folder, env, *simulate[:1], "fault", *simulate[1:], "cam-000004", "wrong_password")

        working = out.command(folder, env, "probe", "cam-000003")
        assert "onvif" in working.stdout
        out.command(folder, env, "probe", "cam-000004", ok=False)  # the login is refused: an error path with the password
        v3 = out.command(folder, env, "probe", "nvr-0001-1", "--profile", "v3", ok=False)
        assert "snmp" in v3.stdout

        run = subprocess.Popen([sys.executable, "-m", "fleetmon", "run", "--log-level", "debug"], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"

        def onvif_probed() -> bool:
            try:
                body = httpx.get(metrics_url, timeout=5).text
            except httpx.TransportError:
                return False
            return 'fleetmon_probe_runs_total{probe="onvif"}' in body and 'fleetmon_probe_runs_total{probe="onvif"} 0.0' not in body
        _wait_for(onvif_probed, 90, "fleetmon run did not probe ONVIF")
        out.add("/metrics", httpx.get(metrics_url, timeout=10).content)
        out.add("/metrics?area=", httpx.get(metrics_url, params={"area": "Thanh Hóa"}, timeout=10).content)
        out.add("/metrics?area=unknown", httpx.get(metrics_url, params={"area": "Nowhere"}, timeout=10).content)
        out.add("/", httpx.get(metrics_url.removesuffix("metrics"), timeout=10).content)
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=60)
        out.add("fleetmon run (stdout)", stdout)
        out.add("fleetmon run (stderr)", stderr)
        assert "level=debug" in stderr or "level=info" in stderr  # the log was really searched
    finally:
        for child in (run, simulator):
            if child is not None and child.poll() is None:
                os.killpg(child.pid, signal.SIGINT)
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
        sim_out, sim_err = simulator.communicate(timeout=30)
        out.add("fleetmon simulate (stdout)", sim_out)
        out.add("fleetmon simulate (stderr)", sim_err)

    out.command(folder, env, "status")
    for name in ("export.csv", "export.xlsx"):
        out.command(folder, env, "inventory", "export", name)
    out.add("export.csv", (folder / "export.csv").read_bytes())
    with zipfile.ZipFile(folder / "export.xlsx") as xlsx:
        for member in xlsx.namelist():
            out.add(f"export.xlsx:{member}", xlsx.read(member))
    for path in (folder / "data").rglob("*"):
        if path.is_file():
            out.add(f"data_dir: {path.name}", path.read_bytes())

    # The error paths: the database away, a URL that cannot be used, a YAML error on the password's line.
    away = store_url.rsplit(":", 1)[0] + f":{free_port()}/fleetmon"
    assert SECRETS["database password"] in away
    failed = out.command(folder, {**env, "FLEETMON_DATABASE_URL": away}, "status", ok=False)
    assert failed.returncode == 1 and "cannot reach the database" in failed.stderr
    bad_port = store_url.replace("@127.0.0.1:", "@127.0.0.1:notaport")
    assert out.command(folder, {**env, "FLEETMON_DATABASE_URL": bad_port}, "check-config", ok=False).returncode == 1
    assert out.command(folder, {**env, "FLEETMON_DATABASE_URL": bad_port}, "status", ok=False).returncode == 1
    broken = folder / "broken.yaml"
    broken.write_text(f"database_url: '{store_url}\ncredentials: [\n  password: \"{SECRETS['device password']}\n",
                      encoding="utf-8")
    assert out.command(folder, env, "--config", str(broken), "check-config", ok=False).returncode == 1

    assert len(out.seen) > 30
    if os.environ.get("FLEETMON_SHOW_OUTPUTS"):
        for where, text in out.seen.items():
            print(f"--- {where}: {len(text)} chars\n{text[:300]}")
    assert out.leaks() == []


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_the_secrets_are_distinctive(name: str) -> None:
    """A secret that is a substring of ordinary output would make the search above meaningless."""
    assert len(SECRETS[name]) >= 10 and not any(a != name and SECRETS[name] in SECRETS[a] for a in SECRETS)
