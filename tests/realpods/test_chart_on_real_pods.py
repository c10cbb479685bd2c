"""The chart on real pods (a kubelet node with containerd, images built here): what kwok can only pretend.

One release with the chart's defaults and one EVM chain, the bench's dev chain (geth --dev on the bridge's
address, where pods reach it): its helm tests run for real (kwok's only pretend to pass; ct install of every
ci values file runs there, tests/chart), and it is looked at from inside: the node boots in the StatefulSet
on Postgres initialised from the chart's Secret, the sidecar reaches it on 127.0.0.1 and syncs a
ChainlinkJob applied with kubectl, the node follows the chain and the ChainlinkNode shows it, the containers
run as written (non-root uids, read-only root filesystems, the projected token).
"""

from __future__ import annotations

import base64
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from chainlink_agent.model.resource import GROUP, NODE_PLURAL, VERSION
from kubernetes import client

from devkit.chart import CHART, run
from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.devchain import DevChain
from devkit.cluster.fixtures import serving
from devkit.cluster.images import CURL_VERSION
from devkit.cluster.kubelet import NODE_IP
from devkit.harness import Jobs, eventually, free_port

REPO = Path(__file__).resolve().parents[2]
# The test pods' image is Debian's curl under its true version (devkit/cluster/images.py).
TEST_IMAGE = f"--set=tests.image.tag={CURL_VERSION}"
RELEASE = "node-a"
JOB = yaml.safe_load((REPO / "samples" / "webhook-job.yaml").read_text())


@pytest.fixture(scope="module")
def chain(real_pods_cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevChain]:
    """geth --dev on the bridge's address, where the release's node reaches it."""
    yield from serving(DevChain(tmp_path_factory.mktemp("real-pods-chain"), host=NODE_IP), "dev chain")


@pytest.fixture(scope="module")
def release(
    real_pods_cluster: ControlPlane, chain: DevChain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """node-a installed with the chart's defaults and the dev chain in its own namespace; uninstalled
    afterwards."""
    env = real_pods_cluster.env()
    namespace = f"real-pods-{int(time.time())}"
    run(["kubectl", "create", "namespace", namespace], env)
    rpc = {"Name": "dev", "WSURL": chain.ws_url, "HTTPURL": chain.http_url}
    values = tmp_path_factory.mktemp("values") / "chain.yaml"
    values.write_text(yaml.safe_dump({"node": {"evm": [{"ChainID": str(chain.chain_id), "Nodes": [rpc]}]}}))
    # nodeName as samples/webhook-job.yaml targets it (the chart's default is the release's full name).
    install = [
        "helm",
        "install",
        RELEASE,
        str(CHART),
        "-n",
        namespace,
        f"--set=nodeName={RELEASE}",
        "--set=agent.reportSeconds=5",
        "--set=agent.resyncSeconds=15",  # the key's balance is read at each resync
        TEST_IMAGE,
        f"--values={values}",
    ]
    run([*install, "--wait", "--timeout", "10m"], env, timeout=660)
    yield namespace
    run(["helm", "uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "5m"], env, timeout=330)
    run(["kubectl", "delete", "namespace", namespace, "--wait=false"], env)


def _pod(api: Any, namespace: str) -> Any:
    return client.CoreV1Api(api).read_namespaced_pod(f"{RELEASE}-chainlink-node-0", namespace)


def _exec(
    cluster: ControlPlane, namespace: str, container: str, *command: str
) -> subprocess.CompletedProcess[str]:
    pod = f"{RELEASE}-chainlink-node-0"
    return subprocess.run(
        ["kubectl", "exec", "-n", namespace, pod, "-c", container, "--", *command],
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_charts_helm_tests_pass_on_real_pods(real_pods_cluster: ControlPlane, release: str) -> None:
    output = run(
        ["helm", "test", RELEASE, "-n", release, "--timeout", "5m"], real_pods_cluster.env(), timeout=330
    )
    phases = [line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("Phase:")]
    assert phases, output
    assert set(phases) == {"Succeeded"}, output


def test_containers_run_as_written(real_pods_cluster: ControlPlane, release: str) -> None:
    with real_pods_cluster.api_client() as api:
        pod = _pod(api, release)
    statuses = {s.name: s for s in pod.status.container_statuses + (pod.status.init_container_statuses or [])}
    assert statuses["node"].ready, statuses["node"]
    assert statuses["node"].restart_count == 0, statuses["node"]
    # The pod's runAsUser (the node image's chainlink user) applies to the sidecar too.
    for container in ("node", "agent"):
        assert _exec(real_pods_cluster, release, container, "id", "-u").stdout.strip() == "14933"
    # readOnlyRootFilesystem: the node writes only to its volumes.
    denied = _exec(real_pods_cluster, release, "node", "touch", "/probe")
    assert "Read-only file system" in denied.stderr, denied
    # The agent's projected token is mounted and is the only credential it holds.
    token = _exec(real_pods_cluster, release, "agent", "ls", "/var/run/secrets/kubernetes.io/serviceaccount")
    assert "token" in token.stdout.split(), token


def test_postgres_initialised_from_the_charts_secret(real_pods_cluster: ControlPlane, release: str) -> None:
    with real_pods_cluster.api_client() as api:
        secret = client.CoreV1Api(api).read_namespaced_secret(f"{RELEASE}-chainlink-node-postgres", release)
    assert secret.data, "the chart generated the Postgres password"
    password = _b64(next(iter(secret.data.values())))
    # Through the Service (cluster DNS, kube-proxy), where pg_hba.conf asks for the password (scram-sha-256;
    # loopback is trusted, as in the official image): the Secret's password works, another does not.
    assert "PostgreSQL 16.9" in _psql(real_pods_cluster, release, password).stdout
    refused = _psql(real_pods_cluster, release, password + "x")
    assert "password authentication failed" in refused.stderr, refused


def _psql(cluster: ControlPlane, namespace: str, password: str) -> subprocess.CompletedProcess[str]:
    host = f"{RELEASE}-chainlink-node-postgres"
    query = ["psql", "-U", "chainlink", "-d", "chainlink", "-h", host, "-tAc", "SELECT version()"]
    command = f"PGPASSWORD={shlex.quote(password)} {shlex.join(query)}"
    pod = f"{RELEASE}-chainlink-node-postgres-0"
    return subprocess.run(
        ["kubectl", "exec", "-n", namespace, pod, "--", "sh", "-c", command],
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_job_applied_with_kubectl_is_synced_on_the_node_in_the_pod(
    real_pods_cluster: ControlPlane, release: str, tmp_path: Path
) -> None:
    env = real_pods_cluster.env()
    manifest = tmp_path / "job.yaml"
    manifest.write_text(yaml.safe_dump(JOB))
    run(["kubectl", "apply", "-n", release, "-f", str(manifest)], env)
    name = JOB["metadata"]["name"]
    with real_pods_cluster.api_client() as api:
        jobs = Jobs(api, release)
        entry = eventually(
            lambda: (e := jobs.entry(name, RELEASE)) and e.get("phase") == "Synced" and e,
            120,
            f"{name} Synced on {RELEASE}",
        )
        secret = client.CoreV1Api(api).read_namespaced_secret(f"{RELEASE}-chainlink-node-api", release)
    # The node itself, through a port-forward to its pod: the job is there under the CR's external ID.
    email, password = _b64(secret.data["credentials"]).splitlines()[:2]
    port = free_port()
    forward = subprocess.Popen(
        ["kubectl", "port-forward", "-n", release, f"pod/{RELEASE}-chainlink-node-0", f"{port}:6688"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as node:
            eventually(lambda: _answers(node), 30, "the port-forward")
            node.post("/sessions", json={"email": email, "password": password}).raise_for_status()
            listed = node.get("/v2/jobs").json()["data"]
    finally:
        forward.terminate()
        forward.wait(10)
    ids = {job["attributes"]["externalJobID"]: job["id"] for job in listed}
    assert ids.get(entry["externalJobID"]) == str(entry["jobID"]), (entry, ids)


def test_the_releases_chainlinknode_reports_the_real_node(
    real_pods_cluster: ControlPlane, release: str
) -> None:
    """The sidecar, under the chart's Role in a real pod, writes what the real node reports."""

    def reported() -> dict[str, Any] | None:
        st = _node_status(real_pods_cluster, release)
        ready = [c["status"] for c in st.get("conditions") or () if c["type"] == "Ready"]
        return st if ready == ["True"] and st.get("health") else None

    st = eventually(reported, 120, "the ChainlinkNode Ready with the node's health")
    assert st["version"] == "2.23.0"
    assert st["keys"]["p2p"][0]["peerID"].startswith("p2p_12D3KooW")
    assert st["keys"]["csa"][0]["publicKey"].startswith("csa_")
    assert st["apiReachable"] is True


def test_the_node_in_its_pod_follows_the_dev_chain_and_its_chainlinknode_shows_it(
    real_pods_cluster: ControlPlane, release: str, chain: DevChain
) -> None:
    chain_id = str(chain.chain_id)

    def chain_entry() -> dict[str, Any] | None:
        entries = _node_status(real_pods_cluster, release).get("chains") or ()
        return next((c for c in entries if c["id"] == chain_id and c.get("keys")), None)

    # A new key holds nothing: the chain is there, its RPC node reached from the pod, the key made.
    seen = eventually(chain_entry, 180, f"chain {chain_id} in the ChainlinkNode's status, with a key")
    assert seen["rpcs"] == [{"name": "dev", "state": "Alive"}], seen
    [key] = seen["keys"]
    chain.fund(key["address"], 10**18)

    def funded_and_following() -> dict[str, Any] | None:
        entry = chain_entry()
        ok = (
            entry is not None and entry["state"] == "OK" and entry["keys"][0].get("ethBalance") == str(10**18)
        )
        return entry if ok else None

    entry = eventually(funded_and_following, 60, "the chain OK with the key's funds and a head")
    assert entry["head"]["number"] > 0
    summary = _node_status(real_pods_cluster, release)["chainsSummary"]
    assert summary.startswith("1/1 OK"), summary


def _node_status(cluster: ControlPlane, namespace: str) -> dict[str, Any]:
    """The release's ChainlinkNode's status."""
    with cluster.api_client() as api:
        obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, NODE_PLURAL, RELEASE
        )
    return dict(obj.get("status") or {})


def _answers(node: httpx.Client) -> bool:
    try:
        return node.get("/health").status_code < 500
    except httpx.TransportError:
        return False


def _b64(value: str) -> str:
    return base64.b64decode(value).decode()
