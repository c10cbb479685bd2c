"""Smoke tests of what backups off the cluster (issue 23) stand on: the bench's S3-compatible store
(versitygw, tests/cluster/objectstore.py) driven by a real S3 client (boto3), and age: a file encrypted to a
recipient opens with its identity only. A few seconds in all; the binaries come from scripts/tools.sh.
The tests that use an S3 client skip while boto3 is not installed; the others need only the binaries."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.objectstore import ObjectStore
from tests.cluster.tools import tools_bin_dir

MIB = 1024 * 1024
NO_BOTO3 = "boto3 is not installed: it belongs in pyproject's dev extra"


def _client(store: ObjectStore, **overrides: Any) -> Any:
    boto3 = pytest.importorskip("boto3", reason=NO_BOTO3)
    botocore_config = pytest.importorskip("botocore.config", reason=NO_BOTO3)
    # Path-style addressing: the gateway has no virtual-host domain (versitygw --virtual-domain).
    config = botocore_config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    return boto3.client("s3", **{**store.client_kwargs(), **overrides}, config=config)


@pytest.fixture(scope="module")
def s3(object_store: ObjectStore) -> Any:
    return _client(object_store)


def _tool(name: str) -> str:
    path = tools_bin_dir() / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"missing {name} in {path.parent}: run `bash scripts/tools.sh` first", pytrace=False)
    return str(path)


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(argv), capture_output=True, timeout=60, check=check, stdin=subprocess.DEVNULL)


def _keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


# ------------------------------------------------------------------------------------------ the store


def test_put_get_list_with_prefix_and_delete(object_store: ObjectStore, s3_bucket: str, s3: Any) -> None:
    body = os.urandom(64 * 1024)
    digest = hashlib.sha256(body).hexdigest()
    key = "nodes/node-0/2026-12-04T08-00-00Z.tar.zst.age"
    s3.put_object(Bucket=s3_bucket, Key=key, Body=body, Metadata={"sha256": digest})
    for other in ("nodes/node-0/2026-12-03T08-00-00Z.tar.zst.age", "nodes/node-1/a.age", "manifest.json"):
        s3.put_object(Bucket=s3_bucket, Key=other, Body=other.encode())

    got = s3.get_object(Bucket=s3_bucket, Key=key)
    assert got["Body"].read() == body
    assert got["ContentLength"] == len(body)
    assert got["Metadata"] == {"sha256": digest}
    # Stored as a plain file by the posix backend: a real store, not a mock.
    assert object_store.object_path(s3_bucket, key).read_bytes() == body

    assert _keys(s3, s3_bucket, "nodes/node-0/") == [
        "nodes/node-0/2026-12-03T08-00-00Z.tar.zst.age",
        "nodes/node-0/2026-12-04T08-00-00Z.tar.zst.age",
    ]
    by_node = s3.list_objects_v2(Bucket=s3_bucket, Prefix="nodes/", Delimiter="/")
    assert [p["Prefix"] for p in by_node["CommonPrefixes"]] == ["nodes/node-0/", "nodes/node-1/"]
    assert "Contents" not in by_node

    s3.delete_object(Bucket=s3_bucket, Key=key)
    assert _keys(s3, s3_bucket, "nodes/node-0/") == ["nodes/node-0/2026-12-03T08-00-00Z.tar.zst.age"]
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=s3_bucket, Key=key)
    rest = s3.delete_objects(Bucket=s3_bucket, Delete={"Objects": [{"Key": k} for k in _keys(s3, s3_bucket)]})
    assert len(rest["Deleted"]) == 3
    assert _keys(s3, s3_bucket) == []


def test_multipart_upload_and_download(s3_bucket: str, s3: Any, tmp_path: Path) -> None:
    source = tmp_path / "backup.bin"
    source.write_bytes(os.urandom(12 * MIB))
    transfer = pytest.importorskip("boto3.s3.transfer", reason=NO_BOTO3).TransferConfig(
        multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB
    )
    s3.upload_file(str(source), s3_bucket, "big/backup.bin", Config=transfer)
    head = s3.head_object(Bucket=s3_bucket, Key="big/backup.bin")
    assert head["ContentLength"] == 12 * MIB
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 2 MiB
    target = tmp_path / "restored.bin"
    s3.download_file(s3_bucket, "big/backup.bin", str(target), Config=transfer)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()


def test_a_wrong_secret_is_refused(object_store: ObjectStore, s3_bucket: str) -> None:
    wrong_secret = "not-the-" + object_store.secret_key
    intruder = _client(object_store, aws_secret_access_key=wrong_secret)
    client_error = pytest.importorskip("botocore.exceptions", reason=NO_BOTO3).ClientError
    with pytest.raises(client_error) as refused:
        intruder.put_object(Bucket=s3_bucket, Key="x", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_start_time_and_idle_rss(tmp_path: Path, record_property: Any) -> None:
    """A store of its own, so that the figures are those of a fresh, idle server."""
    began = time.monotonic()
    with ObjectStore(tmp_path / "store") as store:
        started = time.monotonic() - began
        time.sleep(1.0)
        assert store.pid is not None
        rss_kib = int(_run("ps", "-o", "rss=", "-p", str(store.pid)).stdout)
        record_property("objectstore_start_seconds", round(started, 3))
        record_property("objectstore_idle_rss_kib", rss_kib)
        print(f"object store: ready with its bucket in {started:.2f}s, idle RSS {rss_kib / 1024:.1f} MiB")
        assert started < 15
        assert 0 < rss_kib < 256 * 1024


# -------------------------------------------------------------------------------------------------- age


@pytest.fixture
def age_keys(tmp_path: Path) -> tuple[Path, Path, str]:
    """(identity file, another identity file, the first one's recipient), made by age-keygen."""
    keygen = _tool("age-keygen")
    identity, stranger = tmp_path / "identity.txt", tmp_path / "stranger.txt"
    _run(keygen, "-o", str(identity))
    _run(keygen, "-o", str(stranger))
    recipient = _run(keygen, "-y", str(identity)).stdout.decode().strip()
    assert recipient.startswith("age1")
    return identity, stranger, recipient


SECRET_MARKER = b"chainlink keystore password: hunter2"


def _seal(tmp_path: Path, recipient: str) -> tuple[Path, Path]:
    """A made-up backup with a secret in it, and the file `age -r recipient` makes of it."""
    plain = tmp_path / "node-0.tar"
    plain.write_bytes(SECRET_MARKER + os.urandom(256 * 1024))
    sealed = tmp_path / "node-0.tar.age"
    _run(_tool("age"), "-r", recipient, "-o", str(sealed), str(plain))
    ciphertext = sealed.read_bytes()
    assert ciphertext.startswith(b"age-encryption.org/v1\n")
    assert SECRET_MARKER not in ciphertext
    return plain, sealed


def _assert_opens_with_its_identity_only(sealed: Path, plain: Path, identity: Path, stranger: Path) -> None:
    age = _tool("age")
    no_identity = _run(age, "-d", str(sealed), check=False)
    assert no_identity.returncode != 0
    assert SECRET_MARKER not in no_identity.stdout
    wrong = _run(age, "-d", "-i", str(stranger), str(sealed), check=False)
    assert wrong.returncode != 0
    assert b"no identity matched any of the recipients" in wrong.stderr
    assert wrong.stdout == b""
    opened = _run(age, "-d", "-i", str(identity), str(sealed))
    assert opened.stdout == plain.read_bytes()


def test_an_age_encrypted_file_opens_with_its_identity_only(
    age_keys: tuple[Path, Path, str], tmp_path: Path
) -> None:
    identity, stranger, recipient = age_keys
    plain, sealed = _seal(tmp_path, recipient)
    _assert_opens_with_its_identity_only(sealed, plain, identity, stranger)


def test_an_age_encrypted_backup_round_trips_through_the_store(
    object_store: ObjectStore, s3_bucket: str, s3: Any, age_keys: tuple[Path, Path, str], tmp_path: Path
) -> None:
    identity, stranger, recipient = age_keys
    plain, sealed = _seal(tmp_path, recipient)
    key = "nodes/node-0/node-0.tar.age"
    s3.upload_file(str(sealed), s3_bucket, key)
    # On the store's disk, the backup is ciphertext only.
    assert object_store.object_path(s3_bucket, key).read_bytes() == sealed.read_bytes()
    fetched = tmp_path / "fetched.tar.age"
    s3.download_file(s3_bucket, key, str(fetched))
    assert fetched.read_bytes() == sealed.read_bytes()
    _assert_opens_with_its_identity_only(fetched, plain, identity, stranger)
