"""Hot standby on real nodes: two node processes on one database, each with its agent, as the chart's two
pods run them (`standby.enabled`). The node's lease (core/services/pg/lease_lock.go) lets one hold the
database; the other blocks before its web server starts and takes over once the lease is stale. The figures
these print (`-s`) are the takeover times in bench/README.md ("Standby takeover")."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest
from kubernetes import client

from devkit.harness import eventually, node_client, synced, toml
from devkit.realnode.node import RealNode

from .helpers import on_node

pytestmark = pytest.mark.drill
NODE = "node-a"
PODS = ("node-a-0", "node-a-1")
LEASE_SECONDS = 10
LEASE = f'\n[Database.Lock]\nLeaseDuration = "{LEASE_SECONDS}s"\nLeaseRefreshInterval = "1s"\n'
ROLE = "chainlink-k8s.github.io/role"


@pytest.fixture
def nodes(real_nodes: Any, request: pytest.FixtureRequest) -> Any:
    """The two nodes of one database (the first active); a test appends any it starts again."""
    started = list(real_nodes.pair(request.node.name, LEASE))
    yield started
    for node in started:
        node.stop()


@pytest.fixture
def pods(kube_api: Any, namespace: str, crd: None) -> client.CoreV1Api:
    """The StatefulSet's two pods as objects (nothing runs them here: the processes stand in), Ready as
    the chart's probes make a waiting standby, and the ChainlinkNode the agents report into."""
    core = client.CoreV1Api(kube_api)
    for name in PODS:
        spec = {"containers": [{"name": "node", "image": "chainlink"}]}
        core.create_namespaced_pod(namespace, {"metadata": {"name": name}, "spec": spec})
        ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
        core.patch_namespaced_pod_status(name, namespace, ready)
    node = {
        "apiVersion": "chainlink-k8s.github.io/v1alpha1",
        "kind": "ChainlinkNode",
        "metadata": {"name": NODE},
        "spec": {"nodeName": NODE},
    }
    client.CustomObjectsApi(kube_api).create_namespaced_custom_object(
        "chainlink-k8s.github.io", "v1alpha1", namespace, "chainlinknodes", node
    )
    return core


def agent_beside(start_agent: Any, node: RealNode, pod: str) -> Any:
    return start_agent(NODE, node, env={"CHAINLINK_AGENT_STANDBY": "true", "CHAINLINK_AGENT_POD_NAME": pod})


def role_of(core: client.CoreV1Api, namespace: str, pod: str) -> str | None:
    return (core.read_namespaced_pod(pod, namespace).metadata.labels or {}).get(ROLE)


def still_serving(node: RealNode) -> None:
    """The node still runs and answers. CI once found the new active not answering one probe (2 s timeout)
    under load: an exit fails here, with its status, and a slow answer gets 30 s."""
    node.process.ensure_running()
    eventually(node.serving, 30, "the node to answer")


def node_status(kube_api: Any, namespace: str) -> dict[str, Any]:
    found = client.CustomObjectsApi(kube_api).get_namespaced_custom_object(
        "chainlink-k8s.github.io", "v1alpha1", namespace, "chainlinknodes", NODE
    )
    return found.get("status") or {}


def test_the_standby_takes_over_a_killed_node_with_every_job_once(
    nodes, pods, jobs, kube_api, namespace, start_agent
):
    active, standby = nodes
    agents = [agent_beside(start_agent, active, PODS[0]), agent_beside(start_agent, standby, PODS[1])]
    eventually(lambda: role_of(pods, namespace, PODS[0]) == "active", 30, "pod 0 labelled active")
    eventually(lambda: role_of(pods, namespace, PODS[1]) == "standby", 30, "pod 1 labelled standby")
    assert not standby.serving()
    before = [f"before-{i}" for i in range(3)]
    for name in before:
        jobs.create(name, toml(name), targets={"names": [NODE]})
    for name in before:
        synced(jobs, name, NODE)

    # The pod is gone at once, as `kubectl delete pod --grace-period=0` does it: node and agent.
    active.signal(signal.SIGKILL)
    agents[0].kill()
    killed = time.monotonic()
    during = [f"during-{i}" for i in range(2)]
    for name in during:
        jobs.create(name, toml(name), targets={"names": [NODE]})
    eventually(standby.serving, LEASE_SECONDS + 60, "the standby to serve")
    serving = time.monotonic() - killed
    entries = {name: synced(jobs, name, NODE) for name in during}
    all_synced = time.monotonic() - killed
    print(
        f"\nstandby takeover: API answering {serving:.1f} s, jobs applied meanwhile Synced {all_synced:.1f} s"
    )
    assert serving <= LEASE_SECONDS + 10

    person = node_client(standby.url, standby.email, standby.password)  # the node's jobs, by its own API
    try:
        listed = eventually(lambda: on_node(person), 30, "the node's jobs")
    finally:
        person.close()
    names = sorted(str(job.name) for job in listed.values())
    assert names == sorted(before + during)  # each once: the standby's agent duplicated and dropped nothing
    assert {entries[name]["jobID"] for name in during} <= {job.id for job in listed.values()}
    eventually(lambda: role_of(pods, namespace, PODS[1]) == "active", 30, "pod 1 labelled active")
    status = eventually(
        lambda: (s := node_status(kube_api, namespace)).get("activePod") == PODS[1] and s, 60, "the failover"
    )
    assert status["failovers"] == 1
    assert status["lastFailoverTime"]

    # The killed pod comes back: its node waits for the lease, its agent stands by.
    again = active.relaunch(False)
    nodes.append(again)
    agent_beside(start_agent, again, PODS[0])
    eventually(lambda: role_of(pods, namespace, PODS[0]) == "standby", 30, "pod 0 labelled standby")
    time.sleep(LEASE_SECONDS + 2)
    assert again.process.running()
    assert not again.serving()
    still_serving(standby)
    assert eventually(lambda: node_status(kube_api, namespace)["standby"], 30, "standby")["ready"]


def test_an_old_active_that_lost_the_lease_exits_rather_than_run_beside_the_new_one(nodes):
    active, standby = nodes
    active.signal(signal.SIGSTOP)  # frozen: it cannot refresh its lease
    eventually(standby.serving, LEASE_SECONDS + 60, "the standby to take the lease")
    active.signal(signal.SIGCONT)
    eventually(lambda: not active.process.running(), 30, "the old active to exit")
    assert "Another node has taken the lease" in active.process.log_path.read_text(errors="replace")
    still_serving(standby)
