"""A real node following the bench's dev chain (geth --dev): it sees the chain's heads and exports its ETH
key's balance once funded, and its /metrics has every node series the chart's alerts read, with the labels
they read. One node for the module, on the dev chain and a second, unreachable RPC node; its key funded, and
a job that fails run once, so that the series the node makes only on such an event are there."""

from __future__ import annotations

import math

from devkit.chainnode import ChainNode
from devkit.cluster.devchain import DevChain
from devkit.harness import eventually

from .rendering import rules
from .series import series_read, unexported


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
