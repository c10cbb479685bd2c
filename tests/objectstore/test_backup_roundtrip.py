"""`chainlink-agent backup` and `restore-fetch` end to end, with nothing mocked: a real Postgres (Debian's
server, devkit/realnode/postgres.py) with tables and rows, the chart's dump script (backupjob.py) running
the real pg_dump into the FIFO that the agent, run as its command, encrypts with age and uploads to the
bench's S3 server (versitygw); the object opens with `age` and the right identity only, and holds a
custom-format dump; retention removes an expired backup and nothing else; restore-fetch brings it back and
pg_restore loads it into a fresh database with the same rows. Then the bad inputs: each fails with its one
line, deletes nothing, stores nothing, and the dump side is never left hanging.

These need no cluster: the commands run without KUBECONFIG and outside a pod, so they record nothing and
say so (backup.record). The last test records into a ChainlinkNode on the light control plane, as a
ServiceAccount with the backup Job's rights only, beside the agent's own status. Figures (the dump's size,
backup and restore times) go to the junit properties.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chainlink_agent.backups import records
from chainlink_agent.k8s.kube import BACKUP_MANAGER, Kube
from chainlink_agent.model import placement
from chainlink_agent.model.resource import GROUP, NODE_PLURAL, VERSION, ChainlinkJob
from kubernetes import client
from minio import Minio

from devkit.backupjob import (
    NODE,
    PREFIX,
    TIMEOUT,
    Database,
    age_identity,
    chainlink_node,
    run_backup,
    run_restore,
    store_env,
    tool,
)
from devkit.cluster.controlplane import free_ports
from devkit.cluster.objectstore import ObjectStore
from devkit.harness import install_crd
from devkit.realnode.postgres import Postgres, bin_dir

DATABASE = "chainlink_node"
# Random bytes do not compress: pg_dump's custom format (gzip) stays about this size, over one 16 MiB part.
RANDOM_MIB = 20

# ------------------------------------------------------------------------------------------- Postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    pg = Postgres.start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="module")
def node_db(postgres: Postgres) -> Database:
    """A stand-in for a node's database: encrypted keys (bytea), jobs, and RANDOM_MIB of random bytes."""
    postgres.create_database(DATABASE)
    db = Database(postgres, DATABASE)
    db.sql(
        """
        CREATE TABLE keys (id serial PRIMARY KEY, type text NOT NULL, encrypted bytea NOT NULL);
        INSERT INTO keys (type, encrypted)
          SELECT (ARRAY['p2p','eth','ocr2','csa'])[1 + i % 4],
                 decode(md5(i::text) || md5(random()::text), 'hex')
          FROM generate_series(1, 40) i;
        CREATE TABLE jobs (id serial PRIMARY KEY, name text NOT NULL, spec jsonb NOT NULL);
        INSERT INTO jobs (name, spec)
          SELECT 'job-' || i, jsonb_build_object('schemaVersion', 1, 'n', i) FROM generate_series(1, 500) i;
        CREATE TABLE blobs (id serial PRIMARY KEY, data bytea NOT NULL);
        """
    )
    # RANDOM_MIB rows of 1 KiB (64 random md5 digests) per MiB.
    db.sql(
        """INSERT INTO blobs (data) SELECT string_agg(decode(md5(random()::text || j), 'hex'), ''::bytea)
           FROM generate_series(1, 20 * 1024) i, generate_series(1, 64) j GROUP BY i"""
    )
    return db


# --------------------------------------------------------------------------------------------- the Job


# ------------------------------------------------------------------------------------------ the store


@pytest.fixture(scope="module")
def s3(object_store: ObjectStore) -> Any:
    return Minio(
        object_store.endpoint_url.split("://")[1],
        access_key=object_store.access_key,
        secret_key=object_store.secret_key,
        secure=False,
        region=object_store.region,
    )


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return sorted(o.object_name for o in s3.list_objects(bucket, prefix=prefix, recursive=True))


def put(s3: Any, bucket: str, key: str, body: bytes = b"an old backup") -> None:
    s3.put_object(bucket, key, io.BytesIO(body), len(body))


@dataclass
class AgeKeys:
    identity: Path
    stranger: Path
    recipient: str
    other_recipient: str


@pytest.fixture(scope="module")
def age_keys(tmp_path_factory: pytest.TempPathFactory) -> AgeKeys:
    directory = tmp_path_factory.mktemp("age")
    identity, stranger = directory / "identity.txt", directory / "stranger.txt"
    return AgeKeys(identity, stranger, age_identity(identity), age_identity(stranger))


def _age_decrypt(identity: Path, sealed: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [tool("age"), "-d", "-i", str(identity), str(sealed)],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )


def _no_secret(text: str, store: ObjectStore) -> None:
    assert store.secret_key not in text
    assert "AGE-SECRET-KEY" not in text


# -------------------------------------------------------------------------------------------- the tests


def test_a_backup_uploads_encrypted_expires_the_old_and_restores_into_a_fresh_database(
    object_store: ObjectStore,
    s3_bucket: str,
    s3: Any,
    node_db: Database,
    age_keys: AgeKeys,
    tmp_path: Path,
    record_property: Any,
) -> None:
    under = f"{PREFIX}/{NODE}/"
    expired_key = under + "20200101T000000Z.dump.age"
    kept = [
        under + "notes.txt",
        f"{PREFIX}/node-b/20200101T000000Z.dump.age",
        under + "old/20200101T000000Z.dump.age",
    ]
    for key in (expired_key, *kept):
        put(s3, s3_bucket, key)
    env = store_env(
        object_store,
        s3_bucket,
        # Two recipients: the cluster's backups open with either identity (a spare kept offline).
        CHAINLINK_BACKUP_AGE_RECIPIENTS=f"{age_keys.recipient},\n {age_keys.other_recipient}",
        CHAINLINK_BACKUP_RETENTION_DAYS="7",
        CHAINLINK_BACKUP_TRIGGER="PreUpgrade",
        CHAINLINK_BACKUP_NODE_VERSION="2.23.0",
    )

    ran = run_backup(tmp_path, node_db, env)
    assert ran.upload.returncode == 0, ran.text
    assert ran.dump_code == 0, ran.dump_stderr
    _no_secret(ran.text, object_store)
    assert "the result is not recorded" in ran.text  # no cluster here: said, not silently skipped

    listed = keys(s3, s3_bucket)
    new = [k for k in listed if k.startswith(under) and k.endswith(".dump.age") and k.count("/") == 2]
    assert len(new) == 1, listed
    key = new[0]
    assert expired_key not in listed, "retention kept a backup older than 7 days"
    assert set(kept) <= set(listed), "retention removed what is not one of this node's backups"
    assert under + ".write-check" not in listed
    info = s3.stat_object(s3_bucket, key)
    assert info.metadata["x-amz-meta-node-version"] == "2.23.0"
    assert info.metadata["x-amz-meta-trigger"] == "PreUpgrade"

    # The store holds ciphertext: it opens with either identity, and not with a stranger's.
    sealed = object_store.object_path(s3_bucket, key)
    assert sealed.read_bytes()[:22] == b"age-encryption.org/v1\n"
    assert b"PGDMP" not in sealed.read_bytes()[:4096]
    stranger = tmp_path / "nobody.txt"
    subprocess.run([tool("age-keygen"), "-o", str(stranger)], check=True, capture_output=True)
    refused = _age_decrypt(stranger, sealed)
    assert refused.returncode != 0
    assert b"no identity matched" in refused.stderr
    for identity in (age_keys.identity, age_keys.stranger):  # stranger: the second recipient's identity
        opened = _age_decrypt(identity, sealed)
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout.startswith(b"PGDMP")
    plain = tmp_path / "opened.dump"
    plain.write_bytes(_age_decrypt(age_keys.identity, sealed).stdout)
    listing = subprocess.run(
        [str(bin_dir() / "pg_restore"), "--list", str(plain)], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE DATA public keys" in listing
    assert "TABLE DATA public blobs" in listing

    # restore-fetch of `latest` writes the dump, mode 0600; pg_restore loads it into a fresh database.
    restore_dir = tmp_path / "restore"
    restore_dir.mkdir()
    began = time.monotonic()
    fetched = run_restore(
        store_env(object_store, s3_bucket, CHAINLINK_RESTORE_AGE_IDENTITY_FILE=str(age_keys.identity)),
        restore_dir,
    )
    fetch_seconds = time.monotonic() - began
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    _no_secret(fetched.stdout + fetched.stderr, object_store)
    dump = restore_dir / "dump"
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert dump.read_bytes() == plain.read_bytes()
    assert sorted(p.name for p in restore_dir.iterdir()) == ["dump"]

    fresh = Database(node_db.pg, f"restored_{time.monotonic_ns()}")
    node_db.pg.create_database(fresh.name)
    began = time.monotonic()
    subprocess.run(
        [str(bin_dir() / "pg_restore"), "--no-owner", "--exit-on-error", "-d", fresh.name, str(dump)],
        env={**os.environ, **fresh.env()},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    load_seconds = time.monotonic() - began
    assert fresh.fingerprint() == node_db.fingerprint()

    size = sealed.stat().st_size
    record_property("backup_object_bytes", size)
    record_property("backup_seconds", round(ran.seconds, 2))
    record_property("restore_fetch_seconds", round(fetch_seconds, 2))
    record_property("pg_restore_seconds", round(load_seconds, 2))
    print(
        f"backup of {size / 2**20:.1f} MiB (encrypted, 2 parts): {ran.seconds:.2f} s from the Job's start;"
        f" restore-fetch {fetch_seconds:.2f} s; pg_restore {load_seconds:.2f} s"
    )


def test_restore_fetch_names_the_missing_key_and_the_wrong_identity_and_honours_skip(
    object_store: ObjectStore,
    s3_bucket: str,
    s3: Any,
    node_db: Database,
    age_keys: AgeKeys,
    tmp_path: Path,
) -> None:
    env = store_env(object_store, s3_bucket, CHAINLINK_BACKUP_AGE_RECIPIENTS=age_keys.recipient)
    assert run_backup(tmp_path, node_db, env).upload.returncode == 0
    restore_dir = tmp_path / "restore"
    restore_dir.mkdir()

    # A stranger's identity: not this backup's.
    stranger = tmp_path / "stranger.txt"
    subprocess.run([tool("age-keygen"), "-o", str(stranger)], check=True, capture_output=True)
    wrong = run_restore(
        store_env(object_store, s3_bucket, CHAINLINK_RESTORE_AGE_IDENTITY_FILE=str(stranger)), restore_dir
    )
    assert wrong.returncode == 1
    assert "the backup is not encrypted to this identity" in wrong.stderr
    assert list(restore_dir.iterdir()) == []  # no partial dump left for restore-load

    missing = f"{PREFIX}/{NODE}/20990101T000000Z.dump.age"
    absent = run_restore(
        store_env(
            object_store,
            s3_bucket,
            CHAINLINK_RESTORE_AGE_IDENTITY_FILE=str(age_keys.identity),
            CHAINLINK_RESTORE_KEY=missing,
        ),
        restore_dir,
    )
    assert absent.returncode == 1
    assert f"no object {missing} in bucket {s3_bucket}" in absent.stderr.splitlines()[-1]

    none = run_restore(
        store_env(
            object_store,
            s3_bucket,
            CHAINLINK_RESTORE_AGE_IDENTITY_FILE=str(age_keys.identity),
            CHAINLINK_RESTORE_FROM_NODE="node-z",
        ),
        restore_dir,
    )
    assert none.returncode == 1
    assert f"no backup under s3://{s3_bucket}/{PREFIX}/node-z/" in none.stderr

    # Another node's backup, by name: the clone or move of a node.
    other = run_restore(
        store_env(
            object_store,
            s3_bucket,
            CHAINLINK_AGENT_NODE_NAME="node-new",
            CHAINLINK_RESTORE_FROM_NODE=NODE,
            CHAINLINK_RESTORE_AGE_IDENTITY_FILE=str(age_keys.identity),
        ),
        restore_dir,
    )
    assert other.returncode == 0, other.stderr
    assert (restore_dir / "dump").read_bytes().startswith(b"PGDMP")

    # The database holds a node already (restore-check's skip): nothing is done, nothing is needed.
    (restore_dir / "dump").unlink()
    (restore_dir / "skip").touch()
    skipped = run_restore({}, restore_dir)
    assert skipped.returncode == 0, skipped.stderr
    assert "nothing to restore" in skipped.stderr
    assert sorted(p.name for p in restore_dir.iterdir()) == ["skip"]
    for text in (wrong.stderr, absent.stderr, none.stderr, other.stderr):
        _no_secret(text, object_store)


def _unreachable() -> str:
    return f"http://127.0.0.1:{free_ports(1)[0]}"  # nothing listens there


@pytest.mark.parametrize(
    ("case", "overrides", "expected"),
    [
        (
            "wrong bucket",
            {"CHAINLINK_BACKUP_S3_BUCKET": "no-such-bucket"},
            "bucket no-such-bucket does not exist",
        ),
        ("bad credentials", {"AWS_SECRET_ACCESS_KEY": "not-the-secret-key-0123456789"}, "checking bucket"),
        ("unreachable endpoint", {"CHAINLINK_BACKUP_S3_ENDPOINT": "unreachable"}, "no answer"),
        ("bad recipient", {"CHAINLINK_BACKUP_AGE_RECIPIENTS": "age1notakey"}, "age recipient 1"),
        (
            "not a recipient",
            {"CHAINLINK_BACKUP_AGE_RECIPIENTS": "ssh-ed25519 AAAA"},
            "is not an age public key",
        ),
        ("pg_dump fails", {}, "pg_dump exited 1"),
        # pg_dump streams the whole dump, then fails (fsync of the FIFO, without --no-sync): the multipart
        # upload had parts stored, and is aborted.
        ("pg_dump fails at the end", {}, "pg_dump exited 1"),
    ],
)
def test_a_failed_backup_says_why_in_one_line_stores_and_deletes_nothing_and_releases_the_dump(
    case: str,
    overrides: dict[str, str],
    expected: str,
    object_store: ObjectStore,
    s3_bucket: str,
    s3: Any,
    node_db: Database,
    age_keys: AgeKeys,
    tmp_path: Path,
) -> None:
    old = f"{PREFIX}/{NODE}/20200101T000000Z.dump.age"
    put(s3, s3_bucket, old)
    if overrides.get("CHAINLINK_BACKUP_S3_ENDPOINT") == "unreachable":
        overrides = {"CHAINLINK_BACKUP_S3_ENDPOINT": _unreachable()}
    defaults = {"CHAINLINK_BACKUP_AGE_RECIPIENTS": age_keys.recipient, "CHAINLINK_BACKUP_RETENTION_DAYS": "1"}
    env = store_env(object_store, s3_bucket, **{**defaults, **overrides})
    db = Database(node_db.pg, "no_such_database") if case == "pg_dump fails" else node_db

    def edit(script: str) -> str:
        return script.replace(" --no-sync", "") if case == "pg_dump fails at the end" else script

    ran = run_backup(tmp_path, db, env, edit=edit)

    assert ran.upload.returncode == 1, ran.text
    last = ran.upload.stderr.strip().splitlines()[-1]
    print(f"\n{case}: {last} ({ran.seconds:.1f} s)")
    assert last.startswith("chainlink-agent backup: ")
    assert expected in last, last
    _no_secret(ran.text, object_store)
    assert "not-the-secret-key" not in ran.text
    # The dump side ended by itself: pg_dump exited (EPIPE, or its own error) and wrote its status.
    assert ran.dump_code is not None, "the dump container was left hanging"
    assert ran.dump_code != 0
    assert keys(s3, s3_bucket, f"{PREFIX}/{NODE}/") == [old], "a failed backup stored or deleted something"
    # An aborted multipart upload leaves no part behind (the store's own listing of uploads in progress).
    assert not list(s3._list_multipart_uploads(s3_bucket).uploads)
    if case == "pg_dump fails at the end":  # it was one: a part went out, then the abort (the store's log)
        requests = [
            line
            for line in (object_store.logs_dir / "versitygw.log").read_text().splitlines()
            if s3_bucket in line
        ]
        assert any("| PUT |" in line and "partNumber=1&uploadId=" in line for line in requests)
        assert any("| DELETE |" in line and "| uploadId=" in line for line in requests)


def test_an_invalid_configuration_exits_2_without_its_values_and_still_releases_the_dump(
    object_store: ObjectStore, s3_bucket: str, node_db: Database, age_keys: AgeKeys, tmp_path: Path
) -> None:
    env = store_env(object_store, s3_bucket, CHAINLINK_BACKUP_AGE_RECIPIENTS=age_keys.recipient)
    env["CHAINLINK_BACKUP_S3_ENDPOINT"] = "ftp://user:hunter2@example.org/x"
    del env["CHAINLINK_AGENT_NAMESPACE"]
    ran = run_backup(tmp_path, node_db, env)
    assert ran.upload.returncode == 2, ran.text
    line = ran.upload.stderr.strip().splitlines()[-1]
    assert "CHAINLINK_BACKUP_S3_ENDPOINT" in line
    assert "CHAINLINK_AGENT_NAMESPACE" in line
    assert "hunter2" not in ran.text
    _no_secret(ran.text, object_store)
    assert ran.dump_code not in (None, 0)


# ------------------------------------------------------------------------ the result, in the ChainlinkNode


def _backup_job_identity(cluster: Any, api: Any, namespace: str) -> Path:
    """A kubeconfig of a ServiceAccount with exactly the backup Job's rights (kube.py's docstring)."""
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "backup"}})
    rules = [
        {"apiGroups": [GROUP], "resources": [NODE_PLURAL], "resourceNames": [NODE], "verbs": ["get"]},
        {
            "apiGroups": [GROUP],
            "resources": [f"{NODE_PLURAL}/status"],
            "resourceNames": [NODE],
            "verbs": ["patch"],
        },
        {"apiGroups": [GROUP], "resources": [placement.PLURAL], "verbs": ["list"]},
    ]
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "backup"}, "rules": rules})
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "backup"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "backup"},
            "subjects": [{"kind": "ServiceAccount", "name": "backup", "namespace": namespace}],
        },
    )
    return Path(cluster.service_account_kubeconfig(namespace, "backup"))


def test_the_result_goes_to_the_chainlinknode_beside_the_agents_status_and_a_failure_keeps_the_last_success(
    cluster: Any,
    kube_api: Any,
    namespace: str,
    object_store: ObjectStore,
    s3_bucket: str,
    node_db: Database,
    age_keys: AgeKeys,
    tmp_path: Path,
) -> None:
    install_crd(kube_api)
    custom = client.CustomObjectsApi(kube_api)
    chainlink_node(custom, namespace, NODE)
    agent = Kube(kube_api, namespace, NODE)
    agent.apply_node_status({"version": "2.23.0", "apiReachable": True})  # the sidecar, its own manager
    env = store_env(
        object_store,
        s3_bucket,
        CHAINLINK_BACKUP_AGE_RECIPIENTS=age_keys.recipient,
        CHAINLINK_AGENT_NAMESPACE=namespace,
        CHAINLINK_BACKUP_NODE_VERSION="2.23.0",
        KUBECONFIG=str(_backup_job_identity(cluster, kube_api, namespace)),
    )

    def status() -> dict[str, Any]:
        got = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, NODE_PLURAL, NODE)
        return dict(got.get("status") or {})

    ok = run_backup(tmp_path, node_db, env)
    assert ok.upload.returncode == 0, ok.text
    assert "recorded the backup's result" in ok.text
    first = status()
    backup = first["backup"]
    assert (backup["result"], backup["trigger"], backup["nodeVersion"]) == (
        "Succeeded",
        "Scheduled",
        "2.23.0",
    )
    assert backup["key"] == backup["lastSuccessKey"]
    assert backup["key"].startswith(f"{PREFIX}/{NODE}/")
    assert (
        backup["size"]
        == backup["lastSuccessSize"]
        == object_store.object_path(s3_bucket, backup["key"]).stat().st_size
    )
    assert backup["time"] == backup["lastSuccessTime"]
    assert (first["version"], first["apiReachable"]) == ("2.23.0", True)  # the agent's fields, untouched

    # The sidecar's next write names no backup field: server-side apply leaves the Job's alone.
    agent.apply_node_status({"version": "2.24.0", "apiReachable": True})
    assert status()["backup"] == backup

    time.sleep(1.1)  # a new second: a new key
    failed = run_backup(tmp_path, Database(node_db.pg, "no_such_database"), env)
    assert failed.upload.returncode == 1
    after = status()
    assert after["backup"]["result"] == "Failed"
    assert after["backup"]["message"].startswith("pg_dump exited 1")
    assert "key" not in after["backup"]
    last = {k: v for k, v in backup.items() if k.startswith("lastSuccess")}
    assert {k: v for k, v in after["backup"].items() if k.startswith("lastSuccess")} == last
    assert after["version"] == "2.24.0"
    managers = {
        m["manager"]
        for m in custom.get_namespaced_custom_object(GROUP, VERSION, namespace, NODE_PLURAL, NODE)[
            "metadata"
        ]["managedFields"]
        if m.get("subresource") == "status"
    }
    assert managers == {BACKUP_MANAGER, agent.field_manager}


def test_the_nodes_placements_go_beside_the_dump_and_a_restore_makes_them_again_released(
    cluster: Any,
    kube_api: Any,
    namespace: str,
    object_store: ObjectStore,
    s3_bucket: str,
    s3: Any,
    node_db: Database,
    age_keys: AgeKeys,
    tmp_path: Path,
) -> None:
    """Without them a restored node's jobs, made for resources that exist no more, would run beside the ones
    the re-applied resources make (records.py)."""
    install_crd(kube_api)
    feed = ChainlinkJob.from_dict({"metadata": {"namespace": namespace, "name": "feed", "uid": "uid-old"}})
    entry = {"phase": "Synced", "jobID": "7", "externalJobID": "0eb9b7e4-0000-4000-8000-00000000000a"}
    Kube(kube_api, namespace, NODE).apply_placement(feed, entry)
    Kube(kube_api, namespace, "node-b").apply_placement(feed, {"phase": "Synced", "jobID": "9"})
    env = store_env(
        object_store,
        s3_bucket,
        CHAINLINK_BACKUP_AGE_RECIPIENTS=age_keys.recipient,
        CHAINLINK_AGENT_NAMESPACE=namespace,
        KUBECONFIG=str(_backup_job_identity(cluster, kube_api, namespace)),
    )
    ran = run_backup(tmp_path, node_db, env)
    assert ran.upload.returncode == 0, ran.text
    [dump] = [k for k in keys(s3, s3_bucket) if k.endswith(".dump.age")]
    sealed = object_store.object_path(s3_bucket, records.records_key(dump))
    [saved] = json.loads(_age_decrypt(age_keys.identity, sealed).stdout)  # node-b's is not node-a's
    assert (saved["name"], saved["uid"], saved["status"]["jobID"]) == ("feed", "uid-old", "7")

    # Restored into another namespace (a lost one's successor), as the agent's ServiceAccount would.
    core, custom = client.CoreV1Api(kube_api), client.CustomObjectsApi(kube_api)
    successor = f"{namespace}-restored"[:63]
    core.create_namespace({"metadata": {"name": successor}})
    try:
        restore = store_env(
            object_store,
            s3_bucket,
            CHAINLINK_AGENT_NAMESPACE=successor,
            CHAINLINK_RESTORE_AGE_IDENTITY_FILE=str(age_keys.identity),
            KUBECONFIG=str(cluster.kubeconfig),
        )
        for attempt in ("first", "again"):  # a restarted init container finds them made: kept as they are
            directory = tmp_path / f"restore-{attempt}"
            directory.mkdir()
            fetched = run_restore(restore, directory)
            assert fetched.returncode == 0, fetched.stderr
        made = custom.get_namespaced_custom_object(
            GROUP, VERSION, successor, placement.PLURAL, placement.name("ChainlinkJob", "feed", NODE)
        )
        assert placement.released(made)
        assert (made["spec"]["uid"], made["spec"]["node"], made["status"]["jobID"]) == ("uid-old", NODE, "7")
    finally:
        core.delete_namespace(successor)
