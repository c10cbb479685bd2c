"""The agent as a trust boundary, on the bench, run as the chart's ServiceAccount under the chart's Role and
ValidatingAdmissionPolicy: a job author cannot make it read a Secret that was not handed to this node, no
value it reads reaches status, Events, its log or /metrics, it writes no resource but its status, and no
node's placements but its own."""

from __future__ import annotations

import json
import subprocess

import pytest
from chainlink_agent.control.access import ALLOWED_NODES
from chainlink_agent.k8s.kube import Kube
from chainlink_agent.model.resource import GROUP, KIND, VERSION, ChainlinkJob
from chainlink_agent.status.aggregator import summary
from kubernetes import client, config

from devkit.harness import (
    AgentProcess,
    allow,
    apply_chart_templates,
    entry_where,
    refusal,
    synced,
    toml,
    wait_for_policy,
)
from devkit.specs import USES_BRIDGE

SA = "r-chainlink-node-agent"  # the chart's agent ServiceAccount for release "r"
MARKER = "zz-marker-7f3a9c41-zz"
MIXED_MARKER = "Zz-Mixed-5b2e8d17-Zz"  # the node lowercases a bridge name: the scan ignores case
UUID_MARKER = "0b7c3f4e-9d2a-4c61-8e5f-a1b2c3d4e5f6"
URL_MARKER = f"https://ea.example/{MARKER}-url"
NODE_B_KEYSTORE = "NODE-B-keystore-Pass-999"
CRON = """type = "cron"
schemaVersion = 1
name = "{name}"
schedule = "{schedule}"
observationSource = \"\"\"
    fetch [type=http method=GET url="{url}"]
\"\"\"
"""


def with_field(name: str, line: str) -> str:
    """The webhook spec with one more top-level line (before the first table)."""
    return f"{line}\n{toml(name)}"


@pytest.fixture
def charts_agent(cluster, namespace, start_node, tmp_path):
    """node-a's agent with the chart's RBAC and admission policy, allowed Secrets "ea" and "unannotated"
    and ConfigMap "specs"."""
    sets = {"agent.allowedSecrets": "{ea,unannotated}", "agent.allowedConfigMaps": "{specs}"}
    apply_chart_templates(cluster, namespace, "rbac.yaml", "admission-policy.yaml", sets=sets)
    kubeconfig = cluster.service_account_kubeconfig(namespace, SA, tmp_path / "sa")
    wait_for_policy(cluster, kubeconfig, namespace)
    node = start_node()
    env = allow(secrets=("ea", "unannotated"), config_maps=("specs",))
    agent = AgentProcess(
        tmp_path, str(kubeconfig), namespace, "node-a", node.url, node.email, node.password, env=env
    )
    agent.start()
    yield agent, node
    agent.kill()
    with cluster.api_client() as api:
        admission = client.AdmissionregistrationV1Api(api)
        name = f"{SA}.{namespace}.{GROUP}"
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)


def test_job_authors_cannot_read_secrets_through_the_agent_and_no_read_value_leaks(
    charts_agent, jobs, bridges, cluster, namespace
):
    agent, node = charts_agent
    core = jobs.core
    # Another node's keystore password, as the chart makes it (not listed for node-a, and a chart Secret).
    core.create_namespaced_secret(
        namespace,
        {
            "metadata": {
                "name": "node-b-chainlink-node-secrets",
                "labels": {"app.kubernetes.io/part-of": "chainlink-k8s"},
                "annotations": {ALLOWED_NODES: "*"},
            },
            "stringData": {"keystore-password": NODE_B_KEYSTORE},
        },
    )
    bridges.secret(
        "ea",
        {"marker": MARKER, "mixed": MIXED_MARKER, "uuid": UUID_MARKER, "url": URL_MARKER},
        allowed_nodes="node-a",
    )
    bridges.secret("unannotated", {"marker": MARKER}, allowed_nodes=None)
    target = {"names": ["node-a"]}
    ea = '{{ secret "ea" "%s" }}'

    # Every templatable field, in specs that are refused, invalid, waiting or fine.
    refused = {  # name -> (spec, reason, what the message says)
        "steal-b": (
            with_field(
                "steal-b",
                'externalJobID = "{{ secret "node-b-chainlink-node-secrets" "keystore-password" }}"',
            ),
            "SecretNotAllowed",
            "Secret 'node-b-chainlink-node-secrets' is not one node node-a may read",
        ),
        "steal-unannotated": (
            toml('{{ secret "unannotated" "marker" }}'),
            "SecretNotAllowed",
            "Secret 'unannotated' does not allow node node-a: its owner must list the node in its"
            f" annotation {ALLOWED_NODES}",
        ),
        "ext-id-from-secret": (
            with_field("ext-id-from-secret", f'externalJobID = "{ea % "uuid"}"'),
            "SecretNotAllowed",
            "externalJobID may not come from a Secret",
        ),
    }
    invalid = {
        "ext-id-not-uuid": (
            with_field("ext-id-not-uuid", f'externalJobID = "{ea % "marker"}"'),
            "InvalidExternalJobID",
        ),
        "bad-type": (toml("bad-type").replace('"webhook"', f'"{ea % "marker"}"'), "NodeRejected"),
    }
    for name, (spec, *_) in {**refused, **invalid}.items():
        jobs.create(name, spec, targets=target)
    jobs.create(
        "steal-unlisted-cm",
        targets=target,
        tomlFrom={"configMapKeyRef": {"name": "kube-root-ca.crt", "key": "ca.crt"}},
    )
    # Waits for a bridge named after the secret: the agent's own message would quote it, lowercased.
    jobs.create(
        "bridge-from-secret",
        USES_BRIDGE.format(name="bridge-from-secret", bridge=ea % "mixed"),
        targets=target,
    )
    # Allowed uses: the owner of "ea" consented for node-a.
    core.create_namespaced_config_map(
        namespace,
        {
            "metadata": {"name": "specs"},
            "data": {
                "cron.toml": CRON.format(name="from-cm", schedule="CRON_TZ=UTC 0 0 * * * *", url=ea % "url")
            },
        },
    )
    jobs.create(
        "from-cm", targets=target, tomlFrom={"configMapKeyRef": {"name": "specs", "key": "cron.toml"}}
    )
    jobs.create("named-by-secret", toml(ea % "marker"), targets=target)
    bridges.create("price", urlFrom={"secretKeyRef": {"name": "ea", "key": "url"}}, targets=target)
    bridges.create(
        "steal-b",
        urlFrom={"secretKeyRef": {"name": "node-b-chainlink-node-secrets", "key": "keystore-password"}},
        targets=target,
    )

    for name, (_, reason, message) in refused.items():
        assert entry_where(jobs, name, "node-a", "Invalid", reason)["message"].startswith(message)
    entry_where(jobs, "steal-unlisted-cm", "node-a", "Invalid", "ConfigMapNotAllowed")
    for name, (_, reason) in invalid.items():
        entry_where(jobs, name, "node-a", "Invalid", reason)
    waiting = entry_where(jobs, "bridge-from-secret", "node-a", "Pending", "BridgeMissing")
    assert waiting["message"] == "waiting for bridge [redacted]"
    entry_where(bridges, "steal-b", "node-a", "Invalid", "SecretNotAllowed")
    entry_where(bridges, "price", "node-a", "Synced")
    synced(jobs, "from-cm", "node-a")
    synced(jobs, "named-by-secret", "node-a")
    on_node = {job.name: job for job in node.client().list_jobs()}
    assert set(on_node) == {"from-cm", MARKER}  # the allowed values did reach the node, and nothing else
    assert node.client().find_bridge("price").url == URL_MARKER

    # No value read, and nothing of node-b's, anywhere a job author can look.
    with cluster.api_client() as api:
        custom = client.CustomObjectsApi(api)
        statuses = json.dumps(
            [
                custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)
                for plural in ("chainlinkjobs", "chainlinkbridges")
            ]
        )
    events = json.dumps([e.message for e in core.list_namespaced_event(namespace).items])
    metrics = agent.metrics()
    assert agent.stop() == 0
    log = agent.log_path.read_text()
    for where, text in {
        "status": statuses,
        "Events": events,
        "the agent's log": log,
        "/metrics": metrics,
    }.items():
        for value in (MARKER, MIXED_MARKER, UUID_MARKER, URL_MARKER, NODE_B_KEYSTORE, "ea.example"):
            assert value.lower() not in text.lower(), f"{value} in {where}, in some case"
    assert "[redacted]" in statuses


def can_i(cluster, namespace: str, verb: str, resource: str) -> bool:
    """kubectl auth can-i, as node-a's agent ServiceAccount."""
    proc = subprocess.run(
        [
            "kubectl",
            "auth",
            "can-i",
            verb,
            resource,
            "-n",
            namespace,
            f"--as=system:serviceaccount:{namespace}:{SA}",
        ],
        env=cluster.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() == "yes"


def test_the_agents_role_names_exactly_the_secrets_it_was_handed(cluster, namespace):
    apply_chart_templates(cluster, namespace, "rbac.yaml", sets={"agent.allowedSecrets": "{ea}"})
    assert can_i(cluster, namespace, "get", "secrets/ea")
    assert not can_i(cluster, namespace, "get", "secrets/node-b-chainlink-node-secrets")
    assert not can_i(cluster, namespace, "list", "secrets")
    assert not can_i(cluster, namespace, "get", "configmaps/specs")  # none listed: no rule at all


def test_an_agent_may_write_only_its_own_nodes_placements_and_no_resource_but_its_status(
    charts_agent, jobs, cluster, namespace, tmp_path
):
    agent, _ = charts_agent
    agent.kill()  # the test acts as the sidecar itself
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ChainlinkJob",
        "metadata": {"name": "shared"},
        "spec": {"toml": toml("shared"), "targets": {"names": ["node-a", "node-b"]}},
    }
    jobs.api.create_namespaced_custom_object(GROUP, VERSION, namespace, "chainlinkjobs", body)
    shared = ChainlinkJob.from_dict(jobs.get("shared"))
    with cluster.api_client() as admin:
        Kube(admin, namespace, "node-b").apply_placement(shared, _entry("Synced"))  # node-b's own record
    kubeconfig = cluster.service_account_kubeconfig(namespace, SA, tmp_path / "sa-direct")
    as_agent = config.new_client_from_config(str(kubeconfig))
    custom = client.CustomObjectsApi(as_agent)
    node_a, node_b_as_a = Kube(as_agent, namespace, "node-a"), Kube(as_agent, namespace, "node-b")

    def refused(call) -> str:
        status, message = refusal(call)
        assert status in (403, 422), message
        return message

    def patch(ops):
        return custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "chainlinkjobs",
            "shared",
            ops,
            _content_type="application/json-patch+json",
        )

    # No write to a resource itself: its spec, labels and finalizers are its author's.
    assert "forbidden" in refused(lambda: patch([{"op": "replace", "path": "/spec/suspend", "value": True}]))
    assert "forbidden" in refused(
        lambda: patch([{"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]}])
    )
    # Another node's placement is that node's record of what it made: neither written nor deleted.
    own = "may write only its own node's placements"
    assert own in refused(lambda: node_b_as_a.apply_placement(shared, _entry("Error")))
    assert "only its own node's placements" in refused(lambda: node_b_as_a.delete_placement(KIND, "shared"))
    assert jobs.placement("shared", "node-b")["status"]["phase"] == "Synced"

    # What the agent does is still allowed: its own placement, and the status summary when it is elected.
    node_a.apply_placement(shared, _entry("Synced"))
    node_a.apply_summary(shared, summary([{"node": "node-a", **_entry("Synced")}]))
    node_a.delete_placement(KIND, "shared")
    assert jobs.placement("shared", "node-a") is None
    assert jobs.get("shared")["status"]["phases"] == {"node-a": "Synced"}


def _entry(phase: str) -> dict:
    return {
        "phase": phase,
        "message": "m",
        "observedGeneration": 1,
        "jobID": "1",
        "conditions": [
            {
                "type": "Synced",
                "status": "True",
                "observedGeneration": 1,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "reason": "JobSynced",
                "message": "m",
            }
        ],
    }
