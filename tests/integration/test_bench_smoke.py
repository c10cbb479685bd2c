"""Smoke tests of the control-plane bench itself (devkit/cluster)."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from devkit.cluster.controlplane import NODE_NAME, STORAGE_CLASS, ControlPlane, pinned_versions, tools_bin_dir
from devkit.harness import eventually

PINS = pinned_versions()


def run_tool(*argv: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, env=env, timeout=60).stdout


# ------------------------------------------------------------------------------------------ light


def test_configmap_round_trip_through_watch(kube_api: Any, namespace: str) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "probe", "labels": {"app": "smoke"}}, "data": {"answer": "42"}}
    )

    events = watch.Watch().stream(
        core.list_namespaced_config_map,
        namespace,
        field_selector="metadata.name=probe",
        timeout_seconds=10,
        _request_timeout=15,
    )
    event = next(events)
    events.close()

    assert event["type"] == "ADDED"
    assert event["object"].metadata.labels == {"app": "smoke"}
    assert event["object"].data == {"answer": "42"}


def test_api_server_reports_pinned_version(kube_api: Any) -> None:
    assert client.VersionApi(kube_api).get_code().git_version == PINS["K8S"]


def test_service_account_token_is_subject_to_rbac(
    cluster: ControlPlane, kube_api: Any, namespace: str
) -> None:
    core, rbac = client.CoreV1Api(kube_api), client.RbacAuthorizationV1Api(kube_api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "agent"}})
    rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "read-configmaps"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "agent-reads-configmaps"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-configmaps"},
            "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": namespace}],
        },
    )

    with cluster.api_client(cluster.service_account_token(namespace, "agent")) as agent_api:
        agent = client.CoreV1Api(agent_api)
        agent.list_namespaced_config_map(namespace)  # granted by the Role
        with pytest.raises(ApiException) as denied:
            agent.list_namespaced_secret(namespace)
    assert denied.value.status == 403
    assert f"system:serviceaccount:{namespace}:agent" in json.loads(denied.value.body)["message"]

    kubeconfig = cluster.service_account_kubeconfig(namespace, "agent")
    kubectl = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "get", "secrets"],
        capture_output=True,
        text=True,
        env=cluster.env(),
        timeout=60,
        check=False,
    )
    assert kubectl.returncode != 0
    assert "forbidden" in kubectl.stderr.lower()
    can_i = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "auth", "can-i", "list", "configmaps"],
        capture_output=True,
        text=True,
        env=cluster.env(),
        timeout=60,
        check=False,
    )
    assert can_i.stdout.strip() == "yes"


# ----------------------------------------------------------------------------------------- tools


@pytest.mark.cluster
@pytest.mark.parametrize(
    ("argv", "pin", "expected"),
    [
        pytest.param(["helm", "version", "--template={{ .Version }}"], "HELM", "{}", id="helm"),
        pytest.param(
            ["kubectl", "version", "--client", "-o", "json"], "K8S", '"gitVersion": "{}"', id="kubectl"
        ),
        pytest.param(["kube-apiserver", "--version"], "K8S", "Kubernetes {}", id="kube-apiserver"),
        pytest.param(
            ["kube-controller-manager", "--version"], "K8S", "Kubernetes {}", id="kube-controller-manager"
        ),
        pytest.param(["kube-scheduler", "--version"], "K8S", "Kubernetes {}", id="kube-scheduler"),
        pytest.param(["etcd", "--version"], "ETCD", "etcd Version: {}", id="etcd"),
        pytest.param(["kwok", "--version"], "KWOK", "kwok version {}", id="kwok"),
        pytest.param(["geth", "version"], "GETH", "Version: {}-stable", id="geth"),
    ],
)
def test_tools_report_pinned_versions(argv: list[str], pin: str, expected: str) -> None:
    bin_dir = tools_bin_dir()
    out = run_tool(str(bin_dir / argv[0]), *argv[1:])
    version = PINS[pin].removeprefix("v") if pin in ("ETCD", "GETH") else PINS[pin]
    assert expected.format(version) in out


# ------------------------------------------------------------------------------------------- full


def _pod_phase(core: Any, namespace: str, name: str) -> str | None:
    try:
        return str(core.read_namespaced_pod(name, namespace).status.phase)
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def test_statefulset_with_volume_becomes_ready(
    full_cluster: ControlPlane, kube_api: Any, namespace: str
) -> None:
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    labels = {"app": "db"}
    apps.create_namespaced_stateful_set(
        namespace,
        {
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db",
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "db", "image": "example.invalid/db:1"}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "5Gi"}},
                        },
                    }
                ],
            },
        },
    )

    eventually(
        lambda: apps.read_namespaced_stateful_set_status("db", namespace).status.ready_replicas == 1,
        60.0,
        "readyReplicas=1",
    )
    pvc = core.read_namespaced_persistent_volume_claim("data-db-0", namespace)
    assert pvc.status.phase == "Bound"
    assert pvc.spec.storage_class_name == STORAGE_CLASS
    assert pvc.status.capacity["storage"] == "5Gi"
    assert core.read_namespaced_pod("db-0", namespace).spec.node_name == NODE_NAME

    # Released volumes are deleted, so a long session does not pile them up.
    volume = pvc.spec.volume_name
    core.delete_namespaced_persistent_volume_claim("data-db-0", namespace)
    apps.delete_namespaced_stateful_set("db", namespace)

    def volume_gone() -> bool:
        try:
            core.read_persistent_volume(volume)
        except ApiException as e:
            return bool(e.status == 404)
        return False

    eventually(volume_gone, 60.0, f"PersistentVolume {volume} deleted")


def test_helm_test_pod_succeeds(full_cluster: ControlPlane, kube_api: Any, namespace: str) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_pod(
        namespace,
        {
            "metadata": {"name": "release-test", "annotations": {"helm.sh/hook": "test"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "example.invalid/t:1"}]},
        },
    )
    core.create_namespaced_pod(
        namespace,
        {
            "metadata": {"name": "plain"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "p", "image": "example.invalid/p:1"}]},
        },
    )

    eventually(
        lambda: _pod_phase(core, namespace, "release-test") == "Succeeded", 60.0, "helm test pod Succeeded"
    )
    eventually(lambda: _pod_phase(core, namespace, "plain") == "Running", 60.0, "plain pod Running")
    time.sleep(1)
    assert _pod_phase(core, namespace, "plain") == "Running"  # only hook (and Job) pods finish


def test_job_completes(full_cluster: ControlPlane, kube_api: Any, namespace: str) -> None:
    batch = client.BatchV1Api(kube_api)
    batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "once"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "j", "image": "example.invalid/j:1"}],
                    }
                }
            },
        },
    )

    eventually(
        lambda: batch.read_namespaced_job_status("once", namespace).status.succeeded == 1,
        60.0,
        "Job succeeded",
    )


def test_namespace_deletion_completes(full_cluster: ControlPlane, kube_api: Any) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespace({"metadata": {"name": "smoke-doomed"}})
    core.create_namespaced_config_map("smoke-doomed", {"metadata": {"name": "x"}})
    core.delete_namespace("smoke-doomed")

    def gone() -> bool:
        try:
            core.read_namespace("smoke-doomed")
        except ApiException as e:
            return bool(e.status == 404)
        return False

    eventually(gone, 60.0, "namespace smoke-doomed deleted")
