"""A real node following the bench's dev chain (geth --dev): it sees the chain's heads and exports its ETH
key's balance once funded, and its /metrics has every node series the chart's alerts read, with the labels
they read. One node for the module, on the dev chain and a second, unreachable RPC node; its key funded, and
a job that fails run once, so that the series the node makes only on such an event are there."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

import promql_parser
import pytest

from tests.cluster.devchain import DevChain
from tests.integration.harness import eventually
from tests.realnode.fixtures import RealNodes
from tests.realnode.node import UNREACHABLE_RPC

from .chainnode import FUNDS, ChainNode, Sample, failing_job, node_on_chain
from .test_alerts import rules

# What Prometheus and the ServiceMonitor add to every series of the node; the node exports none of them.
TARGET_LABELS = {"namespace", "job", "pod", "endpoint", "service", "instance", "container"}


@pytest.fixture(scope="module")
def chain_node(real_nodes: RealNodes, dev_chain: DevChain) -> Iterator[ChainNode]:
    with node_on_chain(real_nodes, dev_chain, "dev-chain", UNREACHABLE_RPC) as chain_node:
        dev_chain.fund(chain_node.key, FUNDS)
        with failing_job(chain_node.node) as run:
            run()
        yield chain_node


def test_the_node_follows_the_chain_counts_its_rpc_nodes_and_exports_its_keys_balance(
    chain_node: ChainNode, dev_chain: DevChain
) -> None:
    def exported(name: str, **labels: str) -> float | None:
        return next((s.value for s in chain_node.samples() if s.name == name and s.labels == labels), None)

    chain = chain_node.chain_id
    head = eventually(lambda: exported("head_tracker_current_head", evmChainID=chain), 30, "a head")
    assert head <= dev_chain.block_number()
    # Of the chain's two RPC nodes, the dev chain's is Alive and the other Unreachable, as the node counts
    # them every 6.5 s (chainlink-framework multinode/multi_node.go).
    states = {"Alive": 1.0, "Unreachable": 1.0}
    eventually(
        lambda: all(
            exported("multi_node_states", chainId=chain, network="EVM", state=state) == count
            for state, count in states.items()
        ),
        30,
        f"the RPC nodes' states {states}",
    )
    # The node reads every key's balance again at each new head, in ether (chainlink-evm
    # pkg/monitor/balance.go).
    eventually(
        lambda: math.isclose(
            exported("eth_balance", account=chain_node.key, evmChainID=chain) or 0,
            dev_chain.balance(chain_node.key) / 10**18,
            rel_tol=1e-12,
        ),
        30,
        "the node's eth_balance of its key to be the key's balance on the chain",
    )


Read = tuple[promql_parser.VectorSelector, frozenset[str]]


def series_read(expr: str) -> Iterator[Read]:
    """Each selector of the expression, with the labels that the aggregations (`by`) and vector matches
    (`on`) above it need on its series."""

    def walk(node: Any, needed: frozenset[str]) -> Iterator[Read]:
        match node:
            case promql_parser.VectorSelector():
                yield node, needed
            case promql_parser.MatrixSelector():
                yield from walk(node.vector_selector, needed)
            case promql_parser.AggregateExpr():
                group = node.modifier
                by = group.labels if group and group.type == promql_parser.AggModifierType.By else []
                yield from walk(node.expr, needed | set(by))
            case promql_parser.BinaryExpr():
                match_ = node.modifier.matching if node.modifier else None
                on = (
                    match_.labels if match_ and match_.type == promql_parser.LabelModifierType.Include else []
                )
                for side in (node.lhs, node.rhs):
                    yield from walk(side, needed | set(on))
            case promql_parser.Call():
                for arg in node.args:
                    yield from walk(arg, needed)
            case promql_parser.ParenExpr() | promql_parser.UnaryExpr() | promql_parser.SubqueryExpr():
                yield from walk(node.expr, needed)

    yield from walk(promql_parser.parse(expr), frozenset())


def unexported(
    chain_node: ChainNode, read: Sequence[tuple[str, promql_parser.VectorSelector, frozenset[str]]]
) -> list[str]:
    """Each of `read` (where it is read, the selector, the labels the query needs) that the node exports no
    series for within 40 s: it counts its RPC nodes' states every 6.5 s and reports health every 15 s."""

    def missing() -> list[str]:
        samples = chain_node.samples()
        return [
            f"{where}: {selector.prettify()} by {sorted(needed - TARGET_LABELS)}"
            for where, selector, needed in read
            if not any(selects(selector, needed, s) for s in samples)
        ]

    deadline = time.monotonic() + 40
    while (gaps := missing()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return gaps


def selects(selector: promql_parser.VectorSelector, needed: frozenset[str], sample: Sample) -> bool:
    """Whether the selector, but for its target labels, picks the sample, which has every needed label."""
    if sample.name != selector.name or not needed - TARGET_LABELS <= sample.labels.keys():
        return False
    return all(
        matches(m, sample.labels.get(m.name, ""))
        for m in selector.matchers.matchers
        if m.name not in TARGET_LABELS
    )


def matches(matcher: promql_parser.Matcher, value: str) -> bool:
    match matcher.op:
        case promql_parser.MatchOp.Equal:
            return value == matcher.value
        case promql_parser.MatchOp.NotEqual:
            return value != matcher.value
        case promql_parser.MatchOp.Re:
            return re.fullmatch(matcher.value, value) is not None
        case _:
            return re.fullmatch(matcher.value, value) is None


def test_the_node_exports_every_series_the_alerts_read(
    chain_node: ChainNode, tools_env: dict[str, str]
) -> None:
    read = [
        (rule["alert"], selector, needed)
        for rule in rules(tools_env)
        for selector, needed in series_read(rule["expr"])
        if selector.name != "up" and not (selector.name or "").startswith("chainlink_agent_")
    ]
    assert {alert for alert, _, _ in read}, "no alert reads the node's own series"

    gaps = unexported(chain_node, read)
    assert not gaps, f"the node exports no series for: {gaps}"
