"""kube-score (scripts/tools.sh builds it) on the render of every ci/*-values.yaml: every finding must be one
that tests/chart/kube-score-accepted.yaml accepts, with its reason, and every accepted one must still occur.
The objects of extraObjects are left out: the ci files put stand-ins there (a throwaway external database),
not the chart's own objects."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from devkit.chart import CHART, CI_VALUES, run
from tests.chart.golden import Render

ACCEPTED = Path(__file__).with_name("kube-score-accepted.yaml")
ENTRY_KEYS = {"reason", "summaries", "containers", "renders"}
RENDERS = [p.stem.removesuffix("-values") for p in CI_VALUES]
EGRESS_RENDER = "network-egress"  # ci/network-egress-values.yaml: networkPolicy.egress.enabled
GRADE_ALL_OK = 10
_EXTRA_OBJECTS = "# Source: chainlink-node/templates/extra-objects.yaml\n"


@dataclass(frozen=True)
class Finding:
    render: str
    obj: str  # kind/apiVersion/namespace/name, as kube-score names it
    container: str  # "" for a finding about the whole object
    check: str
    summary: str

    def __str__(self) -> str:
        where = f"{self.obj} ({self.container})" if self.container else self.obj
        return f"{self.render}: {where}: [{self.check}] {self.summary}"


def _accepted() -> dict[str, dict[str, Any]]:
    accepted: dict[str, dict[str, Any]] = yaml.safe_load(ACCEPTED.read_text(encoding="utf-8"))
    for check, entry in accepted.items():
        assert entry.get("reason"), f"{ACCEPTED.name}: {check} gives no reason"
        assert set(entry) <= ENTRY_KEYS, f"{ACCEPTED.name}: {check}: unknown keys {set(entry) - ENTRY_KEYS}"
        assert set(entry.get("renders", [])) <= set(RENDERS), f"{ACCEPTED.name}: {check}: no such render"
    return accepted


def _accepts(entry: dict[str, Any], finding: Finding) -> bool:
    limits = {"summaries": finding.summary, "containers": finding.container, "renders": finding.render}
    return all(value in entry[key] for key, value in limits.items() if key in entry)


def _score(render: str, env: dict[str, str], directory: Path) -> list[Finding]:
    manifest = run(Render(render, f"{render}-values.yaml").args(CHART), env)
    docs = [d for d in re.split(r"(?m)^---\n", manifest) if _EXTRA_OBJECTS not in d]
    path = directory / f"{render}.yaml"
    path.write_text("---\n".join(docs), encoding="utf-8")
    cmd = ["kube-score", "score", "--kubernetes-version", "v1.34", "--output-format", "json", str(path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    # Exit code 1 says some check failed; the JSON says which. Anything else is kube-score failing.
    if proc.returncode not in {0, 1} or not proc.stdout.startswith("["):
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    found = []
    for obj in json.loads(proc.stdout):
        for result in obj["checks"]:
            if result["skipped"] or result["grade"] >= GRADE_ALL_OK:
                continue
            check = result["check"]
            for comment in result["comments"] or [{"path": "", "summary": check["name"]}]:
                found.append(
                    Finding(render, obj["object_name"], comment["path"], check["id"], comment["summary"])
                )
    return found


@pytest.fixture(scope="module")
def findings(tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    """Every ci render's findings, by render. CI must lint: a missing kube-score fails, it never skips."""
    if not shutil.which("kube-score", path=tools_env["PATH"]):
        pytest.fail("kube-score missing from the bench's tools: run scripts/tools.sh", pytrace=False)
    directory = tmp_path_factory.mktemp("kube-score")
    return {render: _score(render, tools_env, directory) for render in RENDERS}


@pytest.mark.parametrize("render", RENDERS)
def test_kube_score_finds_nothing_unaccepted(render: str, findings: dict[str, list[Finding]]) -> None:
    accepted = _accepted()
    unaccepted = [f for f in findings[render] if not (f.check in accepted and _accepts(accepted[f.check], f))]
    assert not unaccepted, (
        f"kube-score findings that {ACCEPTED.name} does not accept: fix them, or accept them there with a "
        "reason\n" + "\n".join(map(str, unaccepted))
    )


def test_every_accepted_finding_still_occurs(findings: dict[str, list[Finding]]) -> None:
    everything = [f for found in findings.values() for f in found]
    stale = [
        check
        for check, entry in _accepted().items()
        if not any(f.check == check and _accepts(entry, f) for f in everything)
    ]
    assert not stale, f"{ACCEPTED.name} accepts what kube-score no longer finds; remove: {', '.join(stale)}"


def test_with_egress_on_every_pod_has_an_egress_policy(findings: dict[str, list[Finding]]) -> None:
    """The one render where pod-networkpolicy's acceptance (egress is opt-in) must not be needed."""
    missing = [f for f in findings[EGRESS_RENDER] if f.check == "pod-networkpolicy"]
    assert not missing, "\n".join(map(str, missing))
