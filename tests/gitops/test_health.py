"""The Argo CD health scripts and Flux's CEL health checks against status objects: each phase an agent
writes, a spec edit its agents have not seen yet, and several nodes at once. The same checks on live objects
of the bench are in tests/integration/test_argocd_health_live.py."""

import pytest
import yaml

from tests.gitops.argocd import CM_PATCH, KINDS, NODE_HEALTH_LUA, SCRIPTS, cm_patch, health
from tests.gitops.flux import flux_status


def job(*entries, generation=1):
    return {"metadata": {"name": "feed", "generation": generation}, "status": {"nodes": list(entries)}}


def entry(node, phase, message="", generation=1):
    return {"node": node, "phase": phase, "message": message, "observedGeneration": generation}


@pytest.mark.parametrize(
    ("obj", "status", "message"),
    [
        ({"metadata": {"generation": 1}}, "Progressing", "no node has reported on this resource yet"),
        (job(entry("a", "Synced"), entry("b", "Synced")), "Healthy", "Synced on a, b"),
        (
            job(entry("a", "Synced"), entry("b", "Pending", "waiting for bridge price")),
            "Progressing",
            "b: Pending (waiting for bridge price)",
        ),
        (
            job(entry("a", "Invalid", "the job TOML does not parse"), entry("b", "Pending")),
            "Degraded",
            "a: Invalid (the job TOML does not parse)",
        ),
        (job(entry("a", "Error", "node unavailable")), "Degraded", "a: Error (node unavailable)"),
        (job(entry("a", "Deleting", "bridge in use")), "Progressing", "a: Deleting (bridge in use)"),
        (job(entry("a", "Suspended")), "Suspended", "spec.suspend is true: removed from a"),
        (job(entry("a", "Synced"), entry("b", "Suspended")), "Healthy", "Synced on a; suspended on b"),
        (job(entry("a", "Synced"), generation=2), "Progressing", "a: generation 2 not seen yet"),
        (
            job(entry("a", "Synced", generation=2), entry("b", "Synced"), generation=2),
            "Progressing",
            "b: generation 2 not seen yet",
        ),
    ],
    ids=[
        "no-entry",
        "synced",
        "pending",
        "invalid-first",
        "error",
        "deleting",
        "suspended",
        "synced-and-suspended",
        "spec-edited",
        "one-node-behind",
    ],
)
def test_health(obj, status, message):
    assert health(obj) == (status, message)


def node(ready="True", generation=1, observed=1, failing=(), message="", **status):
    condition = {"type": "Ready", "status": ready, "message": message}
    health = {"passing": 3, "failing": len(failing), "failingChecks": list(failing)}
    body = {"observedGeneration": observed, "conditions": [condition], "health": health, **status}
    return {"metadata": {"name": "node-a", "generation": generation}, "status": body}


@pytest.mark.parametrize(
    ("obj", "status", "message"),
    [
        ({"metadata": {"generation": 1}}, "Progressing", "the node's agent has not reported yet"),
        (node(version="2.23.0"), "Healthy", "ready, version 2.23.0"),
        (node(generation=2), "Progressing", "generation 2 not seen yet"),
        (
            node("False", message="the Chainlink node is not answering"),
            "Degraded",
            "not ready: the Chainlink node is not answering",
        ),
        (node(failing=["EVM.1.HeadTracker"]), "Degraded", "1 health check(s) failing: EVM.1.HeadTracker"),
    ],
    ids=["no-status", "ready", "spec-edited", "not-ready", "failing-check"],
)
def test_node_health(obj, status, message):
    assert health(obj, NODE_HEALTH_LUA) == (status, message)


def test_the_argocd_cm_patch_holds_each_kinds_script():
    assert CM_PATCH.read_text() == cm_patch(), "regenerate: python -m tests.gitops.argocd --write"
    data = yaml.safe_load(CM_PATCH.read_text())["data"]
    assert set(data) == {f"resource.customizations.health.chainlink-k8s.github.io_{k}" for k in KINDS}
    for kind, script in SCRIPTS.items():
        key = f"resource.customizations.health.chainlink-k8s.github.io_{kind}"
        assert data[key].rstrip() == script.read_text().rstrip()


@pytest.mark.parametrize(
    ("obj", "kind", "status"),
    [
        ({"metadata": {"generation": 1}}, "ChainlinkJob", "InProgress"),
        (job(entry("a", "Synced"), entry("b", "Suspended")), "ChainlinkJob", "Current"),
        (job(entry("a", "Synced"), entry("b", "Pending")), "ChainlinkJob", "InProgress"),
        (job(entry("a", "Synced"), entry("b", "Error")), "ChainlinkBridge", "Failed"),
        (job(entry("a", "Invalid"), generation=2), "ChainlinkJob", "InProgress"),
        (job(entry("a", "Synced"), generation=2), "ChainlinkJob", "InProgress"),
        (node(), "ChainlinkNode", "Current"),
        (node("False"), "ChainlinkNode", "InProgress"),
        (node(generation=2), "ChainlinkNode", "InProgress"),
    ],
    ids=[
        "no-status",
        "synced",
        "pending",
        "error",
        "old-invalid",
        "spec-edited",
        "ready",
        "not-ready",
        "edited",
    ],
)
def test_flux_health_check_exprs(obj, kind, status):
    assert flux_status(obj, kind) == status
