"""Backups off the cluster (issue 23), the decisions and the boundaries' own rules: the key a backup gets,
what retention deletes (never the newest), the recipients and identities accepted, the status.backup
written (a failure keeps the last success), messages without secrets, age round trips in memory, and the
FIFO hand-over never leaving pg_dump hanging. End to end: tests/objectstore/test_backup_roundtrip.py.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from chainlink_agent.backups import agecrypt, backup
from chainlink_agent.backups.backup import (
    Outcome,
    clean_message,
    expired,
    newest_backup,
    object_key,
    record,
    status_body,
)
from chainlink_agent.backups.backupsettings import BackupSettings, RestoreSettings, describe
from chainlink_agent.backups.dumpfifo import DumpFifo
from chainlink_agent.k8s.kube import translate
from chainlink_agent.model.errors import BackupError
from pydantic import ValidationError
from pyrage import x25519

NOW = datetime(2026, 12, 4, 8, 30, 0, tzinfo=UTC)
UNDER = "chainlink/node-a/"


def key_at(when: datetime, under: str = UNDER) -> str:
    return under + when.strftime("%Y%m%dT%H%M%SZ") + ".dump.age"


# ------------------------------------------------------------------------------------------------ keys


def test_a_backup_key_is_the_prefix_the_node_and_the_utc_time() -> None:
    assert object_key("chainlink", "node-a", NOW) == "chainlink/node-a/20261204T083000Z.dump.age"
    later_in_paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert object_key("chainlink", "node-a", later_in_paris) == "chainlink/node-a/20261204T083000Z.dump.age"
    assert object_key("", "node-a", NOW) == "node-a/20261204T083000Z.dump.age"
    assert object_key("team/prod", "node-a", NOW).startswith("team/prod/node-a/")


def test_latest_is_the_newest_backup_by_its_key_and_ignores_other_objects() -> None:
    listed = [
        key_at(NOW - timedelta(days=2)),
        key_at(NOW),
        key_at(NOW - timedelta(days=1)),
        UNDER + "zz-notes.txt",
        UNDER + ".write-check",
        UNDER + "old/20990101T000000Z.dump.age",  # deeper: not this node's backup
        "chainlink/node-ab/20990101T000000Z.dump.age",  # a node whose name starts the same
    ]
    assert newest_backup(listed, UNDER) == key_at(NOW)
    assert newest_backup([UNDER + "notes.txt"], UNDER) is None


# ------------------------------------------------------------------------------------------- retention


def test_retention_deletes_the_backups_older_than_the_days_only() -> None:
    old, older, recent = NOW - timedelta(days=8), NOW - timedelta(days=30), NOW - timedelta(days=6)
    listed = [key_at(old), key_at(older), key_at(recent), key_at(NOW)]
    assert expired(listed, UNDER, NOW, 7, keep=key_at(NOW)) == [key_at(older), key_at(old)]


def test_retention_keeps_everything_with_0_days() -> None:
    listed = [key_at(NOW - timedelta(days=400)), key_at(NOW)]
    assert expired(listed, UNDER, NOW, 0, keep=key_at(NOW)) == []


def test_retention_never_deletes_the_backup_just_made_nor_the_newest_listed() -> None:
    ancient = [key_at(NOW - timedelta(days=d)) for d in (100, 200, 300)]
    # The new backup's key is older than the cutoff (a clock far ahead): still kept.
    assert key_at(NOW - timedelta(days=100)) not in expired(ancient, UNDER, NOW, 7, keep=ancient[0])
    # The listing does not show the new backup yet: its newest entry is kept anyway.
    assert expired(ancient, UNDER, NOW, 7, keep=key_at(NOW)) == sorted(ancient[1:])
    assert expired([key_at(NOW - timedelta(days=9))], UNDER, NOW, 7, keep=key_at(NOW)) == []


def test_retention_touches_nothing_but_this_nodes_backups() -> None:
    old = NOW - timedelta(days=90)
    listed = [
        key_at(NOW),
        UNDER + "notes.txt",
        UNDER + "old/" + key_at(old, ""),
        key_at(old, "chainlink/node-b/"),
        key_at(old, "chainlink/node-ab/"),
        UNDER + key_at(old, "").replace(".dump.age", ".dump"),
    ]
    assert expired(listed, UNDER, NOW, 1, keep=key_at(NOW)) == []


# ---------------------------------------------------------------------------------- recipients, keys


def recipient() -> str:
    return str(x25519.Identity.generate().to_public())


def test_recipients_are_split_on_commas_spaces_and_newlines_without_repeats() -> None:
    a, b, c = recipient(), recipient(), recipient()
    text = f" {a},{b}\n\n{c} ,{a}\t"
    assert agecrypt.split_recipients(text) == [a, b, c]
    assert len(agecrypt.recipients([a, b, c])) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "holds no age recipient"),
        (" ,\n ", "holds no age recipient"),
        ("age1abc,ssh-ed25519", "age recipient 2 ('ssh-ed25519') is not an age public key"),
        ("AGE-SECRET-KEY-1QQQ", "age recipient 1"),
    ],
)
def test_a_list_without_age_public_keys_is_refused_naming_the_entry(text: str, expected: str) -> None:
    with pytest.raises(BackupError) as refused:
        agecrypt.split_recipients(text)
    assert expected in str(refused.value)


def test_a_recipient_that_does_not_parse_is_named_by_its_position() -> None:
    good = recipient()
    with pytest.raises(BackupError, match=r"age recipient 2 \('age1broken'\) does not parse"):
        agecrypt.recipients([good, "age1broken"])


def test_an_identity_file_takes_age_keygen_output_and_never_quotes_a_bad_line(tmp_path: Path) -> None:
    identity = x25519.Identity.generate()
    secret = str(identity)
    path = tmp_path / "identity.txt"
    path.write_text(f"# created: 2026-12-04\n# public key: {identity.to_public()}\n\n{secret}\n")
    assert len(agecrypt.identities(path)) == 1

    path.write_text(f"# a comment\n{secret[4:]}\n")  # a line cut short: most of a secret
    with pytest.raises(BackupError) as refused:
        agecrypt.identities(path)
    assert str(refused.value) == f"{path} line 2 is not an age identity (AGE-SECRET-KEY-1...)"

    path.write_text(secret[:-3] + "QQQ\n")  # the right shape, a wrong checksum
    with pytest.raises(BackupError) as refused:
        agecrypt.identities(path)
    assert secret[:20] not in str(refused.value)
    path.write_text("# nothing but comments\n")
    with pytest.raises(BackupError, match="holds no age identity"):
        agecrypt.identities(path)
    with pytest.raises(BackupError, match="cannot read the age identity file"):
        agecrypt.identities(tmp_path / "missing.txt")


# ------------------------------------------------------------------------------------- age, in memory

DUMP = b"PGDMP" + os.urandom(300_000)


def seal(plain: bytes, *to: x25519.Identity) -> bytes:
    with agecrypt.Encrypting(io.BytesIO(plain), [i.to_public() for i in to]) as cipher:
        sealed = b"".join(iter(lambda: cipher.read(70_000), b""))
        cipher.finish()
        assert cipher.plain_bytes == len(plain)
    return sealed


def test_a_dump_encrypted_as_a_stream_decrypts_with_the_identity_only() -> None:
    mine, spare, stranger = (x25519.Identity.generate() for _ in range(3))
    sealed = seal(DUMP, mine, spare)
    assert sealed.startswith(b"age-encryption.org/v1\n")
    for identity in (mine, spare):
        out = io.BytesIO()
        assert agecrypt.decrypt(io.BytesIO(sealed), out, [identity], "s3://b/k") == len(DUMP)
        assert out.getvalue() == DUMP
    with pytest.raises(BackupError, match=r"^s3://b/k: the backup is not encrypted to this identity$"):
        agecrypt.decrypt(io.BytesIO(sealed), io.BytesIO(), [stranger], "s3://b/k")


def test_a_truncated_or_foreign_file_is_refused_for_what_it_is() -> None:
    mine = x25519.Identity.generate()
    sealed = seal(DUMP, mine)
    with pytest.raises(BackupError, match="damaged or truncated"):
        agecrypt.decrypt(io.BytesIO(sealed[:-1000]), io.BytesIO(), [mine], "k")
    with pytest.raises(BackupError, match="is not an age-encrypted file"):
        agecrypt.decrypt(io.BytesIO(DUMP), io.BytesIO(), [mine], "k")


def test_only_a_custom_format_dump_is_encrypted_or_written() -> None:
    mine = x25519.Identity.generate()
    with agecrypt.Encrypting(io.BytesIO(b"-- PostgreSQL database dump\n"), [mine.to_public()]) as cipher:
        cipher.read()
        with pytest.raises(BackupError, match="not a pg_dump custom-format archive"):
            cipher.finish()
    with pytest.raises(BackupError, match="not a pg_dump custom-format archive"):
        agecrypt.decrypt(io.BytesIO(seal(b"PGDMX", mine)), io.BytesIO(), [mine], "k")


def test_an_upload_that_stops_reading_stops_the_encryption() -> None:
    class Endless:  # a dump that never ends
        def read(self, size: int = -1, /) -> bytes:
            return b"PGDMP" + bytes(max(size, 5) - 5)

    cipher = agecrypt.Encrypting(Endless(), [x25519.Identity.generate().to_public()])
    cipher.read(100_000)
    began = time.monotonic()
    cipher.close()
    assert time.monotonic() - began < 5
    with pytest.raises(BackupError, match="the upload stopped reading"):
        cipher.finish()


# -------------------------------------------------------------------------------------------- status

SUCCESS = Outcome(NOW, "Scheduled", "Succeeded", "12 bytes to s3://b/k", "2.23.0", key="k1", size=12)
FAILURE = Outcome(NOW + timedelta(days=1), "PreUpgrade", "Failed", "pg_dump exited 1", "2.23.0")


def test_a_success_is_the_last_success_too() -> None:
    assert status_body(SUCCESS, {"lastSuccessKey": "older"}) == {
        "time": "2026-12-04T08:30:00Z",
        "trigger": "Scheduled",
        "result": "Succeeded",
        "message": "12 bytes to s3://b/k",
        "nodeVersion": "2.23.0",
        "key": "k1",
        "size": 12,
        "lastSuccessTime": "2026-12-04T08:30:00Z",
        "lastSuccessKey": "k1",
        "lastSuccessSize": 12,
    }


def test_a_failure_keeps_the_last_success_and_names_no_key() -> None:
    previous = status_body(SUCCESS, None)
    body = status_body(FAILURE, previous)
    assert body == {
        "time": "2026-12-05T08:30:00Z",
        "trigger": "PreUpgrade",
        "result": "Failed",
        "message": "pg_dump exited 1",
        "nodeVersion": "2.23.0",
        "lastSuccessTime": "2026-12-04T08:30:00Z",
        "lastSuccessKey": "k1",
        "lastSuccessSize": 12,
    }
    # A failure with none before it: no last success at all (not nulls).
    assert "lastSuccessTime" not in status_body(FAILURE, None)
    assert "lastSuccessTime" not in status_body(FAILURE, {"result": "Failed"})


def test_a_message_is_one_line_of_at_most_1024_characters_without_the_secret() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    text = f"refused:\n  the key {secret} and {secret.upper()}\n" + "x" * 2000
    message = clean_message(text, [secret, ""])
    assert secret not in message
    assert secret.upper() not in message
    assert "\n" not in message
    assert message.startswith("refused: the key [redacted] and [redacted] xxx")
    assert len(message) == 1024
    assert message.endswith("…")
    assert clean_message("short", []) == "short"


class FakeKube:
    node, namespace = "node-a", "ns"

    def __init__(self, found: dict[str, Any] | None, fail: int | None = None) -> None:
        self.found, self.fail = found, fail
        self.applied: list[dict[str, Any]] = []

    def chainlink_node(self) -> dict[str, Any] | None:
        if self.fail:
            raise translate(self.fail, "forbidden")
        return self.found

    def apply_backup_status(self, body: dict[str, Any]) -> None:
        self.applied.append(body)


def test_recording_merges_the_last_success_from_the_chainlinknode_read_first() -> None:
    kube = FakeKube({"metadata": {"name": "node-a"}, "status": {"backup": status_body(SUCCESS, None)}})
    record(kube, FAILURE)  # type: ignore[arg-type]
    [body] = kube.applied
    assert (body["result"], body["lastSuccessKey"]) == ("Failed", "k1")


def test_without_an_api_a_chainlinknode_or_the_rights_nothing_is_recorded_and_it_is_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="chainlink_agent.backups.backup"):
        record(None, SUCCESS)
        missing = FakeKube(None)
        record(missing, SUCCESS)  # type: ignore[arg-type]
        forbidden = FakeKube({}, fail=403)
        record(forbidden, SUCCESS)  # type: ignore[arg-type]
    assert missing.applied == forbidden.applied == []
    messages = [r.getMessage() for r in caplog.records]
    assert "no in-cluster service account and no KUBECONFIG: the result is not recorded" in messages
    assert "no ChainlinkNode of this node's name: the result is not recorded" in messages
    assert "could not record the backup's result" in messages


# ----------------------------------------------------------------------------------------- settings

ENV = {
    "CHAINLINK_BACKUP_S3_ENDPOINT": "https://s3.example.org:9000/",
    "CHAINLINK_BACKUP_S3_BUCKET": "backups",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "s3cr3t-value-not-to-show",
    "CHAINLINK_AGENT_NODE_NAME": "node-a",
    "CHAINLINK_AGENT_NAMESPACE": "ns",
    "CHAINLINK_BACKUP_AGE_RECIPIENTS": "age1x",
}


def test_backup_settings_come_from_the_charts_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    settings = BackupSettings.from_environment()
    assert (settings.endpoint, settings.secure, settings.host) == (
        "https://s3.example.org:9000",
        True,
        "s3.example.org:9000",
    )
    assert (settings.prefix, settings.region, settings.retention_days) == ("chainlink", "us-east-1", 0)
    assert (settings.trigger, str(settings.directory)) == ("Scheduled", "/backup")
    assert "s3cr3t" not in repr(settings)
    monkeypatch.setenv("CHAINLINK_RESTORE_AGE_IDENTITY_FILE", "/keys/identity.txt")
    restore = RestoreSettings.from_environment()
    assert (restore.key, restore.source_node, str(restore.directory)) == ("latest", "node-a", "/restore")
    monkeypatch.setenv("CHAINLINK_BACKUP_DIR", "/elsewhere")  # what the chart's restore-fetch sets
    assert str(RestoreSettings.from_environment().directory) == "/elsewhere"


@pytest.mark.parametrize(
    "endpoint",
    [
        "s3.example.org",
        "ftp://s3.example.org",
        "https://user:pw@s3.example.org",
        "https://s3.example.org/bucket",
    ],
)
def test_an_endpoint_is_scheme_host_and_port_only_and_never_repeated(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**ENV, "CHAINLINK_BACKUP_S3_ENDPOINT": endpoint}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CHAINLINK_BACKUP_RETENTION_DAYS", "-1")
    with pytest.raises(ValidationError) as refused:
        BackupSettings.from_environment()
    text = describe(refused.value)
    assert "CHAINLINK_BACKUP_S3_ENDPOINT" in text
    assert "CHAINLINK_BACKUP_RETENTION_DAYS" in text
    assert endpoint not in text
    assert "s3cr3t" not in text
    assert "pw@" not in text


# ------------------------------------------------------------------------------------- the FIFO


def test_a_failed_backup_releases_a_pg_dump_already_waiting_to_open_the_fifo(tmp_path: Path) -> None:
    fifo = DumpFifo(tmp_path)
    fifo.create()
    # What pg_dump does: open the FIFO for writing (blocks until a reader), write, report its exit code.
    writer = subprocess.Popen(
        [
            "sh",
            "-c",
            textwrap.dedent(
                """
                (exec 3>"$1/dump"; while :; do printf 'PGDMP%01000d' 0 >&3 || exit 1; done)
                echo $? > "$1/status"
                """
            ),
            "sh",
            str(tmp_path),
        ]
    )
    try:
        time.sleep(0.3)
        assert fifo.release_writer(wait_seconds=10) not in (None, 0)
        assert writer.wait(timeout=5) == 0
    finally:
        writer.kill()


def test_the_reader_waits_for_pg_dump_within_a_deadline_and_notices_a_dump_that_ended(tmp_path: Path) -> None:
    fifo = DumpFifo(tmp_path)
    fifo.create()
    began = time.monotonic()
    with pytest.raises(BackupError, match=r"no pg_dump opened .*/dump within 1 s"):
        fifo.open_reader(wait_seconds=1)
    assert time.monotonic() - began < 3
    fifo.status_path.write_text("2\n")
    with pytest.raises(BackupError, match=r"the dump ended \(exit code 2\) before it opened"):
        fifo.open_reader(wait_seconds=10)
    assert fifo.exit_code(wait_seconds=0) == 2
    fifo.status_path.write_text("not a number")
    assert fifo.exit_code(wait_seconds=0) is None


def test_the_fifo_is_new_and_open_to_the_pods_group(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("0")
    (tmp_path / "dump").write_text("a stale file")
    fifo = DumpFifo(tmp_path)
    fifo.create()
    mode = fifo.path.stat().st_mode
    assert oct(mode & 0o777) == oct(0o660)
    assert not fifo.status_path.exists()


# ------------------------------------------------------------------------------------- the sidecar


def test_the_sidecars_entry_point_loads_no_backup_module_nor_the_s3_client_nor_age() -> None:
    probe = "import json, sys, chainlink_agent.__main__; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout)
    assert not [m for m in loaded if m.split(".")[0] in ("minio", "pyrage", "argon2", "Crypto")]
    assert not [m for m in loaded if m.startswith("chainlink_agent.backups")]
    assert backup.__name__ == "chainlink_agent.backups.backup"  # imported here, in the test process only
