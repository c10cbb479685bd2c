"""kube-apiserver restarted under the agent's open watch, with etcd moved on and compacted meanwhile so that
the watch's resourceVersion has expired when it comes back (a real 410 Gone, not a canned one)."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from kubernetes.client.exceptions import ApiException

from devkit.harness import eventually, synced, toml

from .helpers import on_node, scale

pytestmark = pytest.mark.drill
NODE = "node-a"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def move_etcd_on_and_compact(etcd_url: str, writes: int = 3) -> int:
    """Writes a few keys outside the apiserver's prefix, then compacts to the newest revision (etcd's
    JSON gateway); returns that revision."""
    revision = 0
    for i in range(writes):
        body = {"key": _b64(f"/chainlink-drill/bump-{i}"), "value": _b64(str(time.time()))}
        answer = httpx.post(f"{etcd_url}/v3/kv/put", json=body, timeout=10).raise_for_status().json()
        revision = int(answer["header"]["revision"])
    httpx.post(
        f"{etcd_url}/v3/kv/compaction", json={"revision": str(revision), "physical": True}, timeout=30
    ).raise_for_status()
    return revision


def test_apiserver_restart_mid_watch(cluster, jobs, start_node, start_agent):
    apiserver = next((c for c in cluster.components if c.name == "kube-apiserver"), None)
    if apiserver is None:
        pytest.skip("an attached bench (CHAINLINK_BENCH_DIR): this session may not restart its apiserver")
    node = start_node()
    person = node.client()
    agent = start_agent(NODE, node)
    jobs.create("before", toml("before"), targets={"names": [NODE]})
    synced(jobs, "before", NODE)

    apiserver.stop()  # refused connections, not a freeze
    move_etcd_on_and_compact(cluster.etcd_url)
    # Long enough for Lease renewals (every 5 s) to fail past the leader's 10 s deadline, and for the
    # ChainlinkNode report and the watches' reconnects to meet the refusals.
    time.sleep(scale(12.0, 30.0))
    apiserver.start()  # same flags, same port; its log file starts afresh

    def answering():
        try:
            return jobs.get("before") is not None
        except (ApiException, OSError, Exception):  # refused, 503 while it starts, a stale pooled socket
            return False

    eventually(answering, 90, "the restarted apiserver to serve ChainlinkJobs")
    jobs.create("after", toml("after"), targets={"names": [NODE]})
    jobs.delete("before")
    # The agent's watch backs off (jittered, at most 30 s) before it reconnects.
    after = synced(jobs, "after", NODE)
    eventually(lambda: jobs.cleaned("before"), 60, "'before' to be cleaned up")
    assert set(on_node(person) or {}) == {after["externalJobID"]}
    restarts = [
        line for line in agent.metrics().splitlines() if line.startswith("chainlink_agent_watch_restarts")
    ]
    print("\n" + "\n".join(restarts))
    assert restarts, "the agent never noticed its watch broke"
    # Every thread lived through it (a dead one fails /healthz), and the agent leads again, writing status.
    assert agent.healthz().startswith("200"), agent.healthz()
    assert "chainlink_agent_aggregator_leading 1.0" in agent.metrics().splitlines()
