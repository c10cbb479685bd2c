"""The agent and the uninstall hook, run as the ServiceAccounts the chart makes, with exactly the chart's
Roles: every scenario needing a verb the Role lacks would fail here."""

from __future__ import annotations

import json
import subprocess
import sys

from chainlink_agent.model import placement
from chainlink_agent.model.resource import GROUP, NODE_PLURAL, VERSION
from kubernetes import client

from devkit.harness import (
    AgentProcess,
    allow,
    apply_chart_templates,
    eventually,
    node_statefulset,
    release_node,
    synced,
    toml,
    wait_for_policy,
    wide_table,
)
from devkit.specs import USES_BRIDGE
from tests.gitops.argocd import NODE_HEALTH_LUA, health
from tests.gitops.flux import flux_status

STATEFULSET = "r-chainlink-node"  # the chart's fullname for release "r"
EA_TOKEN = "ea-token-5f1c9e"  # a test value the node's status must never show


def node_status(cluster, namespace, node, secrets):
    """The agent's ChainlinkNode status, as its own Role lets it write it: the keys the node lists, its
    version, the counts, Ready; no secret of the scenario anywhere in it; kubectl's columns filled."""

    def reported():
        with cluster.api_client() as api:
            obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
                GROUP, VERSION, namespace, NODE_PLURAL, "node-a"
            )
        st = obj.get("status") or {}
        return obj if (st.get("jobs") or {}).get("summary") == "1/1" and st.get("bridges") else None

    obj = eventually(reported, 30, "the ChainlinkNode's status to count the job")
    st = obj["status"]
    # Argo CD's and Flux's health checks on the live object.
    assert health(obj, NODE_HEALTH_LUA) == ("Healthy", "ready, version 2.23.0")
    assert flux_status(obj, "ChainlinkNode") == "Current"
    p2p = node.api("GET", "/v2/keys/p2p")["data"][0]["attributes"]["peerId"]
    assert st["keys"]["p2p"][0]["peerID"] == p2p
    assert st["keys"]["csa"][0]["publicKey"].startswith("csa_")
    assert (st["version"], st["apiReachable"], st["conditions"][0]["status"]) == ("2.23.0", True, "True")
    assert st["bridges"]["summary"] == "1/1"
    text = json.dumps(st)
    assert not [s for s in secrets if s in text], "a secret in the ChainlinkNode status"
    header, row = wide_table(cluster.env(), namespace, "chainlinknodes")
    assert header.split()[:6] == ["NAME", "READY", "VERSION", "PEER", "ID", "JOBS"]
    assert row.split()[:5] == ["node-a", "True", "2.23.0", p2p, "1/1"]
    don = subprocess.run(
        [sys.executable, "-m", "chainlink_agent", "don", "-n", namespace, "-o", "json"],
        env=cluster.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    view = json.loads(don.stdout)
    assert view["peerIDs"] == [p2p.removeprefix("p2p_")]
    assert view["transmitters"] == [st["keys"]["eth"][0]["address"]]
    assert view["signers"] == ["0x" + st["keys"]["ocr2"][0]["onchainPublicKey"].removeprefix("ocr2on_evm_")]


def test_agent_needs_nothing_beyond_the_charts_role(cluster, namespace, jobs, bridges, start_node, tmp_path):
    sets = {"agent.allowedSecrets": "{ea}", "agent.allowedConfigMaps": "{specs}"}
    apply_chart_templates(
        cluster, namespace, "rbac.yaml", "admission-policy.yaml", "chainlinknode.yaml", sets=sets
    )
    kubeconfig = cluster.service_account_kubeconfig(namespace, "r-chainlink-node-agent", tmp_path / "sa")
    wait_for_policy(cluster, kubeconfig, namespace)
    node = start_node()
    agent = AgentProcess(
        tmp_path,
        str(kubeconfig),
        namespace,
        "node-a",
        node.url,
        node.email,
        node.password,
        env={**allow(secrets=("ea",), config_maps=("specs",)), "CHAINLINK_AGENT_REPORT_SECONDS": "1"},
    )
    agent.start()
    try:
        jobs.core.create_namespaced_config_map(
            namespace, {"metadata": {"name": "specs"}, "data": {"t": toml("a")}}
        )
        jobs.create(
            "from-cm",
            targets={"names": ["node-a"]},
            tomlFrom={"configMapKeyRef": {"name": "specs", "key": "t"}},
        )
        entry = synced(jobs, "from-cm", "node-a")
        assert eventually(lambda: jobs.events("from-cm"), 10, "the agent's Events")
        jobs.patch_spec("from-cm", {"suspend": True})
        eventually(
            lambda: (jobs.entry("from-cm", "node-a") or {}).get("phase") == "Suspended", 30, "Suspended"
        )
        jobs.delete("from-cm")
        eventually(lambda: jobs.cleaned("from-cm"), 30, "the job and its placement to go")
        assert entry["jobID"]

        # A bridge whose URL is in a Secret, and a job whose spec reads a Secret and waits for the bridge.
        bridges.secret("ea", {"url": f"https://ea.example/?token={EA_TOKEN}", "name": "templated"})
        jobs.create(
            "templated",
            USES_BRIDGE.format(name='{{ secret "ea" "name" }}', bridge="price"),
            targets={"names": ["node-a"]},
        )
        bridges.create(
            "price", urlFrom={"secretKeyRef": {"name": "ea", "key": "url"}}, targets={"names": ["node-a"]}
        )
        synced(jobs, "templated", "node-a")
        assert node.client().list_jobs()[0].name == "templated"
        node_status(cluster, namespace, node, secrets=[node.password, EA_TOKEN])
        jobs.delete("templated")
        eventually(lambda: jobs.cleaned("templated"), 30, "the job to go")
        bridges.delete("price")
        eventually(lambda: bridges.cleaned("price"), 30, "the bridge and its placement to go")
        assert "Forbidden" not in agent.log_path.read_text()
    finally:
        agent.stop()


def test_release_node_stops_the_node_then_marks_its_placements_released(
    full_cluster, namespace, jobs, bridges, start_node, tmp_path
):
    apply_chart_templates(full_cluster, namespace, "release-hook.yaml")
    with full_cluster.api_client() as api:
        apps = client.AppsV1Api(api)
        node_statefulset(apps, namespace, STATEFULSET)
        eventually(
            lambda: (
                (apps.read_namespaced_stateful_set(STATEFULSET, namespace).status.ready_replicas or 0) == 1
            ),
            60,
            "the node's pod to be ready",
        )

        node = start_node()
        agent = AgentProcess(
            tmp_path, str(full_cluster.kubeconfig), namespace, "node-a", node.url, node.email, node.password
        )
        agent.start()
        jobs.create("feed", toml("feed"), targets={"names": ["node-a", "node-gone"]})
        synced(jobs, "feed", "node-a")
        bridges.create("price", "https://ea.example", targets={"names": ["node-a"]})
        eventually(
            lambda: (bridges.entry("price", "node-a") or {}).get("phase") == "Synced", 30, "the bridge"
        )
        agent.kill()  # stands in for the sidecar, which the scale-down below stops in a real pod

        hook = full_cluster.service_account_kubeconfig(
            namespace, "r-chainlink-node-release", tmp_path / "hook"
        )
        release_node(
            {
                **agent.env,
                "KUBECONFIG": str(hook),
                "CHAINLINK_AGENT_STATEFULSET": STATEFULSET,
                "CHAINLINK_AGENT_RELEASE_WAIT_SECONDS": "60",
            }
        )
        sts = apps.read_namespaced_stateful_set(STATEFULSET, namespace)
        assert sts.spec.replicas == 0
        assert not sts.status.replicas
        # Kept with the node's database, for a reinstall on it (test_lifecycle), and shown in no status.
        assert placement.released(jobs.placement("feed", "node-a"))
        assert placement.released(bridges.placement("price", "node-a"))
        jobs.delete("feed")
        eventually(lambda: jobs.get("feed") is None, 30, "the resource to go without node-a")
