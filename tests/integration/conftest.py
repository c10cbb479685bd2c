"""Fixtures for the agent's integration tests: the CRD, node doubles and agent processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import AgentProcess, Jobs, install_crd


@pytest.fixture(scope="session")
def crd(kube_api):
    install_crd(kube_api)


@pytest.fixture
def jobs(kube_api, namespace, crd) -> Jobs:
    return Jobs(kube_api, namespace)


@pytest.fixture
def start_agent(cluster, namespace, tmp_path) -> Iterator:
    agents: list[AgentProcess] = []

    def start(node_name, node, labels=None, resync_seconds=2.0):
        agent = AgentProcess(
            tmp_path, str(cluster.kubeconfig), namespace, node_name, node.url, node.email, node.password,
            labels, resync_seconds,
        )
        agents.append(agent)
        return agent.start()

    yield start
    for agent in agents:
        agent.kill()
