"""Where the bench's pinned tools are: scripts/tools.sh builds them into a versioned cache."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_SCRIPT = REPO_ROOT / "scripts" / "tools.sh"


def pinned_versions(script: Path = TOOLS_SCRIPT) -> dict[str, str]:
    """The ``NAME_VERSION=vX`` pins of scripts/tools.sh, keyed by NAME (``K8S``, ``ETCD``, ``HELM``...)."""
    pins = re.findall(r"^([A-Z0-9_]+)_VERSION=(\S+)", script.read_text(), flags=re.MULTILINE)
    return dict(pins)


def tools_bin_dir() -> Path:
    """Where scripts/tools.sh puts the binaries (``$CHAINLINK_BENCH_BIN`` overrides)."""
    override = os.environ.get("CHAINLINK_BENCH_BIN")
    if override:
        return Path(override)
    out = subprocess.run(
        ["bash", str(TOOLS_SCRIPT), "bin-dir"], check=True, capture_output=True, text=True, cwd=REPO_ROOT
    )
    return Path(out.stdout.strip())


def cache_root() -> Path:
    """The cache's root (tools, the real node, images, downloads)."""
    out = subprocess.run(["bash", str(TOOLS_SCRIPT), "cache-dir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def node_binary() -> Path:
    """Where scripts/tools.sh puts the real Chainlink node (it may not be built yet)."""
    out = subprocess.run(["bash", str(TOOLS_SCRIPT), "node-bin"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())
