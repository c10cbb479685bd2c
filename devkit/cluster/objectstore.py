"""A real S3-compatible object store for the bench: versitygw, the Versity S3 Gateway (Apache-2.0), on its
posix backend, built by scripts/tools.sh like the other bench binaries. Not a mock: the S3 API, SigV4
authentication, multipart uploads and listings are the gateway's own; objects are plain files under
``DIR/data/<bucket>/<key>`` with their metadata in extended attributes (the filesystem must take ``user.``
xattrs: ext4, xfs, btrfs, tmpfs on Linux 6.6+).

    with ObjectStore(tmp_dir) as store:        # one bucket, DEFAULT_BUCKET, ready
        upload(store.endpoint_url, store.access_key, store.secret_key, store.bucket)  # any S3 client

It listens on a free loopback port; ``host=`` puts it on another local address instead, such as the
real-pod bench's bridge address (``devkit.cluster.kubelet.NODE_IP``, which exists while that bench runs) so
that pods reach it. The credentials are fixed (ACCESS_KEY, SECRET_KEY: the store holds test data only),
single-account mode: they are the gateway's root account, owner of every bucket. ``DIR/logs/versitygw.log``
has its output and one line per request; ``DIR/components.json`` lists its pid for
``python -m devkit.cluster down --dir DIR``. Like the control plane's, the process gets SIGTERM from the
kernel if the thread that started it dies.
"""

from __future__ import annotations

import http.client
import os
import shutil
from pathlib import Path

from devkit.cluster.controlplane import free_ports
from devkit.cluster.process import BenchError, BenchServer, run_tool

ACCESS_KEY = "chainlink-bench"
SECRET_KEY = "chainlink-bench-object-store-secret"
REGION = "us-east-1"
DEFAULT_BUCKET = "backups"
HEALTH_PATH = "/health"
# versitygw reads these from the environment too (VGW_*, ROOT_*, ADMIN_* and two bare aliases): a stray
# one in the caller's environment must not change the bench's store.
_ENV_PREFIXES = ("VGW_", "ROOT_", "ADMIN_")
_ENV_NAMES = ("LOGFILE", "WEBHOOK")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES) and k not in _ENV_NAMES}


class ObjectStore(BenchServer):
    """versitygw on the posix backend in ``directory`` (data/, logs/), with ``buckets`` created. ``start``
    empties ``data/``: each start is a fresh store."""

    BINARY = "versitygw"

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        buckets: tuple[str, ...] = (DEFAULT_BUCKET,),
        bin_dir: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(directory, bin_dir, timeout)
        self.data_dir = self.directory / "data"
        self.host = host
        self.port = port
        self.buckets = buckets
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION

    # -- what a client needs ------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise BenchError("the object store has not been started")
        return f"http://{self.host}:{self.port}"

    @property
    def bucket(self) -> str:
        """The first bucket created at start (DEFAULT_BUCKET unless ``buckets`` says otherwise)."""
        return self.buckets[0]

    @property
    def pid(self) -> int | None:
        return self.component.pid if self.component else None

    def create_bucket(self, name: str) -> None:
        """Create bucket ``name`` owned by the store's account, with the gateway's own admin client (the Go
        AWS SDK, signed with SigV4), so that the store needs no Python S3 library."""
        if self.component is None:
            raise BenchError("the object store was never started")
        self.component.ensure_running()
        run_tool(
            [
                str(self.bin_dir / self.BINARY),
                "admin",
                f"--access={self.access_key}",
                f"--secret={self.secret_key}",
                f"--region={self.region}",
                f"--endpoint-url={self.endpoint_url}",
                "create-bucket",
                f"--owner={self.access_key}",
                f"--bucket={name}",
            ],
            env=_clean_env(),
        )

    def object_path(self, bucket: str, key: str) -> Path:
        """Where the posix backend keeps bucket/key on disk."""
        return self.data_dir / bucket / key

    def rss_kib(self) -> int:
        """The server's resident set size in KiB (VmRSS, what ``ps -o rss`` shows)."""
        if self.pid is None:
            raise BenchError("the object store was never started")
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise BenchError(f"no VmRSS in /proc/{self.pid}/status")

    # -- as a bench server -------------------------------------------------------------------------

    def _command(self, binary: Path) -> list[str]:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        if self.port is None:
            [self.port] = free_ports(1, self.host)
        return [
            str(binary),
            f"--port={self.host}:{self.port}",
            f"--access={self.access_key}",
            f"--secret={self.secret_key}",
            f"--region={self.region}",
            f"--health={HEALTH_PATH}",
            "posix",
            str(self.data_dir),
        ]

    def _env(self) -> dict[str, str]:
        return _clean_env()

    def _not_ready(self) -> str | None:
        assert self.port is not None
        conn = http.client.HTTPConnection(self.host, self.port, timeout=3)
        try:
            conn.request("GET", HEALTH_PATH)
            status = conn.getresponse().status
        finally:
            conn.close()
        return None if status == 200 else f"GET {HEALTH_PATH} answered {status}"

    def _started(self) -> None:
        for name in self.buckets:
            self.create_bucket(name)
