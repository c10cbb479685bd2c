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
if (($#)); then
  exec python -m pytest "$@"
fi
# The whole suite, as two pytest runs side by side, each with control planes of its own: the real-pod lane
# and the drills, which mostly wait on pods, nodes and processes, beside the rest. On 2 cores that is about
# 11 min instead of 17; the side's report follows the rest's. Each run's temporary files (the agents' and
# benches' logs) stay in $runs until the next run.
side=(tests/realpods tests/drills)
runs=${TMPDIR:-/tmp}/chainlink-k8s-tests
mkdir -p "$runs"
trap 'kill "$beside" 2>/dev/null || true' EXIT
python -m pytest "${side[@]}" --basetemp="$runs/side" >"$runs/side.log" 2>&1 &
beside=$!
status=0
python -m pytest "${side[@]/#/--ignore=}" --basetemp="$runs/rest" || status=$?
echo "== pytest ${side[*]} (ran beside the above)"
wait "$beside" || status=$((status ? status : $?))
cat "$runs/side.log"
exit "$status"
