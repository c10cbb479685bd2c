"""Smoke tests of what backups off the cluster (issue 23) stand on: the bench's S3-compatible store
(versitygw, devkit/cluster/objectstore.py) starts fast and small, and age: a file encrypted to a recipient
opens with its identity only. The S3 API itself, through the agent's client (minio), is the subject of
test_backup_roundtrip.py. A few seconds in all; the binaries come from scripts/tools.sh."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from devkit.cluster.objectstore import ObjectStore
from devkit.cluster.tools import tools_bin_dir

MIB = 1024 * 1024


def _tool(name: str) -> str:
    path = tools_bin_dir() / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"missing {name} in {path.parent}: run `bash scripts/tools.sh` first", pytrace=False)
    return str(path)


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(argv), capture_output=True, timeout=60, check=check, stdin=subprocess.DEVNULL)


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
