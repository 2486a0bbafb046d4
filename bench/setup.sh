#!/bin/sh
# Set-up of the benches, after scripts/setup.sh: the `bench` extra in .venv (pysnmp, matplotlib), and
# the peers bench/bench_vs_exporters.py runs against fleetmon, Debian's Prometheus SNMP and blackbox
# exporters. The tests do not need these, so scripts/setup.sh leaves them out. The packages'
# services are not wanted: the bench starts each exporter itself, on loopback, with its own config.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! dpkg-query -W -f='${Status}' prometheus-snmp-exporter prometheus-blackbox-exporter 2>/dev/null \
    | grep -c "install ok installed" | grep -q 2; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    prometheus-snmp-exporter prometheus-blackbox-exporter >/dev/null
  for service in prometheus-snmp-exporter prometheus-blackbox-exporter; do
    $SUDO systemctl disable --now "$service" 2>/dev/null || true
  done
fi
.venv/bin/python -m pip install -q -e '.[bench]'
