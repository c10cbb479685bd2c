"""pytest fixtures for the Chainlink node double (a pytest plugin, loaded through devkit/pytest_plugin.py).

- node_double: the double inside pytest-httpserver's (single-threaded) server, with its state at hand.
  A "hang" fault stalls every other call while it lasts there; use node_double_process for those.
- node_double_process: `python -m devkit.nodedouble` on a free loopback port, stopped with SIGTERM.
Both offer .url, .email, .password, .stats() and .inject(fault_dict) (see app.Fault).
"""

from __future__ import annotations

import re
import secrets
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from devkit.nodedouble.app import Fault, NodeDoubleApp
from devkit.nodedouble.state import NodeState

EMAIL = "admin@node-double.test"
REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"node double listening on (http://\S+)")


@dataclass
class NodeDouble:
    url: str
    state: NodeState
    app: NodeDoubleApp
    email: str
    password: str

    def stats(self) -> dict[str, int]:
        return self.app.stats()

    def inject(self, fault: dict[str, Any]) -> None:
        self.app.inject(Fault(**fault))


@pytest.fixture
def node_double(httpserver: HTTPServer) -> Iterator[NodeDouble]:
    password = secrets.token_urlsafe(18)
    state = NodeState(EMAIL, password)
    app = NodeDoubleApp(state)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(app.handle)
    yield NodeDouble(httpserver.url_for("/").rstrip("/"), state, app, EMAIL, password)
    httpserver.clear()


class NodeDoubleProcess:
    """A running `python -m devkit.nodedouble`; its log (stderr) is kept in workdir/node-double.log."""

    def __init__(
        self, url: str, email: str, password: str, process: subprocess.Popen[str], log: Path
    ) -> None:
        self.url, self.email, self.password = url, email, password
        self.process, self.log = process, log

    @classmethod
    def start(cls, workdir: Path, *extra_args: str, timeout: float = 15.0) -> NodeDoubleProcess:
        password = secrets.token_urlsafe(18)
        password_file = workdir / "node-double-password"
        password_file.write_text(password + "\n")
        log = workdir / "node-double.log"
        command = [sys.executable, "-m", "devkit.nodedouble", "--port", "0", "--email", EMAIL]
        command += ["--password-file", str(password_file), *extra_args]
        with log.open("w") as stderr:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while not line and process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
            if ready:
                line = process.stdout.readline()
        match = LISTENING.match(line)
        if match is None:
            process.kill()
            process.wait()
            process.stdout.close()
            raise RuntimeError(f"node double did not start (said {line!r}); log:\n{log.read_text()}")
        return cls(match.group(1), EMAIL, password, process, log)

    def stats(self) -> dict[str, int]:
        response = httpx.get(f"{self.url}/__double/stats")
        response.raise_for_status()
        return dict(response.json())

    def inject(self, fault: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/__double/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/__double/faults").raise_for_status()

    def reset(self) -> None:
        httpx.post(f"{self.url}/__double/reset").raise_for_status()

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()
        return self.process.returncode


@pytest.fixture
def node_double_process(tmp_path: Path) -> Iterator[NodeDoubleProcess]:
    double = NodeDoubleProcess.start(tmp_path)
    yield double
    double.stop()
