"""Issue 23 drill on real pods: the chart backs a release's node up, the namespace is lost, and the chart
restores the node into a new namespace with the same keys and its jobs Synced again.

tests/drills/test_backup_restore.py runs the backup Job's containers and the restore's init containers as
processes; here the chart runs them, in pods on the kubelet node, against the bench's S3 store (versitygw) on
the bridge address the pods reach (devkit.cluster.kubelet.NODE_IP):

* namespace A: `node-a` installed with `backup.enabled` (an EVM chain at an unreachable RPC and OCR2 on, so
  that the node makes an ETH key and OCR2 bundles beside its P2P and CSA keys), samples/webhook-job.yaml
  Synced on it;
* a backup now (`kubectl create job --from=cronjob/...`): the dump and the placements beside it in the bucket,
  age ciphertext that the identity opens (a custom-format pg_dump) and another identity does not, recorded in
  the ChainlinkNode's status.backup;
* a `helm upgrade` that changes the node container's image string (image.repository with the docker.io/
  prefix: the same image to containerd, another string to the chart's lookup) backs up first: a PreUpgrade
  backup, ended before the new pod started;
* namespace A deleted (its PVCs, resources and placements with it), then `node-a` installed in namespace B
  with `restore.enabled`, the same keystore password and the API credentials A's Secret held (the restored
  database keeps its API users): the same P2P peer ID, ETH address, OCR2 bundles and CSA key; the sample job
  re-applied is Synced, the node holds exactly one job for it (the old resource's, restored with the
  database, removed by the agent through the restored placements: its JobDeleted Event names A's job ID,
  about A's resource) and no placement stays released.

The test pods' image tag and agent.reportSeconds are set as in the other real-pod modules. The module runs
its four tests in order (A is gone once the restore fixture has run); `-k` on one of the last two still runs
the install and the backup now, but not the upgrade.

Figures (the backup Job's duration, the object's size, the restore install to Ready, the job Synced) go to
the junit properties and are printed (`-s`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from chainlink_agent.model import placement
from chainlink_agent.model.resource import GROUP, NODE_PLURAL, VERSION
from kubernetes import client
from minio import Minio

from devkit.backupjob import tool
from devkit.chart import CHART, run
from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.images import CURL_VERSION
from devkit.cluster.kubelet import NODE_IP
from devkit.cluster.objectstore import ObjectStore
from devkit.harness import Jobs, eventually
from tests.realpods.helpers import waiting

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
RELEASE = "node-a"  # also the nodeName samples/webhook-job.yaml targets
FULLNAME = f"{RELEASE}-chainlink-node"
POD = f"{FULLNAME}-0"
CRONJOB = f"{FULLNAME}-backup"
HOOK_JOB = f"{FULLNAME}-backup-before-upgrade"
API_SECRET = f"{FULLNAME}-api"  # the chart's generated API credentials in A
API_PORT = 6688
PREFIX = f"chainlink/{RELEASE}/"  # backup.s3.prefix (the default) / nodeName
JOB = yaml.safe_load((REPO / "samples" / "webhook-job.yaml").read_text())
JOB_NAME = JOB["metadata"]["name"]
S3_SECRET = "node-a-backup-s3"
KEYSTORE_SECRET = "node-a-keystore"
IDENTITY_SECRET = "node-a-age-identity"
RESTORED_API_SECRET = "node-a-api"
# Chainlink's keystore password rules: 16+ characters, upper and lower case, digits and symbols.
KEYSTORE_PASSWORD = "Bkp123drill-XYZ456real_PODS789."
INSTALL_TIMEOUT = 600
JOB_TIMEOUT = 180
# An EVM chain at an unreachable RPC (the node makes its ETH key and is ready) and OCR2 (its first start makes
# the OCR2 bundles): a node with every kind of key the backup must bring back.
NODE_VALUES: dict[str, Any] = {
    "nodeName": RELEASE,
    "agent": {"reportSeconds": 5},
    "tests": {"image": {"tag": CURL_VERSION}},
    "node": {
        "keystore": {"existingSecret": KEYSTORE_SECRET},
        "evm": [
            {
                "ChainID": "1337",
                "Nodes": [{"Name": "primary", "WSURL": "ws://127.0.0.1:9", "HTTPURL": "http://127.0.0.1:9"}],
            }
        ],
        "config": {"OCR2": {"Enabled": True}, "Feature": {"LogPoller": True}},
    },
}
# containerd names the node image docker.io/smartcontract/chainlink:<tag>; the chart's default repository
# leaves the registry out. The same image, another string in the StatefulSet: the pre-upgrade hook's trigger.
UPGRADED_REPOSITORY = "docker.io/smartcontract/chainlink"


@dataclass
class Age:
    identity: Path
    stranger: Path
    recipient: str


@dataclass
class Origin:
    """Namespace A and what was read there before it was lost."""

    namespace: str
    keys: dict[str, list[str]]
    job_uid: str
    external_job_id: str
    job_id: str  # the job's ID on the node
    figures: dict[str, float] = field(default_factory=dict)
    api_credentials: str = ""


# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(real_pods_cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    """versitygw on the bridge address, where the backup and restore pods reach it; one bucket."""
    with ObjectStore(tmp_path_factory.mktemp("backup-store"), host=NODE_IP) as s:
        yield s


@pytest.fixture(scope="module")
def s3(store: ObjectStore) -> Minio:
    return Minio(
        f"{store.host}:{store.port}",
        access_key=store.access_key,
        secret_key=store.secret_key,
        secure=False,
        region=store.region,
    )


@pytest.fixture(scope="module")
def age(tmp_path_factory: pytest.TempPathFactory) -> Age:
    directory = tmp_path_factory.mktemp("age")
    identity, stranger = directory / "identity.txt", directory / "stranger.txt"
    for path in (identity, stranger):
        subprocess.run([tool("age-keygen"), "-o", str(path)], check=True, capture_output=True)
    recipient = subprocess.run(
        [tool("age-keygen"), "-y", str(identity)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return Age(identity, stranger, recipient)


def _s3_values(store: ObjectStore) -> dict[str, Any]:
    return {"endpoint": store.endpoint_url, "bucket": store.bucket, "existingSecret": S3_SECRET}


@pytest.fixture(scope="module")
def origin(
    real_pods_cluster: ControlPlane,
    store: ObjectStore,
    age: Age,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Origin]:
    """Namespace A: node-a with backup.enabled, the sample job Synced on it and the node's keys read."""
    cluster = real_pods_cluster
    namespace = _namespace_with_secrets(cluster, store, "backup-a")
    try:
        values = {
            **NODE_VALUES,
            "backup": {"enabled": True, "s3": _s3_values(store), "ageRecipients": [age.recipient]},
        }
        directory = tmp_path_factory.mktemp("origin")
        _install(cluster, namespace, values, directory)
        job_manifest = directory / "job.yaml"
        job_manifest.write_text(yaml.safe_dump(JOB))
        run(["kubectl", "apply", "-n", namespace, "-f", str(job_manifest)], cluster.env())
        with cluster.api_client() as api:
            jobs = Jobs(api, namespace)
            entry = _waiting(cluster, namespace, lambda: _synced(jobs), JOB_TIMEOUT, f"{JOB_NAME} Synced")
            keys = _waiting(
                cluster, namespace, lambda: _keys(api, namespace), 120, "the node's keys reported"
            )
            uid = (jobs.get(JOB_NAME) or {})["metadata"]["uid"]
        yield Origin(namespace, keys, uid, entry["externalJobID"], str(entry["jobID"]))
    finally:
        # Normally gone already (the restore drill deletes it); the chart's cluster-scoped admission
        # policies outlive a namespace deleted without helm uninstall.
        subprocess.run(
            ["kubectl", "delete", "namespace", namespace, "--ignore-not-found", "--wait=false"],
            env=cluster.env(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        _delete_admission_policies(cluster, namespace)


@pytest.fixture(scope="module")
def backup_now(real_pods_cluster: ControlPlane, origin: Origin) -> dict[str, Any]:
    """`kubectl create job --from=cronjob/<fullname>-backup backup-now`, Complete; its Job and the status."""
    cluster, namespace = real_pods_cluster, origin.namespace
    began = time.monotonic()
    run(
        ["kubectl", "create", "job", f"--from=cronjob/{CRONJOB}", "backup-now", "-n", namespace],
        cluster.env(),
    )
    with cluster.api_client() as api:
        job = _waiting(
            cluster,
            namespace,
            lambda: _complete(api, namespace, "backup-now"),
            JOB_TIMEOUT,
            "backup-now Complete",
        )
        waited = time.monotonic() - began
        status = _waiting(
            cluster,
            namespace,
            lambda: (
                (b := _node_status(api, namespace).get("backup")) and b.get("trigger") == "Scheduled" and b
            ),
            60,
            "status.backup of backup-now",
        )
    ran = (job.status.completion_time - job.status.start_time).total_seconds()
    origin.figures.update(backup_job_seconds=ran, backup_create_to_complete_seconds=round(waited, 1))
    return status


# -- the drill ----------------------------------------------------------------------------------------


def test_a_backup_now_puts_the_encrypted_dump_and_placements_in_the_bucket(
    store: ObjectStore,
    s3: Minio,
    age: Age,
    origin: Origin,
    backup_now: dict[str, Any],
    tmp_path: Path,
    record_property: Any,
) -> None:
    assert backup_now["result"] == "Succeeded", backup_now
    key = backup_now["key"]
    assert key.startswith(PREFIX), backup_now
    assert key.endswith(".dump.age"), backup_now
    assert _objects(store) == {key, key.removesuffix(".dump.age") + ".placements.json.age"}
    sealed = store.object_path(store.bucket, key)
    assert sealed.stat().st_size == backup_now["size"], backup_now
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1\n")
    opened = _decrypt(age.identity, sealed)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.startswith(b"PGDMP")
    refused = _decrypt(age.stranger, sealed)
    assert refused.returncode != 0, refused
    assert b"no identity matched" in refused.stderr, refused
    assert _metadata(s3, store, key).get("x-amz-meta-trigger") == "Scheduled"
    # The placements beside it: the sample job's, for the resource in A (its UID).
    records = _decrypt(
        age.identity, store.object_path(store.bucket, key.removesuffix(".dump.age") + ".placements.json.age")
    )
    assert records.returncode == 0, records.stderr
    saved = json.loads(records.stdout)
    assert [(r["kind"], r["name"], r["uid"]) for r in saved] == [
        ("ChainlinkJob", JOB_NAME, origin.job_uid)
    ], saved
    assert saved[0]["status"]["externalJobID"] == origin.external_job_id, saved
    origin.figures["backup_object_bytes"] = backup_now["size"]
    for name in ("backup_job_seconds", "backup_create_to_complete_seconds", "backup_object_bytes"):
        record_property(name, origin.figures[name])
    fig = origin.figures
    print(
        f"\nbackup now: Job {fig['backup_job_seconds']:.0f} s (start to completion, whole seconds),"
        f" {fig['backup_create_to_complete_seconds']:.1f} s from kubectl create to Complete;"
        f" dump object {backup_now['size'] / 1024:.0f} KiB"
    )


def test_an_upgrade_changing_the_node_image_backs_up_first(
    real_pods_cluster: ControlPlane,
    store: ObjectStore,
    s3: Minio,
    age: Age,
    origin: Origin,
    backup_now: dict[str, Any],
    record_property: Any,
) -> None:
    cluster, namespace = real_pods_cluster, origin.namespace
    with cluster.api_client() as api:
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        old_uid = core.read_namespaced_pod(POD, namespace).metadata.uid
        began = time.monotonic()
        upgrade = [
            "helm",
            "upgrade",
            RELEASE,
            str(CHART),
            "-n",
            namespace,
            "--reuse-values",
            f"--set=image.repository={UPGRADED_REPOSITORY}",
            "--wait",
            "--timeout",
            "10m",
        ]
        run(upgrade, cluster.env(), timeout=INSTALL_TIMEOUT + 60)
        upgraded = time.monotonic() - began
        hook = client.BatchV1Api(api).read_namespaced_job(HOOK_JOB, namespace)
        status = _node_status(api, namespace)["backup"]
        revision = apps.read_namespaced_stateful_set(FULLNAME, namespace).status.update_revision
        pod = _waiting(
            cluster,
            namespace,
            lambda: (
                (p := core.read_namespaced_pod(POD, namespace)).metadata.uid != old_uid
                and p.metadata.labels.get("controller-revision-hash") == revision
                and p.status.start_time
                and p
            ),
            120,
            "the node's pod of the new revision",
        )
    image = next(c.image for c in pod.spec.containers if c.name == "node")
    assert image.startswith(UPGRADED_REPOSITORY + ":"), image
    assert hook.status.succeeded == 1, hook.status
    assert hook.metadata.annotations["chainlink-k8s.github.io/running-image"].startswith(
        "smartcontract/chainlink:"
    )
    assert status["result"] == "Succeeded", status
    assert status["trigger"] == "PreUpgrade", status
    assert status["nodeVersion"] == "2.23.0", status
    key = status["key"]
    assert key != backup_now["key"], (key, backup_now)
    assert key in _objects(store), (key, _objects(store))
    assert _metadata(s3, store, key).get("x-amz-meta-trigger") == "PreUpgrade"
    assert _decrypt(age.identity, store.object_path(store.bucket, key)).stdout.startswith(b"PGDMP")
    # Before the new version ran: the backup (its key has its start, status.backup.time its end) ended
    # before the pod of the new revision started, and the hook Job completed before it too.
    started = _key_time(key)
    ended = datetime.strptime(status["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert started <= ended <= pod.status.start_time, (started, ended, pod.status.start_time)
    assert hook.status.completion_time <= pod.status.start_time, (hook.status, pod.status.start_time)
    hook_seconds = (hook.status.completion_time - hook.status.start_time).total_seconds()
    record_property("pre_upgrade_backup_job_seconds", hook_seconds)
    record_property("upgrade_seconds", round(upgraded, 1))
    print(
        f"\npre-upgrade backup: Job {hook_seconds:.0f} s, ended {status['time']}, the new pod started"
        f" {pod.status.start_time:%H:%M:%S}; helm upgrade --wait {upgraded:.1f} s"
    )


@pytest.fixture(scope="module")
def restored(
    real_pods_cluster: ControlPlane,
    store: ObjectStore,
    age: Age,
    origin: Origin,
    backup_now: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, float]]:
    """A lost, node-a restored into B from the latest backup: (B, when the restore's install began, on the
    monotonic clock)."""
    cluster = real_pods_cluster
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        # What an operator kept off the cluster: the API credentials (the restored database keeps its users).
        origin.api_credentials = _b64(
            core.read_namespaced_secret(API_SECRET, origin.namespace).data["credentials"]
        )
        began = time.monotonic()
        run(["kubectl", "delete", "namespace", origin.namespace, "--wait=false"], cluster.env())
        _waiting(
            cluster, origin.namespace, lambda: _gone(core, origin.namespace), 300, f"{origin.namespace} gone"
        )
        origin.figures["namespace_deletion_seconds"] = round(time.monotonic() - began, 1)
        left = [
            pv.metadata.name
            for pv in client.CoreV1Api(api).list_persistent_volume().items
            if (pv.spec.claim_ref and pv.spec.claim_ref.namespace) == origin.namespace
        ]
        assert not left, f"volumes of {origin.namespace} left: {left}"

    namespace = _namespace_with_secrets(cluster, store, "backup-b")
    try:
        with cluster.api_client() as api:
            core = client.CoreV1Api(api)
            _secret(core, namespace, IDENTITY_SECRET, identity=age.identity.read_text())
            _secret(core, namespace, RESTORED_API_SECRET, credentials=origin.api_credentials)
        values = {
            **NODE_VALUES,
            "node": {**NODE_VALUES["node"], "api": {"existingSecret": RESTORED_API_SECRET}},
            "backup": {"s3": _s3_values(store)},
            "restore": {"enabled": True, "key": "latest", "ageIdentitySecret": IDENTITY_SECRET},
        }
        began = time.monotonic()
        _install(cluster, namespace, values, tmp_path_factory.mktemp("restored"))
        origin.figures["restore_install_to_ready_seconds"] = round(time.monotonic() - began, 1)
        yield namespace, began
    finally:
        subprocess.run(
            ["kubectl", "delete", "namespace", namespace, "--wait=false"],
            env=cluster.env(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        _delete_admission_policies(cluster, namespace)


def test_the_node_restored_into_a_new_namespace_has_the_same_keys(
    real_pods_cluster: ControlPlane, origin: Origin, restored: tuple[str, float], record_property: Any
) -> None:
    cluster, (namespace, _) = real_pods_cluster, restored
    logs = {
        c: run(["kubectl", "logs", "-n", namespace, POD, "-c", c], cluster.env())
        for c in ("restore-check", "restore-fetch", "restore-load")
    }
    assert "the database holds no node: restoring" in logs["restore-check"], logs
    assert "restored" in logs["restore-load"].splitlines(), logs
    assert "1 of 1 placements made again" in logs["restore-fetch"], logs
    with cluster.api_client() as api:
        keys = _waiting(cluster, namespace, lambda: _keys(api, namespace), 120, "the node's keys reported")
        assert keys == origin.keys
        assert keys == _api_keys(api, namespace, origin.api_credentials)
    for name in ("namespace_deletion_seconds", "restore_install_to_ready_seconds"):
        record_property(name, origin.figures[name])
    fig = origin.figures
    print(
        f"\nrestore: namespace A deleted in {fig['namespace_deletion_seconds']:.1f} s; helm install --wait"
        f" with restore.enabled {fig['restore_install_to_ready_seconds']:.1f} s; keys {keys}"
    )


def test_the_reapplied_job_is_synced_once_and_the_old_resources_job_removed(
    real_pods_cluster: ControlPlane,
    origin: Origin,
    restored: tuple[str, float],
    tmp_path: Path,
    record_property: Any,
) -> None:
    cluster, (namespace, began) = real_pods_cluster, restored
    manifest = tmp_path / "job.yaml"
    manifest.write_text(yaml.safe_dump(JOB))
    applied = time.monotonic()
    run(["kubectl", "apply", "-n", namespace, "-f", str(manifest)], cluster.env())
    with cluster.api_client() as api:
        jobs = Jobs(api, namespace)
        entry = _waiting(cluster, namespace, lambda: _synced(jobs), JOB_TIMEOUT, f"{JOB_NAME} Synced in B")
        synced = time.monotonic()
        assert entry["externalJobID"] != origin.external_job_id, entry  # a new UID, a new derived ID
        # The old resource's job, restored with the database, is gone; the new one is there once.
        listed = _waiting(
            cluster,
            namespace,
            lambda: (
                (ids := _node_external_job_ids(api, namespace, origin.api_credentials))
                == [entry["externalJobID"]]
                and ids
            ),
            60,
            "the node holding the re-applied job alone",
        )
        assert listed == [entry["externalJobID"]]

        def released() -> list[str]:
            items = client.CustomObjectsApi(api).list_namespaced_custom_object(
                GROUP, VERSION, namespace, placement.PLURAL, label_selector=placement.RELEASED_LABEL
            )["items"]
            return [p["metadata"]["name"] for p in items]

        _waiting(cluster, namespace, lambda: not released() or None, 60, "no placement released")
        own = jobs.placement(JOB_NAME, RELEASE) or {}
        assert not placement.released(own), own
        assert own["spec"]["uid"] == (jobs.get(JOB_NAME) or {})["metadata"]["uid"], own
        # The old job was on the restored node, and the agent removed it for the resource of A (its UID),
        # gone: its JobDeleted Event, about that resource.
        deleted = [
            e
            for e in client.CoreV1Api(api).list_namespaced_event(namespace).items
            if e.reason == "JobDeleted" and e.involved_object.uid == origin.job_uid
        ]
        assert [e.message for e in deleted] == [f"node {RELEASE}: deleted job {origin.job_id}"], deleted
        # The ChainlinkNode counts one job on the node, Synced.
        _waiting(
            cluster,
            namespace,
            lambda: (_node_status(api, namespace).get("jobs") or {}).get("phases") == {"Synced": 1},
            60,
            "the ChainlinkNode counting one job, Synced",
        )
    figures = {
        "restore_to_job_synced_seconds": round(synced - began, 1),
        "apply_to_job_synced_seconds": round(synced - applied, 1),
    }
    for name, value in figures.items():
        record_property(name, value)
    print(
        f"\nrestore: {JOB_NAME} Synced {figures['apply_to_job_synced_seconds']:.1f} s after kubectl apply,"
        f" {figures['restore_to_job_synced_seconds']:.1f} s after the restore's helm install began"
    )


# -- helpers ------------------------------------------------------------------------------------------


def _install(cluster: ControlPlane, namespace: str, values: dict[str, Any], directory: Path) -> None:
    file = directory / "values.yaml"
    file.write_text(yaml.safe_dump(values))
    install = ["helm", "install", RELEASE, str(CHART), "-n", namespace, "-f", str(file)]
    proc = subprocess.run(
        [*install, "--wait", "--timeout", f"{INSTALL_TIMEOUT}s"],
        cwd=REPO,
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT + 60,
        check=False,
    )
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        pytest.fail(
            f"helm install exited {proc.returncode}:\n{output}\n{_evidence(cluster, namespace)}",
            pytrace=False,
        )


def _namespace_with_secrets(cluster: ControlPlane, store: ObjectStore, prefix: str) -> str:
    """A new namespace holding what both releases need: the store's credentials and the keystore password."""
    namespace = f"{prefix}-{int(time.time())}"
    run(["kubectl", "create", "namespace", namespace], cluster.env())
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        _secret(
            core,
            namespace,
            S3_SECRET,
            AWS_ACCESS_KEY_ID=store.access_key,
            AWS_SECRET_ACCESS_KEY=store.secret_key,
        )
        _secret(core, namespace, KEYSTORE_SECRET, password=KEYSTORE_PASSWORD)
    return namespace


def _secret(core: Any, namespace: str, name: str, **data: str) -> None:
    core.create_namespaced_secret(namespace, {"metadata": {"name": name}, "stringData": data})


def _synced(jobs: Jobs) -> dict[str, Any] | None:
    entry = jobs.entry(JOB_NAME, RELEASE)
    return entry if entry and entry.get("phase") == "Synced" else None


def _node_status(api: Any, namespace: str) -> dict[str, Any]:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, NODE_PLURAL, RELEASE
    )
    return obj.get("status") or {}


def _keys(api: Any, namespace: str) -> dict[str, list[str]] | None:
    """The node's public keys as its ChainlinkNode reports them, once every kind is there."""
    reported = _node_status(api, namespace).get("keys") or {}
    keys = {
        "p2p": sorted(k["peerID"] for k in reported.get("p2p") or ()),
        "eth": sorted(k["address"] for k in reported.get("eth") or ()),
        "ocr2": sorted(k["id"] for k in reported.get("ocr2") or ()),
        "csa": sorted(k["publicKey"] for k in reported.get("csa") or ()),
    }
    return keys if all(keys.values()) else None


@contextlib.contextmanager
def _session(api: Any, namespace: str, credentials: str) -> Iterator[httpx.Client]:
    """A client of the node's API through its Service's ClusterIP (kube-proxy's rules), logged in. The
    Service routes to the pod only some time after the pod is Ready (its EndpointSlice, then kube-proxy's
    sync); until then the connection is refused, and that alone is waited out."""
    ip = client.CoreV1Api(api).read_namespaced_service(FULLNAME, namespace).spec.cluster_ip
    email, password = credentials.splitlines()[:2]
    with httpx.Client(base_url=f"http://{ip}:{API_PORT}", timeout=10) as node:

        def logged_in() -> bool:
            try:
                node.post("/sessions", json={"email": email, "password": password}).raise_for_status()
            except httpx.ConnectError:
                return False
            return True

        eventually(logged_in, 60, f"the node's API Service at {ip} to route")
        yield node


def _api_keys(api: Any, namespace: str, credentials: str) -> dict[str, list[str]]:
    """The same keys as the node's API lists them (ChainlinkNode status ids: P2P peer IDs carry p2p_)."""
    with _session(api, namespace, credentials) as node:

        def listed(path: str, attribute: str | None) -> list[str]:
            return sorted(
                k["attributes"][attribute] if attribute else k["id"] for k in node.get(path).json()["data"]
            )

        return {
            "p2p": sorted(
                p if p.startswith("p2p_") else f"p2p_{p}" for p in listed("/v2/keys/p2p", "peerId")
            ),
            "eth": listed("/v2/keys/eth", "address"),
            "ocr2": listed("/v2/keys/ocr2", None),
            "csa": listed("/v2/keys/csa", "publicKey"),
        }


def _node_external_job_ids(api: Any, namespace: str, credentials: str) -> list[str]:
    with _session(api, namespace, credentials) as node:
        return sorted(j["attributes"]["externalJobID"] for j in node.get("/v2/jobs").json()["data"])


def _complete(api: Any, namespace: str, name: str) -> Any:
    job = client.BatchV1Api(api).read_namespaced_job(name, namespace)
    conditions = {c.type: c.status for c in job.status.conditions or ()}
    if conditions.get("Failed") == "True":
        raise AssertionError(f"Job {name} failed: {job.status}")
    return job if conditions.get("Complete") == "True" else None


def _objects(store: ObjectStore) -> set[str]:
    """The keys under the node's prefix, as the posix backend keeps them on disk."""
    root = store.object_path(store.bucket, PREFIX)
    return {PREFIX + p.name for p in root.iterdir() if p.is_file()} if root.is_dir() else set()


def _metadata(s3: Minio, store: ObjectStore, key: str) -> dict[str, str]:
    """The object's S3 metadata (x-amz-meta-*), as the store answers HEAD."""
    return dict(s3.stat_object(store.bucket, key).metadata or {})


def _key_time(key: str) -> datetime:
    return datetime.strptime(key.removeprefix(PREFIX).split(".")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _decrypt(identity: Path, sealed: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [tool("age"), "-d", "-i", str(identity), str(sealed)], capture_output=True, timeout=60, check=False
    )


def _gone(core: Any, namespace: str) -> bool:
    try:
        core.read_namespace(namespace)
    except client.exceptions.ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def _delete_admission_policies(cluster: ControlPlane, namespace: str) -> None:
    """The chart's ValidatingAdmissionPolicies and their bindings for `namespace` (cluster-scoped, with the
    namespace in their names)."""
    with cluster.api_client() as api:
        admission = client.AdmissionregistrationV1Api(api)
        for lister, deleter in (
            (
                admission.list_validating_admission_policy_binding,
                admission.delete_validating_admission_policy_binding,
            ),
            (admission.list_validating_admission_policy, admission.delete_validating_admission_policy),
        ):
            for item in lister().items:
                if f".{namespace}." in item.metadata.name:
                    deleter(item.metadata.name)


def _b64(value: str) -> str:
    return base64.b64decode(value).decode()


def _waiting(
    cluster: ControlPlane, namespace: str, check: Callable[[], T | None], timeout: float, what: str
) -> T:
    """eventually(), failing with the namespace's pods, jobs, ChainlinkNode and logs."""
    return waiting(check, timeout, what, lambda: _evidence(cluster, namespace))


def _evidence(cluster: ControlPlane, namespace: str) -> str:
    commands = [
        ["kubectl", "get", "pods,jobs,pvc", "-n", namespace, "-o", "wide"],
        ["kubectl", "get", "chainlinknodes", "-n", namespace, "-o", "jsonpath={.items[*].status}"],
        [
            "kubectl",
            "get",
            "chainlinkjobs,chainlinkplacements",
            "-n",
            namespace,
            "-o",
            "wide",
            "--show-labels",
        ],
        ["kubectl", "get", "events", "-n", namespace, "--sort-by=.lastTimestamp"],
        ["kubectl", "logs", "-n", namespace, POD, "-c", "agent", "--tail=30"],
        ["kubectl", "logs", "-n", namespace, POD, "-c", "node", "--tail=15"],
        *(
            ["kubectl", "logs", "-n", namespace, POD, "-c", c, "--tail=20"]
            for c in ("restore-check", "restore-fetch", "restore-load")
        ),
        *(
            ["kubectl", "logs", "-n", namespace, f"job/{job}", "-c", c, "--tail=20"]
            for job in ("backup-now", HOOK_JOB)
            for c in ("dump", "upload")
        ),
    ]
    parts = []
    for cmd in commands:
        proc = subprocess.run(cmd, env=cluster.env(), capture_output=True, text=True, timeout=60, check=False)
        parts.append(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return "\n".join(parts)
