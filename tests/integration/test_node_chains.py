"""The ChainlinkNode's status per EVM chain, written by the agent process against the node double process
on the real apiserver: each chain's RPC nodes, head and key balances, the worst chain in `kubectl get -o
wide`; a chain whose RPC nodes are all down, and reads of the node's chains that fail, are reported while
jobs keep being reconciled."""

from __future__ import annotations

from typing import Any

from chainlink_agent.model.resource import GROUP, NODE_PLURAL, VERSION
from kubernetes import client

from devkit.harness import eventually, synced, toml, wide_table

# Chain 1337 (the double's keys') answers; chain 5's two RPC nodes do not, and the node has no key there.
RPCS = ["1337/primary-0=Alive", "5/goerli-0=Unreachable", "5/goerli-1=Unreachable"]


def chainlink_node(cluster: Any, namespace: str) -> dict[str, Any]:
    with cluster.api_client() as api:
        return dict(
            client.CustomObjectsApi(api).get_namespaced_custom_object(
                GROUP, VERSION, namespace, NODE_PLURAL, "node-a"
            )
        )


def test_each_chain_is_reported_and_one_with_every_rpc_down_stops_no_job(
    cluster, namespace, jobs, start_node, start_agent
):
    with cluster.api_client() as api:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            NODE_PLURAL,
            {
                "kind": "ChainlinkNode",
                "apiVersion": f"{GROUP}/{VERSION}",
                "metadata": {"name": "node-a"},
                "spec": {"nodeName": "node-a"},
            },
        )
    node = start_node(*[arg for rpc in RPCS for arg in ("--rpc", rpc)])
    start_agent("node-a", node, env={"CHAINLINK_AGENT_REPORT_SECONDS": "1"})
    jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})
    synced(jobs, "feed", "node-a")

    def reported() -> dict[str, Any] | None:
        st = chainlink_node(cluster, namespace).get("status") or {}
        return st if len(st.get("chains") or []) == 2 else None

    st = eventually(reported, 30, "status.chains")
    down, live = st["chains"]  # in numeric order
    assert (down["id"], down["state"], down["keys"]) == ("5", "Down", [])
    assert down["message"] == (
        "not Alive: goerli-0 Unreachable, goerli-1 Unreachable; no head seen yet; no enabled ETH key"
    )
    assert down["rpcs"] == [
        {"name": "goerli-0", "state": "Unreachable"},
        {"name": "goerli-1", "state": "Unreachable"},
    ]
    assert (live["id"], live["state"], live["rpcs"]) == (
        "1337",
        "OK",
        [{"name": "primary-0", "state": "Alive"}],
    )
    assert live["head"]["number"] >= 1
    assert [k["ethBalance"] for k in live["keys"]] == ["0", "0"]
    assert st["chainsSummary"] == "1/2 OK, 5 Down"
    header, row = wide_table(cluster.env(), namespace, "chainlinknodes")
    assert "CHAINS" in header.split()
    assert "1/2 OK, 5 Down" in row

    # The node refusing to list its RPC nodes: said in the status; jobs are still made.
    node.inject({"action": "status", "route": "GET /v2/nodes/evm", "count": 1000, "status": 500})
    unknown = eventually(
        lambda: (st := chainlink_node(cluster, namespace)["status"])["chainsSummary"] == "Unknown" and st,
        30,
        "the chains Unknown",
    )
    assert unknown["chainReadErrors"] == ["RPC nodes: 500: fault injected by the node double"]
    assert "chains" not in unknown
    jobs.create("feed-2", toml("feed-2"), targets={"names": ["node-a"]})
    synced(jobs, "feed-2", "node-a")
    node.process.clear_faults()
    eventually(
        lambda: chainlink_node(cluster, namespace)["status"]["chainsSummary"] == "1/2 OK, 5 Down",
        30,
        "the chains read again",
    )
