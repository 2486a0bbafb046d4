#!/usr/bin/env bash
# The main job on a machine with no real fleet configured: set up, then `fleetmon demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/fleetmon demo "$@"
