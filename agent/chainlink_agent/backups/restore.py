"""`chainlink-agent restore-fetch`: the second of the node pod's restore init containers, between the chart's
restore-check (touches DIR/skip when the database already holds a node) and restore-load (pg_restore of
DIR/dump). It downloads a backup (backup.py), a given key or `latest`, the newest of a node's, decrypts it
with the age identity of a mounted Secret and writes DIR/dump, mode 0600, as it streams: DIR/dump.partial
first, renamed once whole, so restore-load never reads a partial dump.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from chainlink_agent.backups import agecrypt, records
from chainlink_agent.backups.backup import kube_for, newest_backup, node_prefix, store_for
from chainlink_agent.backups.backupsettings import LATEST, RestoreDirectory, RestoreSettings, describe
from chainlink_agent.backups.objectstore import ObjectStore
from chainlink_agent.k8s.kube import Kube
from chainlink_agent.model import redaction
from chainlink_agent.model.errors import BackupError, KubeError, StoreError
from chainlink_agent.runtime import logs

log = logging.getLogger(__name__)

SKIP_NAME = "skip"
DUMP_NAME = "dump"


def resolve_key(store: ObjectStore, settings: RestoreSettings) -> str:
    if settings.key != LATEST:
        return settings.key
    under = node_prefix(settings.prefix, settings.source_node)
    newest = newest_backup((o.key for o in store.list(under)), under)
    if newest is None:
        raise BackupError(f"no backup under {store.url(under)} (CHAINLINK_RESTORE_KEY=latest)")
    return newest


def fetch(settings: RestoreSettings, store: ObjectStore, identities: list[Any]) -> tuple[str, int]:
    """Writes the decrypted backup to DIR/dump; returns its key and size."""
    key = resolve_key(store, settings)
    target = settings.directory / DUMP_NAME
    partial = target.with_name(DUMP_NAME + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()  # a previous attempt's
    try:
        with (
            store.download(key) as (body, metadata),
            _private_file(partial) as out,
        ):
            log.info(
                "restoring",
                extra={
                    "key": key,
                    "bucket": store.bucket,
                    "node": metadata.get("node", ""),
                    "node_version": metadata.get("node-version", ""),
                },
            )
            size = agecrypt.decrypt(body, out, identities, store.url(key))
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return key, size


def _private_file(path: Path) -> BinaryIO:
    """A new file only its owner may read: it holds the node's encrypted keys and everything else."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    return os.fdopen(fd, "wb")


def make_records(
    settings: RestoreSettings, store: ObjectStore, identities: list[Any], key: str, kube: Kube | None
) -> str:
    """Makes the placements saved beside the backup `key` again, released, for this node (records.py), where
    none of that name exists; says what it did. A backup saved without them is restored all the same."""
    if kube is None:
        log.warning("no Kubernetes API: the backup's placements are not made again")
        return "no Kubernetes API: placements not made"
    source = records.records_key(key)
    saved = io.BytesIO()
    try:
        with store.download(source) as (body, _metadata):
            agecrypt.decrypt(body, saved, identities, store.url(source), magic=b"")
    except StoreError as exc:
        if exc.code != "NoSuchKey":
            raise
        log.warning("the backup has no placements beside it", extra={"key": source})
        return "no placements beside the backup"
    bodies = records.restored(saved.getvalue(), settings.node_name, settings.namespace)
    # One list, not a refused create per placement, when they are still there (a lost volume's restore).
    present = {p["metadata"]["name"] for p in kube.node_placements()}
    made = sum(kube.create_placement(b) for b in bodies if b["metadata"]["name"] not in present)
    return f"{made} of {len(bodies)} placements made again"


def main(kube_client: Callable[[], Any]) -> int:
    """The command: 0 when the dump is written or not needed, 1 when it cannot be, 2 for a configuration it
    cannot use. `kube_client` returns an ApiClient, or None when no Kubernetes API is configured."""
    directory = RestoreDirectory.from_environment().directory
    if (directory / SKIP_NAME).exists():
        print(
            f"chainlink-agent restore-fetch: {directory / SKIP_NAME} exists (the database holds a node): "
            "nothing to restore",
            file=sys.stderr,
        )
        return 0
    try:
        settings = RestoreSettings.from_environment()
    except ValidationError as exc:
        print(f"chainlink-agent restore-fetch: invalid configuration: {describe(exc)}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    redaction.remember(settings.secret_key.get_secret_value())
    began = time.monotonic()
    try:
        store = store_for(settings)
        identities = agecrypt.identities(settings.identity_file)
        key, size = fetch(settings, store, identities)
        made = make_records(settings, store, identities, key, kube_for(kube_client, settings))
    except KubeError as exc:
        print(f"chainlink-agent restore-fetch: making the placements: {exc}", file=sys.stderr)
        return 1
    except BackupError as exc:
        print(f"chainlink-agent restore-fetch: {redaction.redact(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # the restore directory
        print(f"chainlink-agent restore-fetch: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    seconds = round(time.monotonic() - began, 2)
    path = str(settings.directory / DUMP_NAME)
    log.info(
        "restore dump written",
        extra={"key": key, "bytes": size, "path": path, "seconds": seconds, "placements": made},
    )
    return 0
