"""Issue 28 items 5 and 6 on a real apiserver, with the chart's Role and admission policies as rendered: an
agent holds the aggregator's Lease only as itself and briefly, records Events only as its node; another
release's agent, even one no policy covers, cannot touch this node's placements nor claim the Lease for years;
the agent's self-test tells an enforced policy from a missing one; status beyond the CRDs' bounds is refused.
(test_trust_boundary.py covers the agent's own placement rules.)"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chainlink_agent.k8s import admission
from chainlink_agent.k8s.admission import NOT_ENFORCED, AdmissionCheck
from chainlink_agent.k8s.kube import AGGREGATOR, Kube
from chainlink_agent.model import placement
from chainlink_agent.model.conditions import MAX_MESSAGE
from chainlink_agent.model.errors import KubeRejected
from chainlink_agent.model.resource import API_VERSION, GROUP, KIND, VERSION, ChainlinkJob
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.status.aggregator import MAX_NODES, summary
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from devkit.harness import apply_chart_templates, eventually, refusal, toml, wait_for_policy

AGENT_A = "r-chainlink-node-agent"  # release "r", node-a: protected by its policies
AGENT_B = "s-chainlink-node-agent"  # release "s", node-b: no policy of its own (as with allowUnprotected)
YEARS_68 = 68 * 365 * 86400  # as the review's forged Lease: still an int32
GUARD = "only node node-a's agent may write or delete node node-a's placements"


@pytest.fixture
def chart(cluster, namespace, jobs, tmp_path) -> Iterator[Callable[[str], client.ApiClient]]:
    """Release "r" (node-a) with its Role and both admission policies, release "s" (node-b) with its Role
    only; yields a client factory acting as a ServiceAccount of the namespace."""
    apply_chart_templates(cluster, namespace, "rbac.yaml", "admission-policy.yaml")
    apply_chart_templates(cluster, namespace, "rbac.yaml", sets={"nodeName": "node-b"}, release="s")
    wait_for_policy(
        cluster, cluster.service_account_kubeconfig(namespace, AGENT_A, tmp_path / "wait"), namespace
    )

    def as_account(name: str) -> client.ApiClient:
        return config.new_client_from_config(
            str(cluster.service_account_kubeconfig(namespace, name, tmp_path / name))
        )

    yield as_account
    with cluster.api_client() as admin:
        api = client.AdmissionregistrationV1Api(admin)
        for component in ("agent", "guard"):
            name = f"r-chainlink-node-{component}.{namespace}.{GROUP}"
            for delete in (
                api.delete_validating_admission_policy_binding,
                api.delete_validating_admission_policy,
            ):
                try:
                    delete(name)
                except ApiException as exc:
                    if exc.status != 404:
                        raise


def shared_job(jobs) -> ChainlinkJob:
    body = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": "shared"},
        "spec": {"toml": toml("shared"), "targets": {"names": ["node-a", "node-b"]}},
    }
    jobs.api.create_namespaced_custom_object(GROUP, VERSION, jobs.namespace, "chainlinkjobs", body)
    return ChainlinkJob.from_dict(jobs.get("shared"))


def entry(message: str = "m") -> dict[str, Any]:
    return {"phase": "Synced", "message": message, "observedGeneration": 1, "jobID": "1"}


def lease_spec(holder: str, seconds: int) -> dict[str, Any]:
    stamp = "2026-01-01T00:00:00.000000Z"
    return {
        "holderIdentity": holder,
        "leaseDurationSeconds": seconds,
        "acquireTime": stamp,
        "renewTime": stamp,
    }


def test_an_agent_holds_the_lease_only_as_itself_for_at_most_60_s_and_records_events_only_as_its_node(
    chart, jobs, cluster, namespace
):
    kube = Kube(chart(AGENT_A), namespace, "node-a")
    version = kube.write_lease(AGGREGATOR, lease_spec("node-a", 15), None)["metadata"]["resourceVersion"]

    def write(holder: str, seconds: int) -> object:
        return kube.write_lease(AGGREGATOR, lease_spec(holder, seconds), version)

    # The review's attack: another holder, nobody renewing it, for 68 years.
    status, message = refusal(lambda: write("node-b", 15))
    assert status == 403
    assert message.endswith(
        "node node-a's agent may hold the Lease chainlink-agent-aggregator only as itself"
        " (holderIdentity node-a, r-chainlink-node-0, r-chainlink-node-1)"
    ), message
    status, message = refusal(lambda: write("node-a", YEARS_68))
    assert status == 403
    assert message.endswith("for 1 to 60 seconds (leaseDurationSeconds)"), message
    # As its pod (the chart's standby), for the longest allowed, and released (no holder): all the agent's.
    version = write("r-chainlink-node-1", 60)["metadata"]["resourceVersion"]  # type: ignore[index]
    version = write("", 15)["metadata"]["resourceVersion"]  # type: ignore[index]
    assert kube.lease(AGGREGATOR)["spec"]["holderIdentity"] == ""  # type: ignore[index]

    # Events: the agent's own, as emit_event makes them, pass; one speaking for node-b does not.
    shared = shared_job(jobs)
    kube.emit_event(shared, "Normal", "JobSynced", "own")
    core = client.CoreV1Api(kube._api_client)

    def event(**change: Any) -> dict[str, Any]:
        body = {
            "metadata": {"name": f"shared.{uuid.uuid4().hex[:16]}"},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": "shared",
                "namespace": namespace,
            },
            "type": "Warning",
            "reason": "Deleted",
            "message": "node node-a: deleted",
            "source": {"component": "chainlink-agent", "host": "node-a"},
            "reportingComponent": f"{GROUP}/agent",
            "reportingInstance": "node-a",
        }
        return {**body, **change}

    as_node = "node node-a's agent may record Events only as node node-a"
    for what, forged in {
        "reportingInstance": event(reportingInstance="node-b"),
        "source.host": event(source={"component": "chainlink-agent", "host": "node-b"}),
        "message": event(message="node node-b: deleted your job"),
        "no reportingInstance": event(reportingInstance=None),
    }.items():
        status, message = refusal(functools.partial(core.create_namespaced_event, namespace, forged))
        assert (status, as_node in message) == (403, True), f"{what}: {message}"
    pod = {"apiVersion": "v1", "kind": "Pod", "name": "r-chainlink-node-0", "namespace": namespace}
    status, message = refusal(lambda: core.create_namespaced_event(namespace, event(involvedObject=pod)))
    assert (status, "only about chainlink-k8s.github.io resources" in message) == (403, True), message
    Kube(kube._api_client, namespace, "node-b").emit_event(
        shared, "Warning", "Deleted", "forged"
    )  # logged, lost

    with cluster.api_client() as admin:
        listed = client.CoreV1Api(admin).list_namespaced_event(namespace).items
    assert [(e.reporting_instance, e.message) for e in listed] == [("node-a", "node node-a: own")]


def test_another_releases_agent_without_a_policy_cannot_touch_this_nodes_placements_nor_claim_the_lease(
    chart, jobs, cluster, namespace
):
    shared = shared_job(jobs)
    with cluster.api_client() as admin:
        Kube(admin, namespace, "node-a").apply_placement(shared, entry())  # node-a's own record
    as_b = chart(AGENT_B)
    b_as_a, b = Kube(as_b, namespace, "node-a"), Kube(as_b, namespace, "node-b")

    def guarded() -> bool:  # the guard reaches admission a moment after it is made
        try:
            b_as_a.apply_placement(shared, entry(str(uuid.uuid4())))
        except KubeRejected as exc:
            return exc.status == 403 and GUARD in exc.message
        return False

    eventually(guarded, 30, "the guard to refuse node-a's placement to release s's agent")
    custom = client.CustomObjectsApi(as_b)
    assert refusal(lambda: b_as_a.delete_placement(KIND, "shared")) == (403, _guard(namespace, "shared"))

    def apply(name: str, node: str, label: str) -> object:
        body = placement.body(shared, "node-b", entry())
        body["metadata"].update(name=name, labels={placement.NODE_LABEL: label})
        body["spec"]["node"] = node
        return custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, placement.PLURAL, name, body,
            field_manager="x", _content_type="application/apply-patch+yaml",
        )  # fmt: skip

    # node-a named anywhere: in spec.node, in the label, or at the end of the name.
    for name, node, label in (
        ("job.other.node-b", "node-a", "node-b"),
        ("job.other.node-b", "node-b", "node-a"),
        ("job.other.node-a", "node-b", "node-b"),
    ):
        status, message = refusal(functools.partial(apply, name, node, label))
        assert (status, GUARD in message) == (403, True), (name, node, label, message)
    assert jobs.placement("shared", "node-a")["status"]["message"] == "m"

    # Its own node's placements are its business (nothing of its own confines it: allowUnprotected).
    b.apply_placement(shared, entry())
    b.delete_placement(KIND, "shared")
    # The Lease: whoever holds it, for at most 60 s.
    status, message = refusal(lambda: b.write_lease(AGGREGATOR, lease_spec("node-b", YEARS_68), None))
    assert status == 403
    assert message.endswith("the Lease chainlink-agent-aggregator may be held for 1 to 60 seconds"
                            " (leaseDurationSeconds)"), message  # fmt: skip
    b.write_lease(AGGREGATOR, lease_spec("node-b", 15), None)

    # node-a's own agent, and the namespace's admins, are not the guard's business.
    Kube(chart(AGENT_A), namespace, "node-a").apply_placement(shared, entry("a"))
    with cluster.api_client() as admin:
        Kube(admin, namespace, "node-a").delete_placement(KIND, "shared")
    assert jobs.placement("shared", "node-a") is None


def _guard(namespace: str, resource: str) -> str:
    policy = f"r-chainlink-node-guard.{namespace}.{GROUP}"
    return (
        f'{placement.PLURAL}.{GROUP} "job.{resource}.node-a" is forbidden: ValidatingAdmissionPolicy'
        f" '{policy}' with binding '{policy}' denied request: {GUARD}"
    )


def test_the_agents_self_test_tells_an_enforced_policy_from_a_missing_one_and_stores_nothing(
    chart, jobs, cluster, namespace
):
    check = AdmissionCheck(Kube(chart(AGENT_A), namespace, "node-a"), Metrics(), required=True)
    assert check.check() is True
    assert check.problem is None
    with cluster.api_client() as admin:
        # An agent the policy does not match stands for one without a policy: the dry run is accepted.
        unconfined = AdmissionCheck(Kube(admin, namespace, "node-a"), Metrics(), required=True)
        assert unconfined.check() is False
        assert unconfined.problem == NOT_ENFORCED
        listed = client.CustomObjectsApi(admin).list_namespaced_custom_object(
            GROUP, VERSION, namespace, placement.PLURAL
        )
        assert listed["items"] == []  # a dry run, never stored
        client.AdmissionregistrationV1Api(admin).delete_validating_admission_policy_binding(
            f"r-chainlink-node-agent.{namespace}.{GROUP}"
        )
    eventually(lambda: check.check() is False, 30, "the self-test to see the binding gone")
    assert check.problem == NOT_ENFORCED
    assert admission.other_node("node-a") != "node-a"


def test_an_agent_required_to_find_the_policy_is_not_ready_without_it(start_node, start_agent, jobs):
    # Run as an admin, whom no policy matches: as an agent of a release whose policy was deleted.
    agent = start_agent(
        "node-a", start_node(), env={"CHAINLINK_AGENT_ADMISSION_POLICY_REQUIRED": "true"}, wait_ready=False
    )
    eventually(lambda: agent.readyz() == f"503 {NOT_ENFORCED}", 30, "the agent to be not ready, saying why")
    assert "chainlink_agent_admission_policy_enforced 0.0" in agent.metrics()


def test_status_beyond_the_crds_bounds_is_refused_and_the_agents_capped_status_is_not(
    jobs, cluster, namespace
):
    with cluster.api_client() as admin:
        kube = Kube(admin, namespace, "node-a")
        shared = shared_job(jobs)
        status, message = refusal(lambda: kube.apply_placement(shared, entry("x" * (MAX_MESSAGE + 1))))
        assert status == 422
        assert "status.message: Too long" in message, message
        kube.apply_placement(shared, entry("x" * MAX_MESSAGE))
        many = [{"node": f"node-{i:04d}", **entry("y" * 5000)} for i in range(MAX_NODES + 1)]
        status, message = refusal(lambda: kube.apply_summary(shared, {"nodes": many}))
        assert (status, "status.nodes: Too many" in message) == (422, True), message[:500]
        kube.apply_summary(shared, summary(many))  # what the aggregator writes: capped
    assert len(jobs.get("shared")["status"]["nodes"]) == MAX_NODES
