"""Day-2 lifecycle of a release on the full bench (helm against a real apiserver, kwok pods): credentials that
unlock persistent data survive uninstall, reinstall and GitOps renders; an upgrade cannot rename the node; an
agent turned off, or a release deleted by Argo CD, leaves its node's placements released (in no status), and a
reinstall on the kept database takes them back."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from chainlink_agent.model import placement
from chainlink_agent.model.resource import GROUP, NODE_PLURAL, VERSION
from kubernetes import client

from devkit.chart import CHART
from devkit.harness import (
    AgentProcess,
    apply_chart_templates,
    eventually,
    node_statefulset,
    release_node,
    synced,
    toml,
)

RELEASE = "r"
STATEFULSET = "r-chainlink-node"
CREDENTIAL_SECRETS = ("r-chainlink-node-api", "r-chainlink-node-secrets", "r-chainlink-node-postgres")


def helm(cluster, namespace: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["helm", *args, "-n", namespace],
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"helm {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}", pytrace=False
        )
    return proc


def install(cluster, namespace: str, *sets: str) -> None:
    values = ["--set", "nodeName=node-a", *(arg for s in sets for arg in ("--set", s))]
    helm(cluster, namespace, "upgrade", "--install", RELEASE, str(CHART), *values)


def credentials(core: client.CoreV1Api, namespace: str) -> dict[str, dict[str, str]]:
    return {name: core.read_namespaced_secret(name, namespace).data for name in CREDENTIAL_SECRETS}


def pod_checksum(apps: client.AppsV1Api, namespace: str) -> str:
    sts = apps.read_namespaced_stateful_set(STATEFULSET, namespace)
    return str(sts.spec.template.metadata.annotations["checksum/secrets"])


def test_credentials_and_data_survive_upgrade_uninstall_and_reinstall(full_cluster, kube_api, namespace):
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    install(full_cluster, namespace)
    first = credentials(core, namespace)
    checksum = pod_checksum(apps, namespace)
    pvcs = eventually(
        lambda: core.list_namespaced_persistent_volume_claim(namespace).items, 60, "the database PVC"
    )
    volume = {p.metadata.name: p.metadata.uid for p in pvcs}

    # An upgrade finds the stored credentials: same Secrets, and the pod does not roll for nothing.
    install(full_cluster, namespace, "node.logLevel=debug")
    assert credentials(core, namespace) == first
    assert pod_checksum(apps, namespace) == checksum

    # An upgrade may not rename the node.
    renamed = install_failure(full_cluster, namespace, "nodeName=node-z")
    assert 'nodeName cannot change from "node-a" to "node-z" on an installed release' in renamed

    # Nor lower the node's version below the one its ChainlinkNode reports (the agent's report, here by hand).
    running = {"status": {"version": "2.23.0"}}
    client.CustomObjectsApi(kube_api).patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, NODE_PLURAL, "node-a", running
    )
    lowered = install_failure(full_cluster, namespace, "image.tag=2.22.1")
    assert "image.tag 2.22.1 would lower node node-a from version 2.23.0" in lowered
    image = apps.read_namespaced_stateful_set(STATEFULSET, namespace).spec.template.spec.containers[0].image
    assert image.endswith(":2.23.0")

    helm(full_cluster, namespace, "uninstall", RELEASE, "--wait")
    assert credentials(core, namespace) == first  # kept (helm.sh/resource-policy: keep)
    assert {
        p.metadata.name: p.metadata.uid for p in core.list_namespaced_persistent_volume_claim(namespace).items
    } == volume

    install(full_cluster, namespace)  # adopts the kept Secrets: same release name and namespace
    assert credentials(core, namespace) == first
    assert pod_checksum(apps, namespace) == checksum
    secrets_toml = base64.b64decode(first["r-chainlink-node-secrets"]["secrets.toml"]).decode()
    assert base64.b64decode(first["r-chainlink-node-postgres"]["password"]).decode() in secrets_toml


def install_failure(cluster, namespace: str, *sets: str) -> str:
    values = ["--set", "nodeName=node-a", *(arg for s in sets for arg in ("--set", s))]
    proc = helm(cluster, namespace, "upgrade", RELEASE, str(CHART), *values, check=False)
    assert proc.returncode != 0
    return proc.stderr


def test_gitops_renders_never_rotate_credentials(full_cluster, namespace, tmp_path):
    env = full_cluster.env()
    template = ["helm", "template", RELEASE, str(CHART), "-n", namespace, "--set", "nodeName=node-a"]
    refused = subprocess.run(template, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "Helm cannot read the cluster" in refused.stderr
    assert "existingSecret" in refused.stderr

    given = [
        *("--set", "node.api.existingSecret=api", "--set", "node.keystore.existingSecret=keystore"),
        *("--set", "postgresql.auth.existingSecret=pg"),
    ]
    renders = [
        subprocess.run([*template, *given], env=env, capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert renders[0] == renders[1]
    path = tmp_path / "render.yaml"
    path.write_text(renders[0])
    kubectl = ["kubectl", "-n", namespace]
    subprocess.run([*kubectl, "apply", "-f", str(path)], env=env, capture_output=True, check=True)
    versions = [resource_versions(kubectl, path, env)]
    path.write_text(renders[1])
    subprocess.run([*kubectl, "apply", "-f", str(path)], env=env, capture_output=True, check=True)
    versions.append(resource_versions(kubectl, path, env))
    # kubectl may still send a patch (it resends atomic lists the server defaults, such as a
    # StatefulSet's volumeClaimTemplates), but no object changes.
    assert versions[0] == versions[1]


def resource_versions(kubectl: list[str], path, env) -> dict[str, str]:
    """Each object's generation (a spec change), or resourceVersion where it has none; controllers move
    the resourceVersion of what they report status on (the hook Job, the test pods)."""
    out = subprocess.run(
        [*kubectl, "get", "-f", str(path), "-o", "json"], env=env, capture_output=True, check=True
    )
    metas = [o["metadata"] for o in json.loads(out.stdout)["items"]]
    return {m["name"]: str(m.get("generation") or m["resourceVersion"]) for m in metas}


@pytest.mark.parametrize("mode", ["agent-disabled", "argo-post-delete"])
def test_release_node_releases_the_nodes_placements_without_the_agent(
    mode, full_cluster, kube_api, namespace, jobs, bridges, start_node, tmp_path
):
    """After an upgrade with agent.enabled=false, the post-upgrade hook waits for the StatefulSet to roll out
    pods without the sidecar, then releases, leaving the node running. Argo CD runs the hook after deleting
    the release (PostDelete): the StatefulSet is gone, and the release goes ahead."""
    sets = (
        {"agent.enabled": "false"} if mode == "agent-disabled" else {"agent.releaseJob.hook": "post-delete"}
    )
    apply_chart_templates(full_cluster, namespace, "release-hook.yaml", sets=sets)
    apps = client.AppsV1Api(kube_api)
    node_statefulset(apps, namespace, STATEFULSET)
    node = start_node()
    agent = AgentProcess(
        tmp_path, str(full_cluster.kubeconfig), namespace, "node-a", node.url, node.email, node.password
    )
    agent.start()
    jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})
    synced(jobs, "feed", "node-a")
    agent.kill()
    if mode == "argo-post-delete":
        apps.delete_namespaced_stateful_set(STATEFULSET, namespace)
    else:  # the upgrade's new pod template (without the sidecar) is rolling out
        rollout = {"spec": {"template": {"metadata": {"annotations": {"agent": "off"}}}}}
        apps.patch_namespaced_stateful_set(STATEFULSET, namespace, rollout)

    hook = full_cluster.service_account_kubeconfig(namespace, "r-chainlink-node-release", tmp_path / "hook")
    env = {**agent.env, "KUBECONFIG": str(hook), "CHAINLINK_AGENT_STATEFULSET": STATEFULSET}
    if mode == "agent-disabled":
        env["CHAINLINK_AGENT_RELEASE_AFTER_ROLLOUT"] = "true"
    release_node(env)
    assert placement.released(jobs.placement("feed", "node-a"))
    if mode == "agent-disabled":
        sts = apps.read_namespaced_stateful_set(STATEFULSET, namespace)
        assert sts.spec.replicas == 1  # still running
        assert sts.status.current_revision == sts.status.update_revision  # released after the rollout
    jobs.delete("feed")
    eventually(lambda: jobs.get("feed") is None, 30, "the resource to go without waiting for node-a")


def test_a_reinstall_on_the_kept_database_cleans_and_takes_back_what_its_agent_made(
    cluster, namespace, jobs, bridges, start_node, start_agent, tmp_path
):
    """Uninstall (release-node, as the hook's ServiceAccount) keeps node-a's placements, released: the status
    drops node-a. While it is away one job's resource is deleted and the bridge's URL rotated. The reinstall,
    on the same node and database, removes that job, updates its own bridge (not BridgeExists) and keeps the
    other job as it was."""
    apply_chart_templates(cluster, namespace, "release-hook.yaml")

    def bridge_synced() -> bool:
        return (bridges.entry("price", "node-a") or {}).get("phase") == "Synced"

    node_a, node_b = start_node(), start_node()
    start_agent("node-b", node_b)  # first, so it holds the aggregator's Lease and writes the status
    agent = start_agent("node-a", node_a)
    for name in ("kept", "gone"):
        jobs.create(name, toml(name), targets={"names": ["node-a"]})
    bridges.create("price", url="https://ea-1.example", targets={"names": ["node-a"]})
    kept = synced(jobs, "kept", "node-a")
    synced(jobs, "gone", "node-a")
    eventually(bridge_synced, 30, "the bridge Synced")
    agent.kill()

    hook = cluster.service_account_kubeconfig(namespace, "r-chainlink-node-release", tmp_path / "hook")
    release_node({**agent.env, "KUBECONFIG": str(hook)})
    assert placement.released(jobs.placement("kept", "node-a"))
    eventually(lambda: jobs.entry("kept", "node-a") is None, 30, "node-a to leave the status")

    jobs.delete("gone")
    bridges.patch_spec("price", {"url": "https://ea-2.example"})
    agent.start()  # the reinstall's agent, on the same node and database
    eventually(lambda: jobs.cleaned("gone"), 30, "the deleted resource's job and placement to go")
    eventually(lambda: node_a.client().find_bridge("price").url == "https://ea-2.example", 30, "the new URL")
    eventually(bridge_synced, 30, "the bridge Synced again")
    assert synced(jobs, "kept", "node-a")["jobID"] == kept["jobID"]  # taken back, not replaced
    assert {job.external_job_id for job in node_a.client().list_jobs()} == {kept["externalJobID"]}
    assert not placement.released(jobs.placement("kept", "node-a"))
