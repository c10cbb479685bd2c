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
if (($#)) || [[ ${CHAINLINK_K8S_REAL_PODS:-1} == 0 ]]; then
  exec python -m pytest "$@"
fi
# The whole suite: the real-pod lane spends its time waiting on pods and runs on a control plane of its own,
# so it runs beside the rest (about 9 min of 20 on 2 cores); its report follows the others'.
# Each run's temporary files (the agents' and benches' logs) stay there until the next run.
runs=${TMPDIR:-/tmp}/chainlink-k8s-tests
mkdir -p "$runs"
trap 'kill "$pods" 2>/dev/null || true' EXIT
python -m pytest tests/realpods --basetemp="$runs/realpods" >"$runs/realpods.log" 2>&1 &
pods=$!
status=0
python -m pytest --ignore=tests/realpods --basetemp="$runs/rest" || status=$?
echo "== pytest tests/realpods (ran beside the above)"
wait "$pods" || status=$((status ? status : $?))
cat "$runs/realpods.log"
exit "$status"
