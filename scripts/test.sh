#!/usr/bin/env bash
# The project's one test command: sets up what is missing, then lint, type checks and every test.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
activate=$(bash scripts/setup.sh)
# shellcheck disable=SC1090
source "$activate"
export PATH="$(bash scripts/tools.sh bin-dir):$PATH"

echo "== ruff"; ruff check . && ruff format --check .
echo "== mypy"; mypy
echo "== pytest"
# pytest exits 5 when it collects nothing, so an empty run fails here too.
python -m pytest "$@"
