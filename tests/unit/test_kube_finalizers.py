"""Finalizer patches rebuilt from a fresh read when another node's agent changed the list in between."""

from typing import Any

import pytest
from chainlink_agent.kube import Kube
from chainlink_agent.resource import ChainlinkJob
from kubernetes import client
from kubernetes.client.exceptions import ApiException


class RacingCustomObjects:
    """Answers the agent's finalizer patches as the apiserver would after `others` got in first."""

    def __init__(self, others: list[str]) -> None:
        self.finalizers = list(others)
        self.stored: dict[str, Any] = {
            "metadata": {"name": "j", "resourceVersion": "2", "finalizers": self.finalizers}
        }
        self.patches: list[list[dict[str, Any]]] = []

    def patch_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        ops = args[5]
        self.patches.append(ops)
        for op in ops:
            if op["op"] == "test" and op["path"] == "/metadata/resourceVersion" and op["value"] != "2":
                raise ApiException(status=422, reason="Unprocessable Entity")
            if op["op"] == "add" and op["path"] == "/metadata/finalizers/-":
                self.finalizers.append(op["value"])
        return self.stored

    def get_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        return self.stored


@pytest.fixture
def kube() -> Kube:
    return Kube(client.ApiClient(), "ns", "node-a")


def job(finalizers: list[str]) -> ChainlinkJob:
    meta = {"name": "j", "namespace": "ns", "resourceVersion": "1", "finalizers": finalizers}
    return ChainlinkJob.from_dict({"metadata": meta, "spec": {"toml": "x"}})


def test_a_lost_race_to_create_the_list_appends_to_the_winners(kube: Kube) -> None:
    fake = RacingCustomObjects(others=["chainlink-k8s.github.io/node-b"])
    kube._custom = fake
    result = kube.add_finalizer(job([]), "chainlink-k8s.github.io/node-a")
    assert result["metadata"]["finalizers"] == [
        "chainlink-k8s.github.io/node-b",
        "chainlink-k8s.github.io/node-a",
    ]
    assert [p[-1]["path"] for p in fake.patches] == ["/metadata/finalizers", "/metadata/finalizers/-"]


def test_a_finalizer_already_there_after_the_race_is_not_added_again(kube: Kube) -> None:
    fake = RacingCustomObjects(others=["chainlink-k8s.github.io/node-a"])
    kube._custom = fake
    kube.add_finalizer(job([]), "chainlink-k8s.github.io/node-a")
    assert fake.finalizers == ["chainlink-k8s.github.io/node-a"]
    assert len(fake.patches) == 1
