"""The backup pod's hand-over between its two containers, through their shared directory (an emptyDir):

    upload (this agent)                          dump (the Postgres image: its pg_dump matches the server)
    mkfifo DIR/dump                       ──►    waits until DIR/dump is a FIFO
    reads DIR/dump until EOF              ◄──    pg_dump --format=custom -f DIR/dump
    waits for DIR/status (≤ 120 s)        ◄──    writes pg_dump's exit code to DIR/status

The dump never touches a disk: pg_dump writes into the FIFO and the agent encrypts and uploads what it reads.
Neither side may leave the other hanging. The reader opens the FIFO without blocking and waits for a writer
with a deadline, so a dump container that never starts pg_dump fails the backup instead of holding the pod;
and a backup that fails before reading (the bucket, the credentials, the recipients) releases the writer:
pg_dump blocks in open() until the FIFO has a reader, and in write() while it has one that does not read,
so `release_writer` opens and closes the read end in turn until the exit status is there. Each open lets
a pg_dump waiting in open() through, each close makes its next write fail (EPIPE): it exits, and the dump
container writes its status and ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import select
import stat
import time
from pathlib import Path
from typing import BinaryIO

from chainlink_agent.model.errors import BackupError

log = logging.getLogger(__name__)

FIFO_NAME = "dump"
STATUS_NAME = "status"
# How long after EOF the dump container has to write pg_dump's exit code.
STATUS_WAIT_SECONDS = 120.0
# How long pg_dump has to open the FIFO once it exists (pg_dump opens its output before it connects).
WRITER_WAIT_SECONDS = 300.0
_POLL_MS = 500
_RELEASE_HOLD_SECONDS = 0.2


class DumpFifo:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FIFO_NAME
        self.status_path = directory / STATUS_NAME

    def create(self) -> None:
        """Makes the FIFO, read-write for the pod's group too: the dump container runs as the Postgres
        image's user, which shares the pod's fsGroup with this one. What a previous run left is removed."""
        for stale in (self.path, self.status_path):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        os.mkfifo(self.path, 0o660)
        os.chmod(self.path, 0o660)  # whatever the umask took away

    def open_reader(self, wait_seconds: float = WRITER_WAIT_SECONDS) -> BinaryIO:
        """The FIFO's read end, once pg_dump has opened the other: blocking reads from then on, EOF when
        pg_dump closes it. A dump container that ends (its status written) or never opens it within
        wait_seconds fails the backup."""
        try:
            if not stat.S_ISFIFO(os.stat(self.path).st_mode):
                raise BackupError(f"{self.path} is not a FIFO")
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise BackupError(f"cannot open {self.path}: {exc.strerror}") from None
        try:
            poller = select.poll()
            # Linux reports no hang-up on a FIFO no writer ever opened: it waits for pg_dump's open.
            poller.register(fd, select.POLLIN | select.POLLHUP)
            deadline = time.monotonic() + wait_seconds
            while not poller.poll(_POLL_MS):
                code = self.exit_code(wait_seconds=0)
                if code is not None:
                    raise BackupError(f"the dump ended (exit code {code}) before it opened {self.path}")
                if time.monotonic() > deadline:
                    raise BackupError(f"no pg_dump opened {self.path} within {wait_seconds:.0f} s")
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def exit_code(self, wait_seconds: float = STATUS_WAIT_SECONDS) -> int | None:
        """pg_dump's exit code as the dump container wrote it; None if it has not within wait_seconds, or
        wrote something else."""
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                text = self.status_path.read_text(encoding="ascii", errors="replace").strip()
            except FileNotFoundError:
                text = ""
            if text:
                try:
                    return int(text)
                except ValueError:
                    log.warning("the dump's status is not an exit code", extra={"status": text[:40]})
                    return None
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.2)

    def release_writer(self, wait_seconds: float = STATUS_WAIT_SECONDS) -> int | None:
        """For a backup that failed before reading: lets pg_dump fail (see the module's doc) until the dump's
        exit code is there, for at most wait_seconds. Returns that code, None if it did not come."""
        deadline = time.monotonic() + wait_seconds
        while True:
            code = self.exit_code(wait_seconds=0)
            if code is not None:
                return code
            if time.monotonic() >= deadline:
                log.warning("the dump container wrote no exit code", extra={"seconds": wait_seconds})
                return None
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError as exc:
                log.warning("cannot open the dump FIFO to release its writer", extra={"error": exc.strerror})
                return None
            time.sleep(_RELEASE_HOLD_SECONDS)
            os.close(fd)
