"""The chart's standby: off, every manifest renders byte for byte as before the standby existed (the goldens
of tests/chart/golden.py); on, the API server holds the agent to setting its pods' role label and nothing
else (the Role's rule and the admission policy, as the chart renders them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from devkit.cluster.controlplane import ControlPlane
from devkit.harness import apply_chart_templates, eventually
from tests.chart import golden

RELEASE = "r"  # apply_chart_templates' release: node-a's, its StatefulSet's pods r-chainlink-node-<ordinal>
SA = f"{RELEASE}-chainlink-node-agent"
ROLE = "chainlink-k8s.github.io/role"
NODE_NAME = "chainlink-k8s.github.io/node-name"
ONLY_ROLE = f"may change nothing on a pod but its label {ROLE}"


@pytest.mark.parametrize("item", golden.renders(), ids=lambda r: r.name)
def test_without_standby_every_manifest_renders_as_before(
    item: golden.Render,
    tools_env: dict[str, str],
) -> None:
    rendered = golden.render(item, tools_env)
    diff = golden.difference(item, rendered)
    assert not diff, (
        f"{item.name}: the chart renders differently with the standby off than its golden "
        f"(tests/chart/golden/{item.golden.name}); if that change is meant, {golden.WRITE_HINT}\n{diff}"
    )


def test_the_goldens_cover_every_ci_values_file_without_standby() -> None:
    names = {r.name for r in golden.renders()}
    assert {p.stem for p in golden.GOLDEN.glob("*.yaml")} == names
    assert "standby" not in names


def _pod(name: str) -> dict[str, Any]:
    """A pod of the node's StatefulSet as far as admission sees it (no scheduler runs on this bench)."""
    return {
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/name": "chainlink-node", NODE_NAME: "node-a"},
            "annotations": {"checksum/config": "0"},
        },
        "spec": {
            "serviceAccountName": SA,
            "automountServiceAccountToken": False,
            "containers": [{"name": "node", "image": "registry.invalid/chainlink:0"}],
        },
    }


@pytest.fixture
def as_agent(cluster: ControlPlane, namespace: str, tmp_path: Any) -> Iterator[client.CoreV1Api]:
    """node-a's agent's ServiceAccount under the chart's Role and admission policy with standby, and the
    StatefulSet's two pods plus one it must not touch."""
    templates = ("rbac.yaml", "admission-policy.yaml")
    apply_chart_templates(cluster, namespace, *templates, sets={"standby.enabled": "true"}, release=RELEASE)
    with cluster.api_client() as admin:
        core = client.CoreV1Api(admin)
        for ordinal in (0, 1, 2):
            core.create_namespaced_pod(namespace, _pod(f"{RELEASE}-chainlink-node-{ordinal}"))
    kubeconfig = cluster.service_account_kubeconfig(namespace, SA, tmp_path / "sa")
    yield client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    with cluster.api_client() as admin:
        admission = client.AdmissionregistrationV1Api(admin)
        name = f"{SA}.{namespace}.chainlink-k8s.github.io"
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)


def _refused(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(ApiException) as caught:
        call()
    return caught.value.status, json.loads(caught.value.body)["message"]


def test_the_agent_may_set_its_pods_role_label_and_nothing_else(
    as_agent: client.CoreV1Api, namespace: str
) -> None:
    pod0, pod1 = f"{RELEASE}-chainlink-node-0", f"{RELEASE}-chainlink-node-1"

    def patch(name: str, metadata: dict[str, Any], spec: dict[str, Any] | None = None) -> object:
        body: dict[str, Any] = {"metadata": metadata, **({"spec": spec} if spec else {})}
        return as_agent.patch_namespaced_pod(name, namespace, body)

    def policy_refuses() -> bool:
        # The policy reaches the apiserver's admission a moment after it is made, maybe between the probe
        # label and its removal: a refusal of either shows it is there.
        try:
            patch(pod0, {"labels": {"probe": "x"}})
            patch(pod0, {"labels": {"probe": None}})
        except ApiException as exc:
            return exc.status == 403 and ONLY_ROLE in exc.body
        return False

    eventually(policy_refuses, 30, "the admission policy to refuse a label other than the role")

    patch(pod0, {"labels": {ROLE: "active"}})
    patch(pod1, {"labels": {ROLE: "standby"}})
    patch(pod0, {"labels": {ROLE: "standby"}})
    assert as_agent.read_namespaced_pod(pod1, namespace).metadata.labels[ROLE] == "standby"

    assert _refused(lambda: patch(pod0, {"labels": {ROLE: "leader"}})) == (
        403,
        _message(namespace, f"node node-a's agent may set the label {ROLE} only to active or standby"),
    )
    for what, change in {
        "a label": lambda: patch(pod0, {"labels": {"app.kubernetes.io/name": "other"}}),
        "a label removed": lambda: patch(pod0, {"labels": {NODE_NAME: None}}),
        "an annotation": lambda: patch(pod0, {"annotations": {"checksum/config": "1"}}),
        "a finalizer": lambda: patch(pod0, {"finalizers": ["example.com/hold"]}),
        "the spec": lambda: patch(pod0, {}, {"activeDeadlineSeconds": 60}),
    }.items():
        status, message = _refused(change)
        assert (status, ONLY_ROLE in message) == (403, True), f"{what}: {status} {message}"

    # The Role names the StatefulSet's two pods only.
    status, message = _refused(lambda: patch(f"{RELEASE}-chainlink-node-2", {"labels": {ROLE: "active"}}))
    assert status == 403
    assert "cannot patch resource" in message, message
    assert _refused(lambda: as_agent.list_namespaced_pod(namespace))[0] == 403

    # The Lease rule still holds beside the pods'.
    lease = {"metadata": {"name": "other"}, "spec": {"holderIdentity": "x"}}
    coordination = client.CoordinationV1Api(as_agent.api_client)
    status, message = _refused(lambda: coordination.create_namespaced_lease(namespace, lease))
    assert status == 403
    assert "may create only the Lease chainlink-agent-aggregator" in message, message


def _message(namespace: str, text: str) -> str:
    """The apiserver's message for a refusal by the standby's admission policy."""
    policy = f"{SA}.{namespace}.chainlink-k8s.github.io"
    return (
        f"pods \"{RELEASE}-chainlink-node-0\" is forbidden: ValidatingAdmissionPolicy '{policy}' with "
        f"binding '{policy}' denied request: {text}"
    )
