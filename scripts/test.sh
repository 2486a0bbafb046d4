#!/usr/bin/env bash
# The test command: set up (peers and venv), the static checks (lint, strict types, the layer
# contracts in pyproject.toml), then the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
