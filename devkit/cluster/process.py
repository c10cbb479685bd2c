"""Child processes of the bench: started in their own session with a log file, stopped in order, and
listed in the bench directory so that another process (``python -m devkit.cluster down``) can stop them."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import httpx

from devkit.cluster.tools import REPO_ROOT, tools_bin_dir

LOG_TAIL_LINES = 40
COMPONENTS_FILE = "components.json"  # in the bench directory: pid and argv[0] of every component


class BenchError(RuntimeError):
    """The bench could not start, or one of its processes died."""


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _death_signal_hook() -> Callable[[], None] | None:
    """preexec_fn asking Linux to SIGTERM the child when the starting thread dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


@dataclass
class Component:
    """One child process with its output in a log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            log.write(f"# {' '.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env) if self.env is not None else None,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_death_signal_hook(),  # noqa: PLW1509 - sets PR_SET_PDEATHSIG only, no locks
            )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure_running(self) -> None:
        if self.process is None:
            raise BenchError(f"{self.name} was never started")
        code = self.process.poll()
        if code is not None:
            raise BenchError(self.describe(f"{self.name} exited with status {code}"))

    def describe(self, headline: str) -> str:
        return f"{headline}; last {LOG_TAIL_LINES} lines of {self.log_path}:\n{tail(self.log_path)}"

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; always reaps the child."""
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        try:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(grace)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
        finally:
            if proc.returncode is None:  # interrupted mid-stop: do not leave it running
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)


def run_tool(
    argv: Sequence[str], *, check: bool = True, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end with its output captured; with check, a failure raises BenchError carrying
    the output's tail."""
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=cwd, env=env, check=False
    )
    if check and proc.returncode != 0:
        raise BenchError(
            f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return proc


def python_env() -> dict[str, str]:
    """Our environment with the repository on PYTHONPATH, for a ``python -m devkit.cluster`` child."""
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def pid_alive(pid: int, argv0: str) -> bool:
    """True if pid runs argv0 (so a recycled pid is never mistaken for a bench process)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return cmdline.split(b"\0", 1)[0].decode(errors="replace") == argv0


def record_components(directory: Path, components: Sequence[Component]) -> None:
    """List the components in COMPONENTS_FILE, so that another process can find and stop them."""
    record = {c.name: {"pid": c.pid, "argv0": c.argv[0]} for c in components}
    (directory / COMPONENTS_FILE).write_text(json.dumps(record, indent=2))


def bench_alive(directory: Path) -> bool:
    """True while a process of the bench in directory (COMPONENTS_FILE) still runs."""
    try:
        entries = json.loads((directory / COMPONENTS_FILE).read_text())
    except (OSError, ValueError):
        return False
    return any(pid_alive(e["pid"], e["argv0"]) for e in entries.values())


def stop_recorded(directory: Path, grace: float = 10.0) -> list[str]:
    """Kill what COMPONENTS_FILE lists as still running (by pid, checked against its argv[0])."""
    record = directory / COMPONENTS_FILE
    if not record.exists():
        return []
    stopped = []
    entries = json.loads(record.read_text())
    for name, entry in reversed(list(entries.items())):
        pid, argv0 = entry["pid"], entry["argv0"]
        if not pid_alive(pid, argv0):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, argv0, grace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stopped.append(name)
    return stopped


def _wait_gone(pid: int, argv0: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid, argv0):
            return True
        time.sleep(0.1)
    return not pid_alive(pid, argv0)


class BenchServer:
    """A server of the bench run as one Component from the tools directory (scripts/tools.sh builds it):
    ``start()`` checks the binary is there, starts it (its output in ``DIR/logs/<binary>.log``), lists it
    in ``DIR/components.json`` for ``python -m devkit.cluster down --dir DIR`` and waits until it answers;
    ``stop()`` (SIGTERM, then SIGKILL after 10 s) is idempotent and runs at interpreter exit if forgotten.
    Or use it as a context manager. A server says how it starts (``_command``), when it answers
    (``_not_ready``) and what it does once it does (``_started``)."""

    BINARY: ClassVar[str]

    def __init__(self, directory: Path, bin_dir: Path | None, timeout: float) -> None:
        self.directory = Path(directory).resolve()
        self.logs_dir = self.directory / "logs"
        self.bin_dir = bin_dir or tools_bin_dir()
        self.timeout = timeout
        self.component: Component | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Self:
        binary = self.bin_dir / self.BINARY
        if not os.access(binary, os.X_OK):
            raise BenchError(f"missing {self.BINARY} in {self.bin_dir}: run `bash scripts/tools.sh` first")
        atexit.register(self.stop)
        try:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            self.component = Component(
                self.BINARY, self._command(binary), self.logs_dir / f"{self.BINARY}.log", env=self._env()
            )
            self.component.start()
            record_components(self.directory, [self.component])
            self._wait_ready()
            self._started()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self.component is not None:
            self.component.stop()

    def _command(self, binary: Path) -> list[str]:
        """Its argv, once what it needs on disk is written."""
        raise NotImplementedError

    def _env(self) -> dict[str, str] | None:
        return None  # this process's

    def _not_ready(self) -> str | None:
        """None once it answers, else why not yet; a connection refused (it is not listening yet) may be
        raised as OSError or httpx.HTTPError."""
        raise NotImplementedError

    def _started(self) -> None:
        """What it does once it answers."""

    def _wait_ready(self) -> None:
        assert self.component is not None
        deadline = time.monotonic() + self.timeout
        delay = 0.02
        while True:
            self.component.ensure_running()
            try:
                why = self._not_ready()
            except (OSError, httpx.HTTPError) as e:
                why = f"{type(e).__name__}: {e}"
            if why is None:
                return
            if time.monotonic() > deadline:
                raise BenchError(
                    self.component.describe(f"{self.BINARY} not ready within {self.timeout:.0f}s ({why})")
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)
