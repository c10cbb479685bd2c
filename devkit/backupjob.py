"""The backup Job's pod and the restore's fetch, run as processes on this machine against a real Postgres and
the bench's S3 store: the chart's own dump script (read from a render of the chart, its /backup pointed at a
directory) beside `chainlink-agent backup`, as the Job's two containers run them on one emptyDir; and
`chainlink-agent restore-fetch`. Used by tests/objectstore and the backup drill (tests/drills)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from chainlink_agent.model.resource import API_VERSION, GROUP, NODE_KIND, NODE_PLURAL, VERSION
from kubernetes import client

from devkit.cluster.objectstore import ObjectStore
from devkit.cluster.tools import REPO_ROOT, tools_bin_dir
from devkit.realnode.postgres import Postgres, bin_dir

NODE = "node-a"
PREFIX = "chainlink"
TIMEOUT = 180
# A render of the backup CronJob needs these values (an age X25519 recipient's form, not a real one).
_RENDER = (
    "credentials.generateOffline=true",
    "backup.enabled=true",
    "backup.s3.endpoint=http://store.invalid:9000",
    "backup.s3.bucket=backups",
    "backup.s3.existingSecret=s3",
    "backup.ageRecipients[0]=age1" + "q" * 58,
)
_RESTORE = (
    *_RENDER,
    "restore.enabled=true",
    "restore.ageIdentitySecret=age-identity",
    "node.keystore.existingSecret=keystore",
)


def _render(*values: str) -> list[dict[str, Any]]:
    sets = [arg for value in values for arg in ("--set", value)]
    rendered = subprocess.run(
        ["helm", "template", "r", str(REPO_ROOT / "charts" / "chainlink-node"), *sets],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(rendered) if d]


@functools.cache
def _chart_dump_script() -> str:
    """The dump container's script, as the chart renders it for the backup CronJob."""
    [cronjob] = [d for d in _render(*_RENDER) if d["kind"] == "CronJob"]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [dump] = [c for c in pod["containers"] if c["name"] == "dump"]
    return str(dump["command"][-1])


def dump_script(directory: Path) -> str:
    """The chart's dump script with its emptyDir, /backup, at `directory`."""
    return _chart_dump_script().replace("/backup", str(directory))


@functools.cache
def _chart_restore_load_script() -> str:
    """The restore-load init container's script, as the chart renders it (pg_restore of /restore/dump)."""
    [statefulset] = [
        d
        for d in _render(*_RESTORE)
        if d["kind"] == "StatefulSet" and "postgres" not in d["metadata"]["name"]
    ]
    [load] = [
        c for c in statefulset["spec"]["template"]["spec"]["initContainers"] if c["name"] == "restore-load"
    ]
    return str(load["command"][-1])


def restore_load_script(directory: Path) -> str:
    """The chart's restore-load script with its emptyDir, /restore, at `directory`."""
    return _chart_restore_load_script().replace("/restore", str(directory))


def tool(name: str) -> str:
    path = tools_bin_dir() / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"missing {name} in {path.parent}: run `bash scripts/tools.sh` first", pytrace=False)
    return str(path)


class Database:
    def __init__(self, pg: Postgres, name: str) -> None:
        self.pg, self.name = pg, name

    def env(self) -> dict[str, str]:
        """libpq's variables, as the chart gives the dump container."""
        return {
            "PGHOST": str(self.pg.directory),
            "PGPORT": str(self.pg.port),
            "PGUSER": "postgres",
            "PGDATABASE": self.name,
            "PATH": f"{bin_dir()}:{os.environ['PATH']}",
        }

    def sql(self, statement: str) -> str:
        out = subprocess.run(
            [str(bin_dir() / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-At", "-c", statement],
            env={**os.environ, **self.env()},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        )
        return out.stdout.strip()

    def fingerprint(self) -> dict[str, str]:
        """Each table's row count and a digest of its rows in key order."""
        digest = "count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), ''))"
        return {table: self.sql(f"SELECT {digest} FROM {table} t") for table in ("keys", "jobs", "blobs")}  # noqa: S608 - the test's own names


@dataclass
class Ran:
    upload: subprocess.CompletedProcess[str]
    dump_code: int | None  # the dump script's exit code; None: it was still running (left hanging)
    dump_stderr: str
    seconds: float

    @property
    def text(self) -> str:
        return self.upload.stdout + self.upload.stderr


def base_env() -> dict[str, str]:
    """This environment without anything that would point the agent at a cluster or another store."""
    drop = ("AWS_", "CHAINLINK_", "KUBERNETES_", "KUBECONFIG", "PG")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def store_env(store: ObjectStore, bucket: str, **overrides: str) -> dict[str, str]:
    env = {
        "CHAINLINK_BACKUP_S3_ENDPOINT": store.endpoint_url,
        "CHAINLINK_BACKUP_S3_BUCKET": bucket,
        "CHAINLINK_BACKUP_S3_PREFIX": PREFIX,
        "CHAINLINK_BACKUP_S3_REGION": store.region,
        "AWS_ACCESS_KEY_ID": store.access_key,
        "AWS_SECRET_ACCESS_KEY": store.secret_key,
        "CHAINLINK_AGENT_NODE_NAME": NODE,
        "CHAINLINK_AGENT_NAMESPACE": "chainlink",
    }
    env.update(overrides)
    return env


def run_backup(
    workdir: Path,
    db: Database,
    env: dict[str, str],
    dump_wait: float = 30,
    edit: Callable[[str], str] = lambda script: script,
) -> Ran:
    """The backup Job's pod: the agent's `backup` and the chart's dump script (`edit`ed, for a failure),
    side by side on one directory."""
    directory = workdir / f"backup-{time.monotonic_ns()}"
    directory.mkdir()
    began = time.monotonic()
    dump = subprocess.Popen(
        ["sh", "-c", edit(dump_script(directory))],
        env={**base_env(), **db.env(), "BACKUP_DIR": str(directory)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        upload = subprocess.run(
            [sys.executable, "-m", "chainlink_agent", "backup"],
            env={**base_env(), **env, "CHAINLINK_BACKUP_DIR": str(directory)},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        seconds = time.monotonic() - began
        try:
            _, dump_stderr = dump.communicate(timeout=dump_wait)
            dump_code: int | None = dump.returncode
        except subprocess.TimeoutExpired:
            dump_code, dump_stderr = None, ""
    finally:
        if dump.poll() is None:
            dump.kill()
            dump.communicate()
    return Ran(upload, dump_code, dump_stderr, seconds)


def run_restore(env: dict[str, str], directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainlink_agent", "restore-fetch"],
        env={**base_env(), **env, "CHAINLINK_RESTORE_DIR": str(directory)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def age_identity(path: Path) -> str:
    """Makes an age identity at `path` (age-keygen); returns its recipient, the public key backups go to."""
    subprocess.run([tool("age-keygen"), "-o", str(path)], check=True, capture_output=True)
    return subprocess.run(
        [tool("age-keygen"), "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


def chainlink_node(custom: client.CustomObjectsApi, namespace: str, node: str) -> None:
    """What the node's release makes: its ChainlinkNode, where the backup records its result."""
    body = {
        "apiVersion": API_VERSION,
        "kind": NODE_KIND,
        "metadata": {"name": node},
        "spec": {"nodeName": node},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, NODE_PLURAL, body)
