"""How fast the simulator's SNMP agent answers, and what a device costs it, against snmpsim in the same run.

    python bench/bench_simulator_snmp.py [--cameras 14053] [--seconds 5] [--repeat 3]

The simulator runs in its own process with the sample province (cameras + NVRs + uplinks), so its
CPU time (/proc, user + system) is its own; a raw UDP load generator keeps at most 200 prebuilt
v2c GETs (sysUpTime.0) in flight, spread over every device address. The peer is snmpsim serving
tests/data/snmprec/linux-full-walk.snmprec, loaded the same way. Memory per device is the
simulator process's resident-set growth from building the fleet and answering every device once,
divided by the device count. Prints a markdown table.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import arguments, cpu_seconds, free_port, rss_bytes
from fleetmon.probes.snmp import ber

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
WINDOW = 200
SNMPREC = Path(__file__).resolve().parents[1] / "tests" / "data" / "snmprec" / "linux-full-walk.snmprec"
def get_packet(community: str, request_id: int) -> bytes:
    varbinds = ber.tlv(ber.SEQUENCE, ber.tlv(ber.SEQUENCE, ber.encode_oid(SYS_UPTIME) + ber.NULL_VALUE))
    pdu = ber.tlv(0xA0, ber.integer(request_id) + ber.integer(0) + ber.integer(0) + varbinds)
    return ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.octets(community) + pdu)


def load(targets: list[tuple[bytes, tuple[str, int]]], seconds: float) -> int:
    """Answers received in `seconds` with at most WINDOW requests in flight (lost ones are re-sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.settimeout(0.2)
        answered, sent = 0, 0

        def send() -> None:
            nonlocal sent
            packet, address = targets[sent % len(targets)]
            sock.sendto(packet, address)
            sent += 1

        for _ in range(WINDOW):
            send()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                sock.recv(4096)
            except TimeoutError:
                for _ in range(WINDOW):
                    send()
                continue
            answered += 1
            send()
        return answered


def measure(pid: int, targets: list[tuple[bytes, tuple[str, int]]], seconds: float) -> tuple[float, float]:
    """(answers per CPU-second of the server, answers per wall second)."""
    load(targets, 0.5)  # warm-up: views built, caches filled
    cpu, wall = cpu_seconds(pid), time.monotonic()
    answered = load(targets, seconds)
    return answered / max(cpu_seconds(pid) - cpu, 1e-9), answered / (time.monotonic() - wall)


def serve(cameras: int, port: int) -> None:
    """The simulator side: build the fleet, report memory, answer until killed."""
    from fleetmon.inventory.sample import sample_fleet
    from fleetmon.simulator.fleet import Fleet
    from fleetmon.simulator.snmp_agent import start_snmp

    async def main() -> None:
        before = rss_bytes()
        fleet = Fleet.from_inventory([dataclasses.replace(d, snmp_port=port) for d in sample_fleet(cameras)])
        await start_snmp(fleet, port)
        print(json.dumps({"devices": len(fleet.devices), "rss_before": before, "hosts": list(fleet.by_host)}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def wait_for_answer(address: tuple[str, int], community: str, seconds: float = 30) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sock.sendto(get_packet(community, 1), address)
            try:
                sock.recv(4096)
                return
            except TimeoutError:
                continue
    raise RuntimeError(f"no SNMP answer from {address}")


def bench_simulator(cameras: int, seconds: float, repeat: int) -> dict[str, float]:
    port = free_port(socket.SOCK_DGRAM)
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--cameras", str(cameras)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        packet = get_packet("public", 1)
        targets = [(packet, (host, port)) for host in info["hosts"]]
        wait_for_answer(targets[0][1], "public")
        runs = [measure(process.pid, targets, seconds) for _ in range(repeat)]
        return {"devices": info["devices"], "per_cpu": statistics.median(r[0] for r in runs),
                "per_wall": statistics.median(r[1] for r in runs),
                "bytes_per_device": (rss_bytes(process.pid) - info["rss_before"]) / info["devices"]}
    finally:
        process.terminate()
        process.wait()


# snmpsim started as root drops to `nobody`, who cannot read an interpreter under /root: the
# modules it imports lazily (its index's dbm) are imported before the drop.
SNMPSIM = """import dbm, dbm.dumb, sys
from snmpsim.commands.responder import main
sys.argv[0] = "snmpsim-command-responder"
sys.exit(main())"""


def bench_snmpsim(seconds: float, repeat: int) -> dict[str, float]:
    if shutil.which("snmpsim-command-responder") is None or not SNMPREC.exists():
        raise SystemExit("snmpsim and tests/data are needed for the peer run")
    data = Path(tempfile.mkdtemp(prefix="bench-snmpsim-"))
    shutil.copy(SNMPREC, data / SNMPREC.name)
    (data / "cache").mkdir()
    os.chmod(data, 0o755)
    os.chmod(data / SNMPREC.name, 0o644)
    user = []
    if os.geteuid() == 0:
        shutil.chown(data / "cache", "nobody")
        user = ["--process-user=nobody", "--process-group=nogroup"]
    port = free_port(socket.SOCK_DGRAM)
    process = subprocess.Popen([sys.executable, "-c", SNMPSIM, f"--data-dir={data}", f"--cache-dir={data / 'cache'}",
                                f"--agent-udpv4-endpoint=127.0.0.1:{port}", "--logging-method=null", *user],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        community = SNMPREC.stem
        wait_for_answer(("127.0.0.1", port), community)
        targets = [(get_packet(community, 1), ("127.0.0.1", port))]
        runs = [measure(process.pid, targets, seconds) for _ in range(repeat)]
        return {"per_cpu": statistics.median(r[0] for r in runs), "per_wall": statistics.median(r[1] for r in runs)}
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    args = arguments(__doc__, cameras=14_053, seconds=5.0, repeat=3, serve=True).parse_args()
    if args.serve:
        serve(args.cameras, args.serve)
        return
    ours = bench_simulator(args.cameras, args.seconds, args.repeat)
    peer = bench_snmpsim(args.seconds, args.repeat)
    print(f"{ours['devices']:,} devices ({args.cameras:,} cameras + NVRs + uplinks), v2c GET sysUpTime.0, "
          f"≤{WINDOW} in flight, {args.seconds:g} s × {args.repeat}, medians\n")
    print("| agent | GETs per CPU-second | GETs per second (wall) | memory per device |")
    print("|---|---|---|---|")
    print(f"| fleetmon simulator | {ours['per_cpu']:,.0f} | {ours['per_wall']:,.0f} | "
          f"{ours['bytes_per_device'] / 1024:.2f} KiB |")
    print(f"| snmpsim 1.x ({SNMPREC.name}, one agent) | {peer['per_cpu']:,.0f} | {peer['per_wall']:,.0f} | — |")
    print(f"\nratio simulator/snmpsim per CPU-second: {ours['per_cpu'] / peer['per_cpu']:.1f}")


if __name__ == "__main__":
    main()
