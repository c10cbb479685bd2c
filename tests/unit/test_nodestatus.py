"""The ChainlinkNode status a report writes: counts, keys, health and the Ready condition, written only on a
change, and the gauges that mirror it."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from chainlink_agent.model.errors import NodeRejected, NodeUnavailable
from chainlink_agent.model.nodetypes import EthBalance, EthKey, KeyBundle, NodeFacts, P2PKey, RpcNode
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.standby.role import ROLE_LABEL, Role
from chainlink_agent.status.nodestatus import STALLED_AFTER, Chains, NodeReporter, Observed, failovers, status
from prometheus_client import generate_latest

from tests.unit.bounds import status_schema, violations

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
        self.refusing: set[str] = set()  # calls answered with a 401
        self.calls: list[str] = []
        self.rpcs = [RpcNode("1337", "primary-0", "Alive")]
        self.balances = [EthBalance("0xA", "1337", 10**18)]
        self.head_numbers = {"1337": 100}

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise NodeUnavailable("connection refused")
        if name in self.refusing:
            raise NodeRejected(401, "invalid token")

    def rpc_nodes(self) -> list[RpcNode]:
        self._call("rpc_nodes")
        return self.rpcs

    def eth_balances(self) -> list[EthBalance]:
        self._call("eth_balances")
        return self.balances

    def heads(self) -> dict[str, int]:
        self._call("heads")
        return self.head_numbers

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
    # Version, CSA key and key balances (each a chain read on the node): once per resync; health, RPC nodes
    # and heads every report.
    assert node.calls == [
        "build_info",
        "csa",
        "health",
        "rpc_nodes",
        "eth_balances",
        "heads",
        "health",
        "rpc_nodes",
        "heads",
    ]
    value = metrics.registry.get_sample_value
    assert value("chainlink_agent_node_health_check", {"check": "JobSpawner"}) == 1
    assert value("chainlink_agent_node_health_check", {"check": "EVM.1337.HeadTracker.HeadListener"}) == 0
    jobs["chainlinkjobs/ns/b"] = "Pending"
    node.down, node.last_call_ok = True, False
    report.report("the Chainlink node is not answering")
    latest = kube.written[-1]
    assert (latest["jobs"]["summary"], latest["apiReachable"], latest["version"]) == ("1/2", False, "2.23.0")
    assert "health" not in latest
    assert "chains" not in latest  # nor were the chains read: three more timeouts
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


T0 = "2026-12-01T00:00:00Z"


def chains_status(chains: Chains, previous: dict[str, Any] | None = None, at: str = T0) -> dict[str, Any]:
    observed = Observed(generation=1, not_ready=None, api_reachable=True, agent_version="x", chains=chains)
    return status(observed, previous, at)


def test_each_chain_has_its_rpc_nodes_head_and_key_balances_and_all_ok_reads_n_of_n_ok() -> None:
    chains = Chains(
        rpcs=[RpcNode("1337", "primary-0", "Alive"), RpcNode("11155111", "sepolia-0", "Alive")],
        keys=[EthBalance("0xA", "1337", 10**30), EthBalance("0xB", "11155111", 0)],
        heads={"1337": 7, "11155111": 9_000_000},
    )
    body = chains_status(chains)
    assert body["chainsSummary"] == "2/2 OK"
    assert body["chains"][0] == {
        "id": "1337",
        "state": "OK",
        "rpcs": [{"name": "primary-0", "state": "Alive"}],
        "head": {"number": 7, "seenTime": T0, "ageSeconds": 0},
        "keys": [{"address": "0xA", "disabled": False, "ethBalance": str(10**30)}],  # beyond an int64
    }
    assert [c["id"] for c in body["chains"]] == ["1337", "11155111"]
    assert "chainReadErrors" not in body


def test_a_head_that_does_not_move_keeps_its_time_ages_and_stalls_the_chain() -> None:
    chains = Chains(rpcs=[RpcNode("1", "a", "Alive")], keys=[EthBalance("0xA", "1", 1)], heads={"1": 7})
    first = chains_status(chains)
    later = chains_status(chains, first, "2026-12-01T00:03:01Z")
    assert later["chains"][0]["head"] == {"number": 7, "seenTime": T0, "ageSeconds": STALLED_AFTER + 1}
    assert (later["chains"][0]["state"], later["chains"][0]["message"]) == (
        "Stalled",
        "head 7 unchanged for 181 s",
    )
    assert later["chainsSummary"] == "0/1 OK, 1 Stalled"
    moved = chains_status(replace(chains, heads={"1": 8}), later, "2026-12-01T00:03:31Z")
    assert moved["chains"][0]["head"] == {"number": 8, "seenTime": "2026-12-01T00:03:31Z", "ageSeconds": 0}
    assert moved["chains"][0]["state"] == "OK"


def test_a_chain_whose_rpcs_are_all_unreachable_is_down_and_named_in_the_summary() -> None:
    chains = Chains(
        rpcs=[
            RpcNode("1337", "primary-0", "Alive"),
            RpcNode("5", "goerli-0", "Unreachable"),
            RpcNode("5", "goerli-1", "InvalidChainID"),
        ],
        keys=[EthBalance("0xA", "1337", 1), EthBalance("0xB", "5", None)],
        heads={"1337": 7},
    )
    body = chains_status(chains)
    down = body["chains"][0]  # in numeric order
    assert (down["id"], down["state"]) == ("5", "Down")
    assert down["message"] == (
        "not Alive: goerli-0 Unreachable, goerli-1 InvalidChainID; no head seen yet; balance unknown: 0xB"
    )
    assert down["keys"] == [{"address": "0xB", "disabled": False}]  # no balance rather than a made-up one
    assert "head" not in down
    assert body["chainsSummary"] == "1/2 OK, 5 Down"


def test_one_rpc_node_down_of_two_is_degraded() -> None:
    rpcs = [RpcNode("1", "a", "Alive"), RpcNode("1", "b", "OutOfSync")]
    body = chains_status(Chains(rpcs=rpcs, keys=[EthBalance("0xA", "1", 1)], heads={"1": 7}))
    assert (body["chains"][0]["state"], body["chains"][0]["message"]) == (
        "Degraded",
        "not Alive: b OutOfSync",
    )


def test_a_chain_without_an_enabled_eth_key_says_so() -> None:
    rpcs = [RpcNode("1", "a", "Alive"), RpcNode("2", "b", "Alive")]
    keys = [EthBalance("0xA", "2", 1, disabled=True)]
    body = chains_status(Chains(rpcs=rpcs, keys=keys, heads={"1": 7, "2": 9}))
    assert [(c["id"], c["state"], c.get("message")) for c in body["chains"]] == [
        ("1", "NoKey", "no enabled ETH key"),
        ("2", "NoKey", "no enabled ETH key"),
    ]
    assert body["chains"][0]["keys"] == []


def test_a_failed_read_leaves_the_others_and_says_which_failed() -> None:
    rpcs = [RpcNode("1", "a", "Alive")]
    failed = ["heads: 401: invalid token"]
    body = chains_status(Chains(rpcs=rpcs, keys=[EthBalance("0xA", "1", 1)], failed=failed))
    assert body["chainReadErrors"] == failed
    assert body["chains"][0]["state"] == "OK"  # nothing known against it
    assert "head" not in body["chains"][0]
    assert body["chainsSummary"] == "1/1 OK (1 read failed)"
    unknown = chains_status(Chains(keys=[], heads={}, failed=["RPC nodes: GET /v2/nodes/evm: 502: bad"]))
    assert (unknown["chainsSummary"], "chains" in unknown) == ("Unknown", False)


def test_a_report_carries_on_past_a_chain_read_the_node_refuses() -> None:
    report, kube, node, _jobs, _metrics = reporter()
    node.refusing = {"heads", "eth_balances"}
    report.report(None)
    latest = kube.written[-1]
    assert latest["chainReadErrors"] == ["ETH keys: 401: invalid token", "heads: 401: invalid token"]
    assert latest["chains"] == [
        {"id": "1337", "rpcs": [{"name": "primary-0", "state": "Alive"}], "state": "OK"}
    ]
    assert (latest["health"]["failing"], latest["jobs"]["summary"]) == (1, "1/1")


def test_an_unchanged_live_chain_writes_nothing_more() -> None:
    report, kube, node, _jobs, _metrics = reporter()
    report.report(None)
    report.report(None, read_build=False)
    assert len(kube.written) == 1
    node.head_numbers = {"1337": 101}
    report.report(None, read_build=False)
    assert len(kube.written) == 2  # a new head is a change: on a live chain, a write per report


def test_a_node_with_more_chains_rpc_nodes_and_keys_than_the_crd_holds_is_cut_to_its_bounds():
    many = range(100)
    chains = Chains(
        rpcs=[RpcNode(str(c), f"rpc-{c}-{r}-" + "x" * 50, "Unreachable") for c in many for r in many],
        keys=[EthBalance(f"0x{c}{k}", str(c), None) for c in many for k in many],
        heads={},
        failed=["RPC nodes: " + "x" * 100_000, "ETH keys: x", "heads: x"],
    )
    observed = Observed(generation=1, not_ready=None, api_reachable=True, agent_version="x", chains=chains)
    body = status(observed, None, "2026-01-01T00:00:00Z")
    assert violations(status_schema("chainlinknodes"), body) == []
    assert len(body["chains"]) == 64
