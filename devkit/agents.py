"""pytest fixtures for scenarios with agents: the CRDs, the Jobs and Bridges helpers, agent processes and
nodes (the double, or real nodes), started as a test asks and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from chainlink_agent.node.nodeclient import NodeClient

from devkit.harness import AgentProcess, Bridges, Jobs, install_crd, node_client
from devkit.nodedouble.fixtures import NodeDoubleProcess
from devkit.realnode.node import RealNode


@pytest.fixture(scope="session")
def crd(cluster):
    with cluster.api_client() as api:
        install_crd(api)


@pytest.fixture
def jobs(kube_api, namespace, crd) -> Jobs:
    return Jobs(kube_api, namespace)


@pytest.fixture
def bridges(kube_api, namespace, crd) -> Bridges:
    return Bridges(kube_api, namespace)


@pytest.fixture
def start_agent(cluster, namespace, tmp_path) -> Iterator:
    agents: list[AgentProcess] = []

    def start(node_name, node, labels=None, resync_seconds=2.0, env=None, wait_ready=True):
        agent = AgentProcess(
            tmp_path,
            str(cluster.kubeconfig),
            namespace,
            node_name,
            node.url,
            node.email,
            node.password,
            labels,
            resync_seconds,
            env,
        )
        agents.append(agent)
        return agent.start(wait_ready)

    yield start
    for agent in agents:
        agent.kill()


class Node:
    """A node (the double's process, or a real node) plus what a test does with it as a person would
    (through the node's API). stats() and inject() are the double's alone."""

    def __init__(self, process: NodeDoubleProcess | RealNode) -> None:
        self.process = process
        self.url, self.email, self.password = process.url, process.email, process.password
        if isinstance(process, NodeDoubleProcess):
            self.stats, self.inject = process.stats, process.inject

        self._http: httpx.Client | None = None
        self._client: NodeClient | None = None

    def client(self) -> NodeClient:
        """One logged-in client per node, as a person keeps one session (5 logins per 20 s at most)."""
        if self._client is None:
            self._client = node_client(self.url, self.email, self.password)
        return self._client

    def api(self, method: str, path: str) -> dict:
        """One call to the node's API as a person would make it, on one logged-in session (the node
        allows 5 logins in 20 s)."""
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, timeout=10)
            login = {"email": self.email, "password": self.password}
            self._http.post("/sessions", json=login).raise_for_status()
        response = self._http.request(method, path)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._client is not None:
            self._client.close()


@pytest.fixture
def start_node(tmp_path, request) -> Iterator:
    """Starts node doubles; `@pytest.mark.parametrize("start_node", ["double", "real"], indirect=True)`
    runs a scenario against real nodes too (each fresh, devkit/realnode)."""
    nodes: list[Node] = []
    real = getattr(request, "param", "double") == "real"
    real_nodes = request.getfixturevalue("real_nodes") if real else None

    def start(*args: str) -> Node:
        workdir = tmp_path / f"node-{len(nodes)}"
        workdir.mkdir()
        if real_nodes is not None:
            assert not args, "the double's options do not apply to a real node"
            nodes.append(Node(real_nodes.start(f"{request.node.name[:20]}-{len(nodes)}")))
        else:
            nodes.append(Node(NodeDoubleProcess.start(workdir, *args)))
        return nodes[-1]

    yield start
    for node in nodes:
        node.close()
        node.process.stop()
