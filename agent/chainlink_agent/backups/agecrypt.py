"""age encryption of the backups (pyrage: the Rust age library), streamed: a dump of any size passes
through in 64 KiB chunks and is never held whole. Backups are encrypted to recipients (public keys) only, so
the cluster, which holds no identity, cannot read one back; a restore reads the identity from a mounted
Secret.

pyrage is imported on first use: the sidecar, which imports the CLI, never loads it. Every failure is a
BackupError whose message names a position or a file, never a line of an identity file.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from chainlink_agent.model.errors import BackupError

if TYPE_CHECKING:
    from pyrage.x25519 import Identity, Recipient

RECIPIENT_PREFIX = "age1"
IDENTITY_PREFIX = "AGE-SECRET-KEY-1"
# pg_dump's custom format starts with these bytes (pg_backup_archiver.c WriteHead): a dump container that
# wrote anything else (a plain SQL dump, an error text) fails the backup instead of being kept as one.
CUSTOM_FORMAT_MAGIC = b"PGDMP"
_SEPARATORS = re.compile(r"[\s,]+")
# How long closing waits for the encrypting thread (it ends at its next read or write once the pipe is gone).
_JOIN_SECONDS = 10.0


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def split_recipients(text: str) -> list[str]:
    """The age1... public keys of a comma-, space- or newline-separated list, in order, without repeats.
    Public keys are not secret: a wrong one is quoted."""
    keys = list(dict.fromkeys(part for part in _SEPARATORS.split(text) if part))
    if not keys:
        raise BackupError("CHAINLINK_BACKUP_AGE_RECIPIENTS holds no age recipient")
    for index, key in enumerate(keys, 1):
        if not key.startswith(RECIPIENT_PREFIX):
            raise BackupError(f"age recipient {index} ({key[:80]!r}) is not an age public key (age1...)")
    return keys


def recipients(keys: Iterable[str]) -> list[Recipient]:
    from pyrage import x25519  # noqa: PLC0415 - lazy: only backups load pyrage

    parsed = []
    for index, key in enumerate(keys, 1):
        try:
            parsed.append(x25519.Recipient.from_str(key))
        except Exception as exc:  # pyrage.RecipientError, or a ValueError from its bech32 decoding
            raise BackupError(f"age recipient {index} ({key[:80]!r}) does not parse: {exc}") from None
    return parsed


def identity_lines(text: str, source: str) -> list[str]:
    """The AGE-SECRET-KEY-1... lines of an identity file (age-keygen's format: `#` comments, blank lines).
    A bad line is named by its number only: it may be most of a secret key."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(IDENTITY_PREFIX):
            raise BackupError(f"{source} line {number} is not an age identity (AGE-SECRET-KEY-1...)")
        found.append(line)
    if not found:
        raise BackupError(f"{source} holds no age identity (AGE-SECRET-KEY-1...)")
    return found


def identities(path: Path) -> list[Identity]:
    from pyrage import x25519  # noqa: PLC0415 - lazy: only restores load pyrage

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"cannot read the age identity file {path}: {type(exc).__name__}") from None
    parsed = []
    for index, line in enumerate(identity_lines(text, str(path)), 1):
        try:
            parsed.append(x25519.Identity.from_str(line))
        except Exception:  # pyrage.IdentityError; its text is not repeated: it could quote the key
            raise BackupError(f"age identity {index} of {path} does not parse") from None
    return parsed


class Encrypting:
    """A readable of the age ciphertext of `plain`, encrypted by a thread as it is read.

    pyrage's encrypt_io pushes (it reads its input and writes its output); an S3 upload pulls. The thread
    writes into a pipe that read() reads: the pipe's buffer is all that sits between them, so the dump,
    the encryption and the upload go at the pace of the slowest. At EOF, `finish()` says whether the
    encryption ended well; `close()` stops it early (the thread's next write fails), for a failed upload.
    """

    def __init__(self, plain: Readable, to: list[Recipient], magic: bytes = CUSTOM_FORMAT_MAGIC) -> None:
        read_end, write_end = os.pipe()
        self._out: BinaryIO = os.fdopen(read_end, "rb")
        self._source = _MagicCheck(plain, magic)
        self._sink = _Sink(write_end)
        self._recipients = to
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._encrypt, name="age-encrypt", daemon=True)
        self._thread.start()

    def _encrypt(self) -> None:
        import pyrage  # noqa: PLC0415 - lazy

        try:
            pyrage.encrypt_io(self._source, self._sink, self._recipients)  # type: ignore[arg-type]
        except BaseException as exc:  # reported by finish(), in the reading thread
            self._error = exc
        finally:
            self._sink.close()  # EOF for the reader

    def read(self, size: int = -1, /) -> bytes:
        # A BufferedReader returns `size` bytes unless the pipe is at EOF: one read per upload part.
        return self._out.read(size)

    @property
    def plain_bytes(self) -> int:
        return self._source.count

    def finish(self) -> None:
        """After EOF: raise the reason the encryption stopped, if it did not end well."""
        self._thread.join(_JOIN_SECONDS)
        if self._thread.is_alive():
            raise BackupError("the age encryption did not finish")
        # pyrage drops the final flush's error (Rust's BufWriter on drop): the sink and source kept theirs.
        failure = self._source.error or self._sink.error or self._error
        if failure is not None:
            raise BackupError(f"encrypting the dump failed: {_reason(failure)}") from None

    def close(self) -> None:
        self._out.close()  # the thread's next write fails (EPIPE): it stops reading the dump
        self._thread.join(_JOIN_SECONDS)

    def __enter__(self) -> Encrypting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decrypt(
    source: Readable, target: BinaryIO, keys: list[Identity], what: str, magic: bytes = CUSTOM_FORMAT_MAGIC
) -> int:
    """Decrypts `source` into `target`, streaming; returns the plaintext's size. `what` names the backup in
    messages. A backup not encrypted to any of `keys`, a truncated or altered one (age authenticates every
    chunk and marks the last), or one that is no pg_dump archive fail with what went wrong."""
    import pyrage  # noqa: PLC0415 - lazy: only restores load pyrage

    reader = _Source(source)
    sink = _MagicCheck(_FileSink(target), magic)
    try:
        pyrage.decrypt_io(reader, sink, keys)  # type: ignore[arg-type]
    except Exception as exc:  # pyrage's DecryptError, or the IO error of a wrapper below
        own = reader.error or sink.error or sink.inner_error
        if own is not None:
            raise _as_backup_error(own, what) from None
        text = str(exc)
        if "no matching keys" in text.lower():
            raise BackupError(f"{what}: the backup is not encrypted to this identity") from None
        if "header" in text.lower():
            raise BackupError(f"{what} is not an age-encrypted file ({text})") from None
        raise BackupError(f"{what}: decryption failed, the backup is damaged or truncated ({text})") from None
    # A flush error after the last chunk is dropped by pyrage (see Encrypting.finish).
    own = reader.error or sink.error or sink.inner_error
    if own is not None:
        raise _as_backup_error(own, what)
    if sink.count == 0:
        raise BackupError(f"{what} decrypts to nothing")
    return sink.count


def _as_backup_error(exc: BaseException, what: str) -> BackupError:
    if isinstance(exc, BackupError):
        return BackupError(f"{what}: {exc}")
    return BackupError(f"{what}: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BackupError):
        return str(exc)
    if isinstance(exc, BrokenPipeError):
        return "the upload stopped reading"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class _Source:
    """What pyrage reads from: keeps the reading error, which pyrage only passes on as text."""

    def __init__(self, inner: Readable) -> None:
        self._inner = inner
        self.error: BaseException | None = None

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._inner.read(size)
        except BaseException as exc:
            self.error = exc
            raise


class _MagicCheck:
    """Passes bytes through (read or write, whichever it wraps), counting them, and fails unless they start
    with `magic` (pg_dump's custom-format magic; b"": anything)."""

    def __init__(self, inner: Any, magic: bytes = CUSTOM_FORMAT_MAGIC) -> None:
        self._inner = inner
        self._magic = magic
        self._head = b""
        self.count = 0
        self.error: BaseException | None = None

    @property
    def inner_error(self) -> BaseException | None:
        return getattr(self._inner, "error", None)

    def _see(self, data: bytes) -> None:
        if len(self._head) < len(self._magic):
            self._head += data[: len(self._magic) - len(self._head)]
            if not self._magic.startswith(self._head):
                self.error = BackupError("the data is not a pg_dump custom-format archive (pg_dump -Fc)")
                raise self.error
        self.count += len(data)

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self._inner.read(size)
        except BaseException as exc:
            self.error = self.error or exc
            raise
        self._see(data)
        return data

    def write(self, data: bytes) -> int:
        self._see(bytes(data))
        written: int = self._inner.write(data)
        return written

    def flush(self) -> None:
        self._inner.flush()


class _Sink:
    """The pipe's write end, for pyrage: it wants write() to return the count written, and drops the error of
    its last flush, so the error is kept here."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.error: BaseException | None = None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except BaseException as exc:
            self.error = self.error or exc
            raise
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _FileSink:
    """A binary file, for pyrage: write() returns the count, and the error is kept (see _Sink)."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self.error: BaseException | None = None

    def write(self, data: bytes) -> int:
        try:
            self._target.write(data)
        except BaseException as exc:
            self.error = self.error or exc
            raise
        return len(data)

    def flush(self) -> None:
        try:
            self._target.flush()
        except BaseException as exc:
            self.error = self.error or exc
            raise
