"""A throwaway Postgres cluster from Debian's server binaries: initdb + pg_ctl on a loopback port, with its
own socket directory, run as the `postgres` user when we are root (Postgres refuses to run as root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from devkit.cluster.controlplane import free_ports


def bin_dir() -> Path:
    """Debian installs the server under /usr/lib/postgresql/<major>/bin; the newest wins."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no Postgres server: apt-get install postgresql (scripts/setup.sh does)")
    return Path(found[-1]).parent


class Postgres:
    """Trust authentication on loopback only: the password in a URL is not checked, so each node's URL can
    carry a strong one (the node checks the URL's password, not the server)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port
        self.data = directory / "data"

    @classmethod
    def start(cls) -> Postgres:
        # Not under pytest's tmp_path: that is private to root and the server runs as postgres.
        directory = Path(tempfile.mkdtemp(prefix="chainlink-pg-"))
        pg = cls(directory, free_ports(1)[0])
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(directory, user.pw_uid, user.pw_gid)
        pg._run("initdb", "-D", str(pg.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {pg.port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        pg._run(
            "pg_ctl", "-D", str(pg.data), "-l", str(directory / "postgres.log"), "-o", options, "-w", "start"
        )
        return pg

    def create_database(self, name: str, template: str | None = None) -> None:
        copy = ["-T", template] if template else []
        self._run("createdb", "-h", str(self.directory), "-p", str(self.port), "-U", "postgres", *copy, name)

    def url(self, database: str, password: str) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def drop_database(self, name: str) -> None:
        self._run(
            "dropdb", "-h", str(self.directory), "-p", str(self.port), "-U", "postgres", "--force", name
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(bin_dir() / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{tool} exited {proc.returncode}: {proc.stderr or proc.stdout}")
