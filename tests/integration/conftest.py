"""Fixtures for the agent's integration tests: the CRD, node doubles and agent processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nodedouble.fixtures import NodeDoubleProcess

from .harness import AgentProcess, Jobs, install_crd, node_client


@pytest.fixture(scope="session")
def crd(cluster):
    with cluster.api_client() as api:
        install_crd(api)


@pytest.fixture
def jobs(kube_api, namespace, crd) -> Jobs:
    return Jobs(kube_api, namespace)


@pytest.fixture
def start_agent(cluster, namespace, tmp_path) -> Iterator:
    agents: list[AgentProcess] = []

    def start(node_name, node, labels=None, resync_seconds=2.0):
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
        )
        agents.append(agent)
        return agent.start()

    yield start
    for agent in agents:
        agent.kill()


class Node:
    """A node double process plus what a test does with it as a person would (through the node's API)."""

    def __init__(self, process: NodeDoubleProcess) -> None:
        self.process = process
        self.url, self.email, self.password = process.url, process.email, process.password
        self.stats, self.inject = process.stats, process.inject

    def client(self):
        return node_client(self.url, self.email, self.password)


@pytest.fixture
def start_node(tmp_path) -> Iterator:
    nodes: list[NodeDoubleProcess] = []

    def start(*args: str) -> Node:
        workdir = tmp_path / f"node-{len(nodes)}"
        workdir.mkdir()
        nodes.append(NodeDoubleProcess.start(workdir, *args))
        return Node(nodes[-1])

    yield start
    for process in nodes:
        process.stop()
