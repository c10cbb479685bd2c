"""The chart's renders without its standby, kept as golden files: turning a feature off must render exactly
what the chart rendered before the feature (standby.enabled=false: every manifest byte for byte as before).

    python3 -m tests.chart.golden                        # list the renders that differ from their golden
    python3 -m tests.chart.golden --write                # rewrite the golden files from this chart
    python3 -m tests.chart.golden --write --chart DIR    # ... from another copy of it (e.g. `git archive`)

Each render is `helm template` of the default values, or of one ci/*-values.yaml that leaves the standby off
(and ci/backup-values.yaml with a restore on top, which ct install cannot run), at a pinned Kubernetes version
where the Prometheus Operator's API is served, so every template renders. The goldens are compared byte for
byte after one normalisation: the passwords the chart generates (offline, so new at every render) and the
checksum over them are masked. A change to what the chart renders for an existing release shows as a change of
these files: rewrite them with --write only when that change is meant.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from devkit.chart import CHART

REPO = CHART.parents[1]
GOLDEN = Path(__file__).parent / "golden"
RELEASE, NAMESPACE = "ci", "ci"
WRITE_HINT = "python3 -m tests.chart.golden --write"
MASK = "<generated>"
_CHECKSUM = re.compile(r"^(\s+checksum/secrets: ).*$", re.MULTILINE)
_DATA_ENTRY = re.compile(r"^(  [A-Za-z0-9._-]+: ).*$")


@dataclass(frozen=True)
class Render:
    name: str
    values: str | None  # a file under the chart's ci/, or None for the defaults
    kube_version: str = "1.34.0"
    sets: tuple[str, ...] = ()  # --set values beside the file's

    def args(self, chart: Path) -> list[str]:
        cmd = ["helm", "template", RELEASE, str(chart), "--namespace", NAMESPACE]
        if self.values:
            cmd += ["-f", str(chart / "ci" / self.values)]
        cmd += ["--set", "credentials.generateOffline=true", "--kube-version", self.kube_version]
        for value in self.sets:
            cmd += ["--set", value]
        for kind in ("ServiceMonitor", "PrometheusRule"):
            cmd += ["--api-versions", f"monitoring.coreos.com/v1/{kind}"]
        return cmd

    @property
    def golden(self) -> Path:
        return GOLDEN / f"{self.name}.yaml"


RESTORE = (
    "restore.enabled=true",
    "restore.ageIdentitySecret=ci-age-identity",
    "node.keystore.existingSecret=ci-keystore",
)


def _standby_on(path: Path) -> bool:
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return bool((values.get("standby") or {}).get("enabled"))


def renders() -> list[Render]:
    """The chart's own values.yaml (on the current Kubernetes, and on 1.28: the agent as a regular container,
    and no admission policy, which the chart renders only when told so), and every ci values file that leaves
    the standby off."""
    unprotected = ("agent.admissionPolicy.allowUnprotected=true",)
    found = [Render("values", None), Render("values-kube-1.28", None, "1.28.0", unprotected)]
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        if not _standby_on(path):
            found.append(Render(path.stem.removesuffix("-values"), path.name))
    # A restore on top of the backups: init containers a ct install cannot run (they would fetch from S3).
    found.append(Render("backup-restore", "backup-values.yaml", sets=RESTORE))
    return found


def normalise(text: str) -> str:
    """Masks what differs between two renders of the same chart: the data of the Secrets the chart generates
    (kept on uninstall: helm.sh/resource-policy) and the pod's checksum over them."""
    docs = re.split(r"(?m)^(?=---\n)", text)
    return "".join(_CHECKSUM.sub(rf"\g<1>{MASK}", _mask_generated(doc)) for doc in docs)


def _mask_generated(doc: str) -> str:
    if not (re.search(r"(?m)^kind: Secret$", doc) and "helm.sh/resource-policy: keep" in doc):
        return doc
    lines, in_data = [], False
    for line in doc.split("\n"):
        if line == "data:":
            in_data = True
        elif in_data and not line.startswith("  "):
            in_data = False
        entry = _DATA_ENTRY.match(line) if in_data else None
        lines.append(entry[1] + MASK if entry else line)
    return "\n".join(lines)


def render(item: Render, env: dict[str, str], chart: Path = CHART) -> str:
    proc = subprocess.run(
        item.args(chart), cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(item.args(chart))} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return normalise(proc.stdout)


def difference(item: Render, rendered: str, limit: int = 80) -> str:
    """A unified diff of the golden against the render, cut to `limit` lines; empty when they match."""
    golden = item.golden.read_text(encoding="utf-8") if item.golden.exists() else ""
    if golden == rendered:
        return ""
    diff = list(
        difflib.unified_diff(
            golden.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            f"golden/{item.golden.name}",
            "rendered",
        )
    )
    cut = diff[:limit] + ([f"... {len(diff) - limit} more lines\n"] if len(diff) > limit else [])
    return "".join(cut)


def tools_env() -> dict[str, str]:
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "tools.sh"), "bin-dir"], capture_output=True, text=True, check=True
    )
    env = dict(os.environ)
    env["PATH"] = f"{out.stdout.strip()}{os.pathsep}{env.get('PATH', '')}"
    return env


def main(argv: list[str]) -> int:
    chart = Path(argv[argv.index("--chart") + 1]).resolve() if "--chart" in argv else CHART
    env = tools_env()
    failed = 0
    for item in renders():
        rendered = render(item, env, chart)
        if "--write" in argv:
            GOLDEN.mkdir(exist_ok=True)
            item.golden.write_text(rendered, encoding="utf-8")
        elif diff := difference(item, rendered):
            failed += 1
            print(diff)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
