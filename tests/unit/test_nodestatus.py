"""The ChainlinkNode status a report writes: counts, keys, health and the Ready condition, written only on a
change, and the gauges that mirror it."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from chainlink_agent.errors import NodeUnavailable
from chainlink_agent.metrics import Metrics
from chainlink_agent.nodestatus import NodeReporter, Observed, failovers, status
from chainlink_agent.nodetypes import EthKey, KeyBundle, NodeFacts, P2PKey
from chainlink_agent.role import ROLE_LABEL, Role
from prometheus_client import generate_latest

FACTS = NodeFacts(
    p2p_keys=(P2PKey("p2p_12D3KooWA", "ab12"),),
    ocr2_bundles=(KeyBundle("b1", "evm", "ocr2on_evm_1", "ocr2off_evm_2", "ocr2cfg_evm_3"),),
    eth_keys=(EthKey("0xA", "11155111"),),
)


def test_status_counts_keys_and_health() -> None:
    observed = Observed(
        generation=2,
        not_ready=None,
        api_reachable=True,
        agent_version="0.2.0",
        version="2.23.0",
        commit="abc",
        health={"JobSpawner": "passing", "EVM.1.HeadTracker": "failing"},
        facts=FACTS,
        csa=("csa_ff",),
        phases={"chainlinkjobs": ["Synced", "Synced", "Error"], "chainlinkbridges": []},
        last_resync=0.0,
    )
    body = status(observed, None, "2026-12-01T00:00:00Z")
    assert body["jobs"] == {"summary": "2/3", "total": 3, "phases": {"Error": 1, "Synced": 2}}
    assert body["bridges"] == {"summary": "0/0", "total": 0}  # no empty map: applied, it would be null
    assert body["health"] == {"passing": 1, "failing": 1, "failingChecks": ["EVM.1.HeadTracker"]}
    assert body["keys"]["ocr2"] == [
        {
            "chainType": "evm",
            "id": "b1",
            "onchainPublicKey": "ocr2on_evm_1",
            "offchainPublicKey": "ocr2off_evm_2",
            "configPublicKey": "ocr2cfg_evm_3",
        }
    ]
    assert body["keys"]["p2p"] == [{"peerID": "p2p_12D3KooWA", "publicKey": "ab12"}]
    assert body["keys"]["csa"] == [{"publicKey": "csa_ff"}]
    assert (body["version"], body["lastResyncTime"]) == ("2.23.0", "1970-01-01T00:00:00Z")
    [ready] = body["conditions"]
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("True", "Ready", 2)
    assert body["observedGeneration"] == 2
    # The transition time stays while the condition's status does: an unchanged node writes nothing.
    assert status(observed, body, "2026-12-02T00:00:00Z") == body


class FakeKube:
    def __init__(self) -> None:
        self.generation: int | None = 1
        self.written: list[dict[str, Any]] = []

        self.pods: dict[str, dict[str, Any]] = {}

    def chainlink_node(self) -> dict[str, Any] | None:
        if self.generation is None:
            return None
        return {
            "metadata": {"generation": self.generation},
            "status": self.written[-1] if self.written else {},
        }

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.pods.get(name)

    def apply_node_status(self, status: dict[str, Any]) -> None:
        self.written.append(status)


class FakeNode:
    def __init__(self) -> None:
        self.last_call_ok = True
        self.down = False
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise NodeUnavailable("connection refused")

    def build_info(self) -> tuple[str, str]:
        self._call("build_info")
        return "2.23.0", "abc"

    def health(self) -> dict[str, str]:
        self._call("health")
        return {"JobSpawner": "passing", "EVM.1337.HeadTracker.HeadListener": "failing"}

    def csa_public_keys(self) -> list[str]:
        self._call("csa")
        return ["csa_ff"]


def reporter() -> tuple[NodeReporter, FakeKube, FakeNode, dict[str, str], Metrics]:
    kube, node, jobs, metrics = FakeKube(), FakeNode(), {"chainlinkjobs/ns/a": "Synced"}, Metrics()
    phases = {"chainlinkjobs": jobs, "chainlinkbridges": {}}
    return (
        NodeReporter(kube, node, lambda: FACTS, lambda: 1.0, phases, metrics, 30.0),
        kube,
        node,
        jobs,
        metrics,
    )


def test_a_report_writes_only_a_change_and_keeps_what_a_down_node_last_said() -> None:
    report, kube, node, jobs, metrics = reporter()
    report.report(None)
    report.report(None, read_build=False)
    assert len(kube.written) == 1
    assert node.calls == ["build_info", "csa", "health", "health"]  # version and CSA key: once per resync
    value = metrics.registry.get_sample_value
    assert value("chainlink_agent_node_health_check", {"check": "JobSpawner"}) == 1
    assert value("chainlink_agent_node_health_check", {"check": "EVM.1337.HeadTracker.HeadListener"}) == 0
    jobs["chainlinkjobs/ns/b"] = "Pending"
    node.down, node.last_call_ok = True, False
    report.report("the Chainlink node is not answering")
    latest = kube.written[-1]
    assert (latest["jobs"]["summary"], latest["apiReachable"], latest["version"]) == ("1/2", False, "2.23.0")
    assert "health" not in latest
    assert latest["conditions"][0]["status"] == "False"
    assert value("chainlink_agent_node_health_check", {"check": "JobSpawner"}) is None
    assert value("chainlink_agent_ready") == 0
    assert value("chainlink_agent_node_up") == 0
    assert value("chainlink_agent_resources", {"kind": "ChainlinkJob", "phase": "Pending"}) == 1
    assert value("chainlink_agent_resources", {"kind": "ChainlinkBridge", "phase": "Error"}) == 0
    assert (
        value("chainlink_agent_build_info", {"version": report._agent_version, "node_version": "2.23.0"}) == 1
    )
    assert value("chainlink_agent_last_resync_timestamp_seconds") == 1.0


def test_no_chainlinknode_no_write() -> None:
    report, kube, _, _, metrics = reporter()
    kube.generation = None
    report.report(None)
    assert kube.written == []
    assert metrics.registry.get_sample_value("chainlink_agent_ready") == 1


def test_a_node_not_ready_is_reconciling_for_kstatus() -> None:
    observed = Observed(
        generation=1, not_ready="the Chainlink node is not answering", api_reachable=False, agent_version="x"
    )
    body = status(observed, None, "2026-12-01T00:00:00Z")
    assert [(c["type"], c["status"]) for c in body["conditions"]] == [
        ("Ready", "False"),
        ("Reconciling", "True"),
    ]
    ready = status(replace(observed, not_ready=None), body, "2026-12-01T00:01:00Z")
    assert [(c["type"], c["lastTransitionTime"]) for c in ready["conditions"]] == [
        ("Ready", "2026-12-01T00:01:00Z")
    ]


def standby_reporter(pod: str = "node-a-1") -> tuple[NodeReporter, FakeKube, FakeNode, Role, Metrics]:
    kube, node, metrics = FakeKube(), FakeNode(), Metrics()
    role = Role(node=_Answering(), pods=None, pod_name=pod)
    phases: dict[str, dict[str, str]] = {"chainlinkjobs": {}, "chainlinkbridges": {}}
    reporter = NodeReporter(kube, node, lambda: FACTS, lambda: 1.0, phases, metrics, 30.0, role, pod)
    return reporter, kube, node, role, metrics


class _Answering:
    def serving(self) -> bool:
        return True


def ready_pod(labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels or {}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_beside_a_standby_node_the_agent_writes_no_status_and_calls_no_node() -> None:
    report, kube, node, _role, metrics = standby_reporter()
    report.report(None)
    assert kube.written == []
    assert node.calls == []
    value = metrics.registry.get_sample_value
    assert (value("chainlink_agent_node_active"), value("chainlink_agent_ready")) == (0, 1)
    assert value("chainlink_agent_resources", {"kind": "ChainlinkJob", "phase": "Synced"}) is None


def test_the_active_pods_agent_reports_both_pods_and_counts_a_takeover_once() -> None:
    report, kube, _node, role, metrics = standby_reporter("node-a-1")
    kube.written.append({"activePod": "node-a-0", "failovers": 2})  # what the other pod's agent last wrote
    kube.pods["node-a-0"] = ready_pod({ROLE_LABEL: "standby"})
    role.poll()
    report.report(None)
    report.report(None)
    latest = kube.written[-1]
    assert (latest["activePod"], latest["standby"], latest["failovers"]) == (
        "node-a-1",
        {"pod": "node-a-0", "ready": True},
        3,
    )
    assert latest["lastFailoverTime"] == kube.written[1]["lastFailoverTime"]
    value = metrics.registry.get_sample_value
    assert value("chainlink_agent_standby_ready", {"standby_pod": "node-a-0"}) == 1
    assert (value("chainlink_agent_node_failovers"), value("chainlink_agent_node_active")) == (3, 1)


def test_the_first_active_pod_is_no_failover() -> None:
    assert failovers({}, "node-a-0", "t1") == (0, None)
    assert failovers(
        {"activePod": "node-a-0", "failovers": 1, "lastFailoverTime": "t0"}, "node-a-0", "t1"
    ) == (
        1,
        "t0",
    )


def test_with_backups_the_gauge_is_the_last_success_or_the_agents_start_while_none_has() -> None:
    kube, node, metrics = FakeKube(), FakeNode(), Metrics()
    phases: dict[str, dict[str, str]] = {"chainlinkjobs": {}, "chainlinkbridges": {}}
    report = NodeReporter(kube, node, lambda: FACTS, lambda: 1.0, phases, metrics, 30.0, backups=True)
    started = time.time()
    report.report(None)
    value = metrics.registry.get_sample_value
    grace = value("chainlink_agent_backup_last_success_timestamp_seconds", {"node": ""})
    assert grace is not None
    assert abs(grace - started) < 5
    kube.written.append({"backup": {"result": "Failed", "lastSuccessTime": "2026-12-04T03:00:07Z"}})
    report.report(None)
    assert value("chainlink_agent_backup_last_success_timestamp_seconds", {"node": ""}) == 1796353207.0


def test_without_backups_there_is_no_backup_gauge() -> None:
    report, _kube, _node, _jobs, metrics = reporter()
    report.report(None)
    assert (
        "chainlink_agent_backup_last_success_timestamp_seconds{"
        not in generate_latest(metrics.registry).decode()
    )
