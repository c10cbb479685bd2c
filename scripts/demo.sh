#!/usr/bin/env bash
# The main job on a local default: sets up the machine (as scripts/test.sh does), then runs devkit/demo.py
# (python -m devkit.demo).
# Arguments go to demo.py (--keep leaves everything running until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
activate=$(bash scripts/setup.sh)
# shellcheck disable=SC1090
source "$activate"
exec python -m devkit.demo "$@"
