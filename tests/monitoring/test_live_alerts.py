"""The chart's node alerts on a live node: a real Prometheus scrapes a real node following its own dev chain
(geth --dev) and evaluates the rules templates/prometheusrule.yaml renders, their expressions unchanged. The
waits are shortened: noNewHeadsFor is a value; every rule's `for` is fixed minutes in the template, so the
rendered rules get FOR in its place. Prometheus scrapes and evaluates every second."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from devkit.chainnode import FUNDS, ChainNode, node_on_chain
from devkit.cluster.devchain import DevChain
from devkit.cluster.fixtures import serving
from devkit.cluster.prometheus import Prometheus
from devkit.harness import eventually
from devkit.realnode.fixtures import RealNodes

from .rendering import NAMESPACE, RELEASE, spec

NO_NEW_HEADS_FOR = "5s"
FOR = "3s"
# The target as the chart's ServiceMonitor makes it: the Prometheus Operator names the job after the headless
# Service and adds these labels, which the rules select on (templates/servicemonitor.yaml).
JOB = f"{RELEASE}-chainlink-node-headless"
TARGET_LABELS = {"namespace": NAMESPACE, "pod": f"{RELEASE}-chainlink-node-0", "endpoint": "api"}


def with_for(groups: list[dict[str, Any]], duration: str) -> list[dict[str, Any]]:
    """The groups with `duration` as the `for` of each rule that has one."""
    return [
        {**group, "rules": [{**rule, "for": duration} if "for" in rule else rule for rule in group["rules"]]}
        for group in groups
    ]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevChain]:
    """A chain of this module's own, which it stops and starts again: kept on disk, so that it comes back
    where it stopped, as an RPC node that restarts does."""
    yield from serving(DevChain(tmp_path_factory.mktemp("live-alerts-chain"), persist=True), "dev chain")


@pytest.fixture(scope="module")
def chain_node(real_nodes: RealNodes, chain: DevChain) -> Iterator[ChainNode]:
    with node_on_chain(real_nodes, chain, "live-alerts") as chain_node:
        yield chain_node


@pytest.fixture(scope="module")
def prometheus(
    chain_node: ChainNode, tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    rendered = spec(tools_env, f"metrics.prometheusRule.noNewHeadsFor={NO_NEW_HEADS_FOR}")["groups"]
    target = urlsplit(chain_node.node.url).netloc
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": JOB,
                "static_configs": [{"targets": [target], "labels": TARGET_LABELS}],
            }
        ],
    }
    server = Prometheus(tmp_path_factory.mktemp("prometheus"), config, with_for(rendered, FOR))
    yield from serving(server, "prometheus")


def states(prometheus: Prometheus, alert: str, labels: dict[str, str]) -> set[str]:
    """The states of the alert's active instances with these labels: pending, firing, or none."""
    return {
        a["state"]
        for a in prometheus.alerts()
        if a["labels"]["alertname"] == alert and labels.items() <= a["labels"].items()
    }


def states_until_firing(
    prometheus: Prometheus, timeout: float, alerts: dict[str, dict[str, str]]
) -> dict[str, list[str]]:
    """The states each alert (by name, with labels) goes through, polled five times a second, until all
    fire."""
    seen: dict[str, list[str]] = {alert: [] for alert in alerts}
    deadline = time.monotonic() + timeout
    while not all("firing" in states_seen for states_seen in seen.values()):
        assert time.monotonic() < deadline, f"not all firing within {timeout}s; saw {seen}"
        for alert, labels in alerts.items():
            seen[alert] += [s for s in sorted(states(prometheus, alert, labels)) if s not in seen[alert]]
        time.sleep(0.2)
    return seen


def test_a_key_below_the_minimum_balance_fires_balance_low_until_it_is_funded(
    prometheus: Prometheus, chain_node: ChainNode, chain: DevChain
) -> None:
    # A new node's key holds nothing; the node reads its balance at each new head (chainlink-evm
    # pkg/monitor/balance.go). FUNDS is over the chart's default minBalance of 0.1.
    key = {"account": chain_node.key, "evmChainID": chain_node.chain_id}
    low = "ChainlinkBalanceLow"
    assert states_until_firing(prometheus, 60, {low: key}) == {low: ["pending", "firing"]}
    chain.fund(chain_node.key, FUNDS)
    eventually(lambda: not states(prometheus, low, key), 15, f"{low} to clear")


def test_with_the_chain_stopped_the_head_stall_and_rpc_down_alerts_fire_and_clear_once_it_is_back(
    prometheus: Prometheus, chain_node: ChainNode, chain: DevChain
) -> None:
    chain_id = chain_node.chain_id
    alerts = {
        "ChainlinkNoNewHeads": {"evmChainID": chain_id},
        "ChainlinkRPCNodesDown": {"chainId": chain_id, "network": "EVM"},
    }

    def quiet() -> bool:
        return not any(states(prometheus, alert, labels) for alert, labels in alerts.items())

    eventually(quiet, 30, f"none of {list(alerts)} active while the chain runs")
    height = chain.block_number()
    chain.stop()
    # The head stays at the last block, so the head-stall alert fires once the range has no change: the range
    # is its wait, it has no `for`. The node counts its RPC node Unreachable once the WebSocket drops, and
    # reports the count every 6.5 s (chainlink-framework multinode/multi_node.go).
    assert states_until_firing(prometheus, 30, alerts) == {
        "ChainlinkNoNewHeads": ["firing"],
        "ChainlinkRPCNodesDown": ["pending", "firing"],
    }
    chain.start()
    assert chain.block_number() >= height, "the chain came back at its genesis, not where it stopped"
    eventually(quiet, 60, f"{list(alerts)} to clear with the chain back")
