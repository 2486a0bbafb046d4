#!/usr/bin/env bash
# One-time (and idempotent) set-up on a fresh Debian machine: the real peers fleetmon works
# with and is tested against, and a virtual environment with fleetmon installed in it.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(python3-venv snmpd snmp postgresql prometheus prometheus-alertmanager
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils  # reports: weasyprint's PDF, Vietnamese glyphs, pdftotext in tests
  chromium chromium-driver  # console UI tests in a real headless browser
  ffmpeg)  # scenes for the third-party ONVIF camera (ipycam) in tests

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
