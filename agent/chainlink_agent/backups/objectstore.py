"""The S3-compatible object store the backups go to, as backup and restore use it: every call, and the one
error they raise. The client is minio's (any S3-compatible server: AWS, MinIO, Ceph, versitygw, R2...),
imported on first use so the sidecar never loads it.

Every error of the client and of its HTTP pool (an S3 error answer, a non-S3 answer, no answer) becomes a
StoreError whose message says what was being done, to which bucket and key, and why, in one line. Requests
are signed (SigV4, in a header): no URL or message ever holds the secret key.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import urllib3

from chainlink_agent.model.errors import StoreError

if TYPE_CHECKING:
    from minio import Minio

log = logging.getLogger(__name__)

# Multipart part size: the upload holds one part in memory. S3 allows 10,000 parts: up to 156 GiB.
PART_SIZE = 16 * 1024 * 1024
# (connect, read) seconds; each request is tried 3 more times on a refused connection or a 5xx.
TIMEOUT = (10.0, 120.0)
RETRIES = 3
WRITE_CHECK_BODY = b"chainlink-agent backup: write check\n"
METADATA_PREFIX = "x-amz-meta-"
_CHECK_CREDENTIALS = " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and what they may do)"
_CREDENTIAL_HINTS = dict.fromkeys(
    ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"), _CHECK_CREDENTIALS
)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime | None


class ObjectStore:
    def __init__(self, endpoint: str, bucket: str, region: str, access_key: str, secret_key: str) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self._client = _client(endpoint, region, access_key, secret_key)

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"

    def check_writable(self, probe_key: str) -> None:
        """The bucket exists and these credentials may write to it: a small object is written at probe_key
        and removed (a refused removal only warns: retention alone needs it)."""
        with self._translated(f"checking bucket {self.bucket} at {self.endpoint}"):
            if not self._client.bucket_exists(self.bucket):
                raise StoreError(f"bucket {self.bucket} does not exist at {self.endpoint}", "NoSuchBucket")
        with self._translated(f"writing {self.url(probe_key)}"):
            body = WRITE_CHECK_BODY
            self._client.put_object(self.bucket, probe_key, io.BytesIO(body), len(body))
        try:
            self.remove(probe_key)
        except StoreError as exc:
            log.warning("could not remove the write check", extra={"key": probe_key, "error": str(exc)})

    def upload(self, key: str, stream: Readable, metadata: dict[str, str]) -> None:
        """Streams `stream` to `key` in parts of PART_SIZE. An error raised by the stream's read() (a failed
        dump) aborts the multipart upload, and nothing is stored; it is raised as it is."""
        with self._translated(f"uploading {self.url(key)}"):
            self._client.put_object(
                self.bucket,
                key,
                cast(Any, stream),  # minio asks for a BinaryIO, and calls read() only
                length=-1,
                part_size=PART_SIZE,
                num_parallel_uploads=1,  # one part in memory at a time, and the first failure stops it
                metadata=dict(metadata),
            )

    def list(self, prefix: str) -> list[StoredObject]:
        """Every object under prefix (recursively)."""
        with self._translated(f"listing {self.url(prefix)}"):
            return [
                StoredObject(str(o.object_name), int(o.size or 0), o.last_modified)
                for o in self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
            ]

    def remove(self, key: str) -> None:
        """Removes key; a missing one is no error (S3's DeleteObject says nothing either way)."""
        with self._translated(f"removing {self.url(key)}"):
            self._client.remove_object(self.bucket, key)

    @contextmanager
    def download(self, key: str) -> Iterator[tuple[Body, dict[str, str]]]:
        """The object's body, streamed (read(n) as it arrives), and its user metadata (without x-amz-meta-).
        A read error while streaming is a StoreError too."""
        try:
            with self._translated(f"downloading {self.url(key)}"):
                response = self._client.get_object(self.bucket, key)
        except StoreError as exc:
            if exc.code == "NoSuchKey":
                raise StoreError(
                    f"no object {key} in bucket {self.bucket} at {self.endpoint}", exc.code
                ) from None
            raise
        metadata = {
            name.lower().removeprefix(METADATA_PREFIX): value
            for name, value in response.headers.items()
            if name.lower().startswith(METADATA_PREFIX)
        }
        try:
            yield Body(response, self, f"downloading {self.url(key)}"), metadata
        finally:
            response.close()
            response.release_conn()

    @contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            translated = self.translate(exc, doing)
            if translated is None:
                raise
            raise translated from None

    def translate(self, exc: BaseException, doing: str) -> StoreError | None:  # noqa: PLR0911 - one per kind
        """The StoreError for an error of the S3 client or its HTTP pool; None for any other."""
        from minio.error import InvalidResponseError, S3Error, ServerError  # noqa: PLC0415 - lazy

        if isinstance(exc, S3Error):
            code = exc.code or "Error"
            if code == "NoSuchBucket":
                return StoreError(f"bucket {self.bucket} does not exist at {self.endpoint} ({doing})", code)
            text = f"{doing}: {code}: {_one_line(exc.message or '')}".rstrip(": ")
            return StoreError(text + _CREDENTIAL_HINTS.get(code, ""), code)
        if isinstance(exc, ServerError):
            return StoreError(f"{doing}: the store answered HTTP {exc.status_code}: {_one_line(str(exc))}")
        if isinstance(exc, InvalidResponseError):
            return StoreError(
                f"{doing}: {self.endpoint} answered without an S3 error body; is it an S3 endpoint? "
                f"({_one_line(str(exc))[:300]})"
            )
        if isinstance(exc, urllib3.exceptions.HTTPError):
            reason = getattr(exc, "reason", None) or exc
            return StoreError(f"{doing}: no answer ({_no_answer(reason)})", "NoAnswer")
        if isinstance(exc, ValueError):  # the client's own checks of a name
            return StoreError(f"{doing}: {exc}")
        return None


class Body:
    """A downloading object's body: read(n) as it arrives; a read error (a dropped connection) is a
    StoreError."""

    def __init__(self, response: Any, store: ObjectStore, doing: str) -> None:
        self._response = response
        self._store = store
        self._doing = doing

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self._response.read(None if size < 0 else size)
        except Exception as exc:
            translated = self._store.translate(exc, self._doing)
            if translated is None:
                raise
            raise translated from None
        return data


def _client(endpoint: str, region: str, access_key: str, secret_key: str) -> Minio:
    import certifi  # noqa: PLC0415 - lazy, like minio
    from minio import Minio  # noqa: PLC0415 - lazy: only backups and restores load the S3 client

    secure = endpoint.startswith("https://")
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=TIMEOUT[0], read=TIMEOUT[1]),
        maxsize=2,
        cert_reqs="CERT_REQUIRED",
        # As minio does: SSL_CERT_FILE names a private CA's bundle.
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=RETRIES, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504]),
    )
    # The region is given so that no GetBucketLocation call is made (and needed in the policy).
    return Minio(
        endpoint.split("://", 1)[1],
        access_key=access_key,
        secret_key=secret_key,
        secure=secure,
        region=region,
        http_client=http,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _no_answer(reason: object) -> str:
    """urllib3's reasons are long ("<urllib3.connection.HTTPConnection object at 0x...>: Failed to establish
    a new connection: [Errno 111] Connection refused"): the part after the object's repr."""
    text = _one_line(str(reason))
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__
