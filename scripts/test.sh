#!/usr/bin/env bash
# The test command: set up (peers and venv), the static checks (lint, strict types, the layer
# contracts in pyproject.toml), then the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# A third-party ONVIF camera for tests/thirdparty (tests only, not the main job) (ipycam, MIT). Its declared opencv-python needs
# libGL; the headless build serves it the same, so it goes first and ipycam without its deps.
.venv/bin/python -m pip install -q opencv-python-headless
.venv/bin/python -m pip install -q --no-deps ipycam==1.3.0  # tests/thirdparty/ipycam_camera.py starts its parts by hand
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
