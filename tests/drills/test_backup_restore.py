"""Drill: a real node, backed up, then lost with its namespace and its database, comes back from the bucket
with the same keys (P2P peer ID, ETH address, OCR2 bundle, CSA key) and every ChainlinkJob Synced again.

The backup Job's two containers and the restore's init containers run as processes here (backupjob.py: the
chart's own dump and restore-load scripts, `chainlink-agent backup` and `restore-fetch`) against the real-node
lane's Postgres and the bench's S3 store; the chart on real pods does the same in
tests/realpods/test_backup_on_real_pods.py. Losing the namespace loses the resources and the placements: the
restore makes the placements saved beside the dump again, released, so the agent in the new namespace removes
the job the old resource had made and makes the re-applied resource's."""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from chainlink_agent.model import placement
from chainlink_agent.model.resource import GROUP, NODE_PLURAL, VERSION
from kubernetes import client

from devkit.backupjob import (
    NODE,
    Database,
    age_identity,
    chainlink_node,
    restore_load_script,
    run_backup,
    run_restore,
    store_env,
)
from devkit.cluster.objectstore import ObjectStore
from devkit.harness import AgentProcess, Jobs, eventually, synced, toml
from devkit.realnode.node import node_keys, ocr2_config

CHAIN_ID = "1337"


def external_job_ids(node: Any) -> list[str]:
    with httpx.Client(base_url=node.url, timeout=10) as http:
        http.post("/sessions", json={"email": node.email, "password": node.password}).raise_for_status()
        return sorted(j["attributes"]["externalJobID"] for j in http.get("/v2/jobs").json()["data"])


def test_a_node_lost_with_its_namespace_and_database_comes_back_from_the_bucket_with_its_keys_and_jobs(
    cluster: Any,
    kube_api: Any,
    namespace: str,
    jobs: Jobs,
    real_nodes: Any,
    object_store: ObjectStore,
    s3_bucket: str,
    tmp_path: Path,
    record_property: Any,
) -> None:
    custom = client.CustomObjectsApi(kube_api)
    kubeconfig = str(cluster.kubeconfig)
    identity_file = tmp_path / "age-identity.txt"
    recipient = age_identity(identity_file)
    config = ocr2_config(CHAIN_ID)  # P2P, the chain's ETH key and OCR2 bundles: a node with an identity

    database = real_nodes.new_database("backup")
    node = real_nodes.start("backup", config, database=database)
    chainlink_node(custom, namespace, NODE)
    agent = AgentProcess(tmp_path, kubeconfig, namespace, NODE, node.url, node.email, node.password).start()
    jobs.create("feed", toml("feed"), targets={"names": [NODE]})
    old = synced(jobs, "feed", NODE)
    keys = node_keys(node)
    assert all(keys.values()), keys

    env = store_env(
        object_store,
        s3_bucket,
        CHAINLINK_BACKUP_AGE_RECIPIENTS=recipient,
        CHAINLINK_AGENT_NAMESPACE=namespace,
        CHAINLINK_BACKUP_NODE_VERSION="2.23.0",
        KUBECONFIG=kubeconfig,
    )
    ran = run_backup(tmp_path, Database(real_nodes.postgres, database), env)
    assert ran.upload.returncode == 0, ran.text
    recorded = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, NODE_PLURAL, NODE)["status"]
    assert recorded["backup"]["result"] == "Succeeded", recorded["backup"]
    record_property("backup_seconds", round(ran.seconds, 2))
    record_property("backup_bytes", recorded["backup"]["size"])

    # Lost: the node, its database (the volume) and its namespace (the resources and the placements).
    agent.kill()
    node.stop()
    real_nodes.postgres.drop_database(database)
    successor = f"{namespace}-restored"[:63]
    core = client.CoreV1Api(kube_api)
    core.delete_namespace(namespace)
    core.create_namespace({"metadata": {"name": successor}})
    try:
        began = time.monotonic()
        # The restore's init containers: fetch (and the placements again), then load into an empty database.
        restored = f"restored_{secrets.token_hex(4)}"  # empty, as a new volume's
        real_nodes.postgres.create_database(restored)
        directory = tmp_path / "restore"
        directory.mkdir()
        fetched = run_restore(
            store_env(
                object_store,
                s3_bucket,
                CHAINLINK_AGENT_NAMESPACE=successor,
                CHAINLINK_RESTORE_AGE_IDENTITY_FILE=str(identity_file),
                KUBECONFIG=kubeconfig,
            ),
            directory,
        )
        assert fetched.returncode == 0, fetched.stderr
        db = Database(real_nodes.postgres, restored)
        load = subprocess.run(
            ["sh", "-c", restore_load_script(directory)],
            env={**db.env(), "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert load.returncode == 0, load.stderr
        node = real_nodes.start("restored", config, database=restored)
        record_property("restore_to_node_ready_seconds", round(time.monotonic() - began, 2))
        assert node_keys(node) == keys

        # The resources come back from where they are kept (git): new UIDs, so a new derived job ID.
        chainlink_node(custom, successor, NODE)
        again = Jobs(kube_api, successor)
        agent = AgentProcess(
            tmp_path, kubeconfig, successor, NODE, node.url, node.email, node.password
        ).start()
        again.create("feed", toml("feed"), targets={"names": [NODE]})
        new = synced(again, "feed", NODE)
        record_property("restore_to_jobs_synced_seconds", round(time.monotonic() - began, 2))
        assert new["externalJobID"] != old["externalJobID"]
        # The old resource's job, restored with the database, is removed: its placement came back with it.
        eventually(
            lambda: external_job_ids(node) == [new["externalJobID"]], 30, "the old resource's job to go"
        )
        eventually(
            lambda: not placement.released(again.placement("feed", NODE) or {}),
            30,
            "the placement taken back",
        )
        agent.stop()
    finally:
        node.stop()
        core.delete_namespace(successor)
