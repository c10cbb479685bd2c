"""A real node following a dev chain (geth --dev), shared by the tests that read its metrics:
test_node_on_dev_chain.py reads its /metrics itself, test_live_alerts.py has a real Prometheus read them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devkit.cluster.devchain import DevChain
from devkit.realnode.fixtures import RealNodes
from devkit.realnode.node import RealNode, evm_config, node_keys

FUNDS = 10**18  # one ether, what the tests fund a node's key with


@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class ChainNode:
    node: RealNode
    key: str  # its ETH key, which starts with nothing on the chain
    chain_id: str

    def samples(self) -> list[Sample]:
        """The node's samples named as Prometheus stores them: without its comment lines, as untyped samples,
        since the parser would name a counter's samples with a _total the node does not write."""
        exposition = httpx.get(f"{self.node.url}/metrics", timeout=10).text
        text = "\n".join(line for line in exposition.splitlines() if not line.startswith("#"))
        return [
            Sample(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples
        ]


@contextmanager
def node_on_chain(
    real_nodes: RealNodes, chain: DevChain, name: str, *more_rpcs: tuple[str, str]
) -> Iterator[ChainNode]:
    """A node whose chain's first RPC node is the dev chain, then more_rpcs (WebSocket and HTTP URL each);
    stopped after."""
    chain_id = str(chain.chain_id)
    node = real_nodes.start(name, evm_config(chain_id, (chain.ws_url, chain.http_url), *more_rpcs))
    try:
        yield ChainNode(node, node_keys(node)["eth"][0], chain_id)
    finally:
        node.stop()


FAILING_JOB = """type = "webhook"
schemaVersion = 1
name = "always-fails"
externalJobID = "{id}"
observationSource = \"\"\"
    fail [type=fail msg="failing on purpose"]
\"\"\"
"""


@contextmanager
def failing_job(node: RealNode) -> Iterator[Callable[[], None]]:
    """A webhook job on the node whose every run fails, so that the node makes its job-run error series;
    yields what starts one run."""
    with httpx.Client(base_url=node.url, timeout=30) as api:
        api.post("/sessions", json={"email": node.email, "password": node.password}).raise_for_status()
        external_id = str(uuid.uuid4())
        api.post("/v2/jobs", json={"toml": FAILING_JOB.format(id=external_id)}).raise_for_status()

        def run() -> None:
            # Webhook runs are started by external job ID on this build (../shared/notes/real-node.md).
            api.post(f"/v2/jobs/{external_id}/runs").raise_for_status()

        yield run
