"""The chart's monitoring pieces rendered as a release would have them, and the tools that check them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devkit.chart import CHART, run
from devkit.cluster.tools import pinned_versions

# The release alerts_test.yaml's series belong to: its job is "r-chainlink-node-headless" in namespace "ns".
RELEASE, NAMESPACE = "r", "ns"


def tool(env: dict[str, str], name: str) -> str:
    """The path of a bench tool that scripts/tools.sh builds; skips the test where it has not been built."""
    bin_dir = Path(env["PATH"].split(":", 1)[0])
    if not (bin_dir / name).exists():
        pytest.skip(f"{name} is not in {bin_dir}: scripts/tools.sh builds it")
    return str(bin_dir / name)


def render(env: dict[str, str], template: str, *sets: str) -> dict[str, Any]:
    """One template of the chart, rendered where the Prometheus Operator's API is served."""
    cmd = ["helm", "template", RELEASE, str(CHART), "-n", NAMESPACE, "--show-only", f"templates/{template}"]
    cmd += ["--api-versions", "monitoring.coreos.com/v1/PrometheusRule"]
    for value in ("credentials.generateOffline=true", *sets):
        cmd += ["--set", value]
    return yaml.safe_load(run(cmd, env))


NODE_MODULE = "github.com/smartcontractkit/chainlink/v2"


def node_source(module: str = NODE_MODULE) -> Path:
    """The source of a module of the node scripts/tools.sh builds, in the Go module cache: the node's own at
    its pinned version, any other at the version the node's go.mod requires. Skips the test where the node's
    build has not fetched it."""
    gomodcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=False)
    cache = Path(gomodcache.stdout.strip() or os.path.expanduser("~/go/pkg/mod"))
    source = cache / f"{NODE_MODULE}@{pinned_versions()['CHAINLINK']}"
    if module != NODE_MODULE and source.is_dir():
        go_mod = (source / "go.mod").read_text()
        required = re.search(rf"^\s+{re.escape(module)} (\S+)$", go_mod, re.MULTILINE)
        assert required, f"the node's go.mod does not require {module}"
        source = cache / f"{module}@{required[1]}"
    if not source.is_dir():
        pytest.skip(f"no node source at {source}: scripts/tools.sh fetches it")
    return source


def spec(env: dict[str, str], *sets: str) -> dict[str, Any]:
    return render(env, "prometheusrule.yaml", "metrics.prometheusRule.enabled=true", *sets)["spec"]


def rules(env: dict[str, str], *sets: str) -> list[dict[str, Any]]:
    return [rule for group in spec(env, *sets)["groups"] for rule in group["rules"]]
