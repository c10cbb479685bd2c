"""The monitoring tests' node on the dev chain: one per module, shared by the alerts' and the dashboards'
checks of the node's series."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.chainnode import FUNDS, ChainNode, failing_job, node_on_chain
from devkit.cluster.devchain import DevChain
from devkit.realnode.fixtures import RealNodes
from devkit.realnode.node import UNREACHABLE_RPC


@pytest.fixture(scope="module")
def chain_node(real_nodes: RealNodes, dev_chain: DevChain) -> Iterator[ChainNode]:
    with node_on_chain(real_nodes, dev_chain, "dev-chain", UNREACHABLE_RPC) as chain_node:
        dev_chain.fund(chain_node.key, FUNDS)
        with failing_job(chain_node.node) as run:
            run()
        yield chain_node
