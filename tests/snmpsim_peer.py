"""snmpsim (a third-party SNMP agent) serving the real-device recordings of `tests/data/snmprec/`.

Each recording answers under its file name as v2c community and as SNMPv3 context name (user
`simulator`, SHA key `auctoritas`, AES key `privatus`). Started as root, snmpsim drops to `nobody`,
who may not read this interpreter's library: the modules it imports lazily after the drop are
imported before it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.peers import data_file, free_port, need_binary

LAUNCH = "import sys, dbm, dbm.dumb, encodings.latin_1, encodings.ascii\nfrom snmpsim.commands.responder import main\nsys.exit(main())"
V3_USER, V3_AUTH_KEY, V3_PRIV_KEY = "simulator", "auctoritas", "privatus"


@contextmanager
def serve_recordings(*extra_dirs: Path) -> Iterator[int]:
    """The UDP port snmpsim answers on, once it has indexed every recording; stopped on exit."""
    port = free_port(socket.SOCK_DGRAM)
    cache = Path(tempfile.mkdtemp(prefix="fleetmon-snmpsim-"))
    cache.chmod(0o777)
    drop = ["--process-user=nobody", "--process-group=nogroup"] if os.geteuid() == 0 else []
    dirs = [f"--data-dir={d}" for d in (data_file("snmprec"), *extra_dirs)]
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *dirs, f"--cache-dir={cache}", f"--v3-user={V3_USER}",
         f"--v3-auth-key={V3_AUTH_KEY}", "--v3-auth-proto=SHA", f"--v3-priv-key={V3_PRIV_KEY}", "--v3-priv-proto=AES",
         f"--agent-udpv4-endpoint=127.0.0.1:{port}", "--logging-method=null", *drop],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(cache, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Until snmpsim answers a GET for one recording (it indexes them all first); fails naming its exit."""
    get = [need_binary("snmpget"), "-v2c", "-c", "linux", "-t", "0.3", "-r", "0", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.1.0"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read().decode(errors="replace")[-800:] if process.stderr else ""
            pytest.fail(f"snmpsim exited with {process.returncode}: {errors}")
        if subprocess.run(get, capture_output=True).returncode == 0:
            return
    pytest.fail(f"snmpsim did not answer on port {port} within {seconds:g} s")
