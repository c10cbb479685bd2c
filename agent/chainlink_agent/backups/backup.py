"""`chainlink-agent backup`: the upload side of the backup Job. A node's identity (its P2P, ETH, OCR2 and CSA
keys, encrypted by the keystore password) lives in its Postgres database; the dump container's pg_dump
streams it through a FIFO (dumpfifo.py) into this process, which encrypts it to age recipients whose private
half the cluster never holds (agecrypt.py) and uploads it, as it comes, to an S3-compatible store
(objectstore.py) at `<prefix>/<node>/<UTC time>.dump.age`.

    checks (recipients parse, bucket writable)   a failure: release pg_dump, record, exit 1
    FIFO ─► age ─► multipart upload               pg_dump's exit code ≠ 0 or missing: upload aborted
    retention                                     after a success only; never the newest backup
    record status.backup in the ChainlinkNode     when the Kubernetes API is configured (see `kube_client`)

The decisions (the key, what retention deletes, the status written) are pure functions below; `run` does
the I/O through the boundaries, and `main` is the command.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from chainlink_agent.backups import agecrypt, records
from chainlink_agent.backups.backupsettings import BackupDirectory, BackupSettings, StoreSettings, describe
from chainlink_agent.backups.dumpfifo import STATUS_WAIT_SECONDS, DumpFifo
from chainlink_agent.backups.objectstore import ObjectStore
from chainlink_agent.k8s.kube import Kube
from chainlink_agent.model import redaction
from chainlink_agent.model.errors import BackupError, KubeError, StoreError
from chainlink_agent.runtime import logs

log = logging.getLogger(__name__)

KEY_SUFFIX = ".dump.age"
KEY_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_KEY_NAME = re.compile(r"^(\d{8}T\d{6}Z)" + re.escape(KEY_SUFFIX) + "$")
WRITE_CHECK_NAME = ".write-check"
MESSAGE_LIMIT = 1024
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

Result = Literal["Succeeded", "Failed"]


# ----------------------------------------------------------------------------------------- pure decisions


def node_prefix(prefix: str, node: str) -> str:
    """Where a node's backups live: `<prefix>/<node>/` (`<node>/` with an empty prefix)."""
    return f"{prefix}/{node}/" if prefix else f"{node}/"


def object_key(prefix: str, node: str, when: datetime) -> str:
    return node_prefix(prefix, node) + when.astimezone(UTC).strftime(KEY_TIME_FORMAT) + KEY_SUFFIX


def backup_time(key: str, under: str) -> datetime | None:
    """The time in a backup's key directly under `under`; None for any other key (the write check, a file
    someone else put there, a deeper path): such keys are never deleted nor restored by `latest`."""
    if not key.startswith(under):
        return None
    match = _KEY_NAME.match(key[len(under) :])
    if match is None:
        return None
    return datetime.strptime(match.group(1), KEY_TIME_FORMAT).replace(tzinfo=UTC)


def newest_backup(keys: Iterable[str], under: str) -> str | None:
    dated = {key: t for key in keys if (t := backup_time(key, under)) is not None}
    return max(dated, key=lambda key: dated[key]) if dated else None


def expired(keys: Iterable[str], under: str, now: datetime, days: int, keep: str) -> list[str]:
    """The backups under `under` older than `days` (by the time in their key, not the store's clock), to
    delete after the backup `keep` succeeded. Never `keep`, never the newest backup listed (should the
    listing not show `keep` yet), nothing when days is 0, nothing but backups."""
    if days <= 0:
        return []
    dated = {key: t for key in keys if (t := backup_time(key, under)) is not None}
    if not dated:
        return []
    newest = max(dated, key=lambda key: dated[key])
    cutoff = now - timedelta(days=days)
    return sorted(key for key, t in dated.items() if t < cutoff and key not in (keep, newest))


def clean_message(text: str, secrets: Iterable[str]) -> str:
    """One line of at most MESSAGE_LIMIT characters, with every secret value redacted (redaction.py)."""
    with redaction.scope():
        for secret in secrets:
            if secret:
                redaction.remember(secret)
        line = redaction.redact(" ".join(text.split()))
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Outcome:
    time: datetime  # when the backup ended (its key has the time it started)
    trigger: str
    result: Result
    message: str
    node_version: str = ""
    key: str | None = None
    size: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.result == "Succeeded"


def status_body(outcome: Outcome, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ChainlinkNode's status.backup after `outcome`: this backup, and the last one that succeeded,
    kept from `previous` (the status.backup read before) when this one failed. It is applied whole by one
    field manager, so a field left out is removed: key and size are only a success's."""
    stamp = outcome.time.astimezone(UTC).strftime(TIME_FORMAT)
    body: dict[str, Any] = {
        "time": stamp,
        "trigger": outcome.trigger,
        "result": outcome.result,
        "message": outcome.message[:MESSAGE_LIMIT],
        "nodeVersion": outcome.node_version,
    }
    if outcome.succeeded:
        body.update(key=outcome.key, size=outcome.size)
        body.update(lastSuccessTime=stamp, lastSuccessKey=outcome.key, lastSuccessSize=outcome.size)
    else:
        for field in ("lastSuccessTime", "lastSuccessKey", "lastSuccessSize"):
            if (previous or {}).get(field) is not None:
                body[field] = previous[field]  # type: ignore[index]  # not None: checked above
    return body


# --------------------------------------------------------------------------------------------------- I/O


class _CheckedDump:
    """The ciphertext as the upload reads it. At EOF, before the upload's last part goes out, it checks that
    the encryption ended well and pg_dump exited 0: otherwise its read() raises, and the upload is aborted
    (the S3 client aborts a multipart upload on any error, and sends nothing of a single part)."""

    def __init__(self, cipher: agecrypt.Encrypting, fifo: DumpFifo) -> None:
        self._cipher = cipher
        self._fifo = fifo
        self.size = 0
        self._checked = False

    def read(self, size: int = -1, /) -> bytes:
        if self._checked:
            return b""
        data = self._cipher.read(size)
        if data:
            self.size += len(data)
            return data
        self._cipher.finish()
        code = self._fifo.exit_code(STATUS_WAIT_SECONDS)
        if code is None:
            raise BackupError(f"the dump container wrote no exit code in {self._fifo.status_path}")
        if code != 0:
            raise BackupError(f"pg_dump exited {code} (its error is in the dump container's log)")
        if self._cipher.plain_bytes == 0:
            raise BackupError("pg_dump exited 0 and wrote nothing")
        self._checked = True
        return b""


def run(
    settings: BackupSettings,
    fifo: DumpFifo,
    store_factory: Callable[[BackupSettings], ObjectStore],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    kube: Kube | None = None,
) -> Outcome:
    """One backup, from the checks to retention; never raises a BackupError: it is the Outcome's message.
    With `kube`, the node's placements go beside the dump (records.py); without, a restore of it makes each
    job again beside the restored one."""
    started = clock().replace(microsecond=0)
    node = settings.node_name
    under = node_prefix(settings.prefix, node)
    key = object_key(settings.prefix, node, started)

    def outcome(result: Result, message: str, **found: Any) -> Outcome:
        text = clean_message(message, [settings.secret_key.get_secret_value()])
        ended = clock().replace(microsecond=0)
        return Outcome(ended, settings.trigger, result, text, settings.node_version, **found)

    # The checks, before a byte is read: a failure here releases pg_dump, which waits on the FIFO.
    try:
        to = agecrypt.recipients(agecrypt.split_recipients(settings.recipients))
        store = store_factory(settings)
        store.check_writable(under + WRITE_CHECK_NAME)
    except BackupError as exc:
        code = fifo.release_writer()
        log.info("released the dump", extra={"exit_code": code})
        return outcome("Failed", str(exc))

    began = time.monotonic()
    metadata = {"node": node, "node-version": settings.node_version, "trigger": settings.trigger}
    dump: _CheckedDump | None = None
    try:
        plain = fifo.open_reader()
        try:
            with agecrypt.Encrypting(plain, to) as cipher:
                dump = _CheckedDump(cipher, fifo)
                store.upload(key, dump, {k: v for k, v in metadata.items() if v})
        finally:
            plain.close()  # a pg_dump still writing gets EPIPE: it never waits on a reader gone
    except BackupError as exc:
        if dump is not None:
            _remove_quietly(store, key)  # the upload was aborted; in case the store completed it anyway
        return outcome("Failed", str(exc))
    try:
        saved = _save_records(store, kube, to, key, metadata)
    except (BackupError, KubeError) as exc:
        _remove_quietly(store, key)
        reason = exc if isinstance(exc, BackupError) else f"listing them: {exc}"
        return outcome("Failed", f"the node's placements could not be saved beside the dump: {reason}")
    seconds = time.monotonic() - began
    size = dump.size if dump is not None else 0  # not None: the upload returned, having read it all
    log.info(
        "backup uploaded",
        extra={"key": key, "bytes": size, "seconds": round(seconds, 2), "bucket": settings.bucket},
    )
    message = f"{size} bytes to {store.url(key)} in {seconds:.1f} s, {saved}"
    message += _retention(store, settings, under, started, key)
    return outcome("Succeeded", message, key=key, size=size)


def _save_records(
    store: ObjectStore, kube: Kube | None, to: list[Any], key: str, metadata: dict[str, str]
) -> str:
    """Uploads the node's placements, encrypted like the dump, beside it; says what it saved."""
    if kube is None:
        log.warning("no Kubernetes API: the node's placements are not saved beside the dump")
        return "without the node's placements (no Kubernetes API)"
    placements = kube.node_placements()
    with agecrypt.Encrypting(io.BytesIO(records.saved(placements)), to, magic=b"") as cipher:
        store.upload(records.records_key(key), _Finished(cipher), {k: v for k, v in metadata.items() if v})
    return f"with the node's {len(placements)} placements"


class _Finished:
    """The ciphertext of a small plaintext, checked at EOF like the dump's (_CheckedDump)."""

    def __init__(self, cipher: agecrypt.Encrypting) -> None:
        self._cipher = cipher

    def read(self, size: int = -1, /) -> bytes:
        data = self._cipher.read(size)
        if not data:
            self._cipher.finish()
        return data


def _retention(store: ObjectStore, settings: BackupSettings, under: str, now: datetime, keep: str) -> str:
    """Deletes the expired backups; what it did, for the message. A failure here does not fail the backup
    that was just made: it is said in the message and the log."""
    if settings.retention_days <= 0:
        return ""
    try:
        doomed = expired((o.key for o in store.list(under)), under, now, settings.retention_days, keep)
        for key in doomed:
            store.remove(key)
            log.info("removed an expired backup", extra={"key": key})
    except BackupError as exc:
        log.warning("retention failed", extra={"error": str(exc)})
        return f"; retention failed: {exc}"
    return f"; removed {len(doomed)} older than {settings.retention_days} days" if doomed else ""


def _remove_quietly(store: ObjectStore, key: str) -> None:
    try:
        store.remove(key)
    except BackupError as exc:
        log.warning("could not remove the failed backup's object", extra={"key": key, "error": str(exc)})


def record(kube: Kube | None, outcome: Outcome) -> None:
    """Writes status.backup of this node's ChainlinkNode (kube None: no Kubernetes API is configured). A
    missing ChainlinkNode, or an API failure, is logged: the backup stands either way."""
    if kube is None:
        log.info("no in-cluster service account and no KUBECONFIG: the result is not recorded")
        return
    try:
        node = kube.chainlink_node()
        if node is None:
            log.warning(
                "no ChainlinkNode of this node's name: the result is not recorded",
                extra={"node": kube.node, "namespace": kube.namespace},
            )
            return
        previous = (node.get("status") or {}).get("backup")
        kube.apply_backup_status(status_body(outcome, previous))
    except KubeError as exc:
        log.error("could not record the backup's result", extra={"error": str(exc)})
        return
    log.info("recorded the backup's result", extra={"result": outcome.result})


def main(kube_client: Callable[[], Any]) -> int:
    """The command: 0 when the backup succeeded, 1 when it failed, 2 for a configuration it cannot use.
    `kube_client` returns an ApiClient, or None when no Kubernetes API is configured."""
    fifo = DumpFifo(BackupDirectory.from_environment().directory)
    try:
        fifo.create()
    except OSError as exc:
        print(f"chainlink-agent backup: cannot make the FIFO {fifo.path}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        settings = BackupSettings.from_environment()
    except ValidationError as exc:
        print(f"chainlink-agent backup: invalid configuration: {describe(exc)}", file=sys.stderr)
        fifo.release_writer()
        return 2
    logs.configure(settings.log_level)
    redaction.remember(settings.secret_key.get_secret_value())  # out of every log line of this thread too
    kube = kube_for(kube_client, settings)
    try:
        outcome = run(settings, fifo, store_for, kube=kube)
    except Exception as exc:  # a bug, or an error no boundary knew: still recorded, and pg_dump released
        log.exception("backup failed unexpectedly")
        fifo.release_writer(wait_seconds=10)
        ended = datetime.now(UTC).replace(microsecond=0)
        text = clean_message(f"{type(exc).__name__}: {exc}", [settings.secret_key.get_secret_value()])
        outcome = Outcome(ended, settings.trigger, "Failed", text, settings.node_version)
    if outcome.succeeded:
        log.info("backup succeeded", extra={"key": outcome.key, "bytes": outcome.size})
    else:
        log.error("backup failed", extra={"reason": outcome.message})
    record(kube, outcome)
    if not outcome.succeeded:
        print(f"chainlink-agent backup: {outcome.message}", file=sys.stderr)
        return 1
    return 0


def kube_for(kube_client: Callable[[], Any], settings: StoreSettings) -> Kube | None:
    """The Kubernetes API as this node's, or None where none is configured (cli._recording_client)."""
    try:
        client = kube_client()
    except Exception as exc:  # a KUBECONFIG that does not load: the backup goes ahead without it
        log.warning("the Kubernetes configuration does not load", extra={"error": type(exc).__name__})
        return None
    return None if client is None else Kube(client, settings.namespace, settings.node_name)


def store_for(settings: StoreSettings) -> ObjectStore:
    try:
        return ObjectStore(
            settings.endpoint,
            settings.bucket,
            settings.region,
            settings.access_key.get_secret_value(),
            settings.secret_key.get_secret_value(),
        )
    except ValueError as exc:  # the S3 client's own checks of the endpoint
        raise StoreError(f"the object store at {settings.endpoint}: {exc}") from None
