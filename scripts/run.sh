#!/usr/bin/env bash
# The main job: set up, then monitor the configured fleet (`fleetmon run`), or, when no fleet is
# configured (no $FLEETMON_CONFIG, no ./fleetmon.yaml), the demo: a simulated sample province.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -n "${FLEETMON_CONFIG:-}" ] || [ -f fleetmon.yaml ]; then
  exec .venv/bin/fleetmon run "$@"
fi
exec .venv/bin/fleetmon demo "$@"
