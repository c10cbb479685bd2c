"""The chart's monitoring pieces rendered as a release would have them, and the tools that check them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.test_chart import CHART, run, tools_env
from tests.integration.conftest import bridges, crd, jobs, start_agent, start_node

# The chart tests' tools and the integration tests' bench fixtures, shared rather than copied.
__all__ = ["bridges", "crd", "jobs", "render", "start_agent", "start_node", "tool", "tools_env"]

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
