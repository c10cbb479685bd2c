"""The chart and the pinned tools that check it: where it lives, its ci values files, and a pytest fixture
with helm, ct and helm-unittest first on PATH."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

import pytest

from devkit.cluster.tools import REPO_ROOT, tools_bin_dir

CHART = REPO_ROOT / "charts" / "chainlink-node"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))


@pytest.fixture(scope="module")
def tools_env() -> dict[str, str]:
    """Environment with the bench's pinned helm, ct and helm-unittest first on PATH."""
    bin_dir = tools_bin_dir()
    missing = [t for t in ("helm", "ct", "helm-unittest") if not (bin_dir / t).exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing in {bin_dir}: run scripts/tools.sh", pytrace=False)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(cmd: list[str], env: Mapping[str, str], timeout: float = 120) -> str:
    """Run a tool from the repository root; fail the test with its output unless it exits 0."""
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{output[-6000:]}", pytrace=False)
    return output
