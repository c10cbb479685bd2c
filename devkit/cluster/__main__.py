"""Run the control-plane test bench by hand (binaries from ``bash scripts/tools.sh``).

Foreground, stops on Ctrl-C or SIGTERM::

    python -m devkit.cluster up [--full | --real-pods] [--dir DIR] [--timeout SECONDS]

prints ``export KUBECONFIG=DIR/kubeconfig`` and ``export PATH="BIN:$PATH"`` once the bench is ready
(copy them into another shell), then waits. Light = etcd + kube-apiserver; ``--full`` adds
kube-controller-manager, kube-scheduler, kwok (fake node ``kwok-node-0``) and a hostPath volume
provisioner behind the default StorageClass ``standard``. ``--real-pods`` is full with a real node in
place of kwok: containerd, kubelet, kube-proxy and CoreDNS run the pods (node ``bench-node-0``, root
needed; see devkit/cluster/kubelet.py), on the images the chart defaults to, built here first
(devkit/cluster/images.py; ``python -m devkit.cluster images`` builds them alone). Without ``--dir`` a new
directory under $TMPDIR is used. Logs: ``DIR/logs/<component>.log``.

Background::

    eval "$(python -m devkit.cluster up --full --dir /tmp/bench --detach)"
    kubectl get nodes; helm install ...
    python -m devkit.cluster down --dir /tmp/bench

``--detach`` returns once the bench is ready (or fails with the log tail); the bench process writes its
pid to ``DIR/bench.pid`` and its own output to ``DIR/up.log``. ``down`` sends it SIGTERM, waits for the
teardown, then kills any component still listed in ``DIR/components.json``.

Reuse a running bench from pytest (skips the start-up)::

    CHAINLINK_BENCH_DIR=/tmp/bench python -m pytest tests/integration -q

(the ``full_cluster`` fixture only accepts a ``--full`` bench; otherwise it starts its own).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.images import build_all
from devkit.cluster.kubelet import release_host
from devkit.cluster.process import BenchError, python_env, stop_recorded, tail
from devkit.cluster.provisioner import run_provisioner

PID_FILE = "bench.pid"
ENV_FILE = "env.sh"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _running_up(directory: Path) -> int | None:
    """The pid of a live `devkit.cluster up` recorded in DIR/bench.pid, if any."""
    try:
        pid = int((directory / PID_FILE).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"devkit.cluster" in cmdline and pid != os.getpid() else None


def _env_lines(bench: ControlPlane) -> str:
    return (
        f"export KUBECONFIG={shlex.quote(str(bench.kubeconfig))}\n"
        f'export PATH={shlex.quote(str(bench.bin_dir))}:"$PATH"\n'
    )


def up(directory: Path, *, full: bool, real_pods: bool, timeout: float) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    other = _running_up(directory)
    if other is not None:
        print(f"a bench (pid {other}) already runs in {directory}", file=sys.stderr)
        return 1
    for name in (ENV_FILE, PID_FILE):
        (directory / name).unlink(missing_ok=True)
    (directory / PID_FILE).write_text(f"{os.getpid()}\n")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    bench = ControlPlane(directory, full=full, real_pods=real_pods, timeout=timeout)
    try:
        bench.start()
        bench.write_state(os.getpid())
        lines = _env_lines(bench)
        (directory / ENV_FILE).write_text(lines)
        print(lines, end="", flush=True)
        print(
            f"# {bench.mode} bench ready in {bench.startup_seconds:.1f}s at {bench.server}; logs in "
            f"{bench.logs_dir}; Ctrl-C (or `python -m devkit.cluster down --dir {directory}`) stops it",
            file=sys.stderr,
            flush=True,
        )
        while True:
            time.sleep(1)
            bench.check_alive()
    except KeyboardInterrupt:
        return 0
    except BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        bench.stop()
        for name in (ENV_FILE, "bench.json", PID_FILE):
            (directory / name).unlink(missing_ok=True)


def detach(directory: Path, *, full: bool, real_pods: bool, timeout: float) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    if _running_up(directory) is not None:
        print(f"a bench already runs in {directory}", file=sys.stderr)
        return 1
    (directory / ENV_FILE).unlink(missing_ok=True)
    argv = [sys.executable, "-m", "devkit.cluster", "up", f"--dir={directory}", f"--timeout={timeout}"]
    if full:
        argv.append("--full")
    if real_pods:
        argv.append("--real-pods")
    log_path = directory / "up.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=python_env(),
            start_new_session=True,
        )
    while proc.poll() is None:
        if (directory / ENV_FILE).exists():
            print((directory / ENV_FILE).read_text(), end="")
            print(
                f"# bench pid {proc.pid}; stop: python -m devkit.cluster down --dir {directory}",
                file=sys.stderr,
            )
            proc.returncode = 0  # it outlives us by design; don't let Popen.__del__ warn
            return 0
        time.sleep(0.2)
    print(f"bench exited with status {proc.returncode}; {log_path}:\n{tail(log_path)}", file=sys.stderr)
    return 1


def down(directory: Path, *, grace: float = 60.0) -> int:
    pid = _running_up(directory)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _running_up(directory) == pid and time.monotonic() < deadline:
            time.sleep(0.2)
        if _running_up(directory) == pid:
            os.kill(pid, signal.SIGKILL)
    leftovers = stop_recorded(directory)
    unremoved = release_host(directory)  # a real-pod bench's host state, if it died before its teardown
    if unremoved:
        print(f"could not remove {', '.join(unremoved)}", file=sys.stderr)
    if leftovers:
        print(f"killed leftover {', '.join(leftovers)}", file=sys.stderr)
    print(f"bench in {directory} stopped" if pid or leftovers else f"no bench running in {directory}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.cluster", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start a bench and wait for Ctrl-C/SIGTERM")
    shape = p_up.add_mutually_exclusive_group()
    shape.add_argument("--full", action="store_true", help="add controller-manager, scheduler, kwok")
    shape.add_argument("--real-pods", action="store_true", help="full, with a kubelet node in place of kwok")
    p_up.add_argument("--dir", type=Path, help="bench directory (default: a new one under $TMPDIR)")
    p_up.add_argument("--timeout", type=float, default=120.0, help="seconds each component may take")
    p_up.add_argument("--detach", action="store_true", help="run in the background, return when ready")
    p_down = sub.add_parser("down", help="stop a bench started in the background")
    p_down.add_argument("--dir", type=Path, required=True)
    sub.add_parser("images", help="build (or find cached) the images the real-pod bench imports")
    p_prov = sub.add_parser("provisioner", help="(internal) the full bench's hostPath volume provisioner")
    p_prov.add_argument("--kubeconfig", type=Path, required=True)
    p_prov.add_argument("--volumes", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "up":
        directory = (args.dir or Path(tempfile.mkdtemp(prefix="chainlink-bench-"))).resolve()
        if args.detach:
            return detach(directory, full=args.full, real_pods=args.real_pods, timeout=args.timeout)
        return up(directory, full=args.full, real_pods=args.real_pods, timeout=args.timeout)
    if args.command == "down":
        return down(args.dir.resolve())
    if args.command == "images":
        for archive in build_all(log=lambda line: print(line, file=sys.stderr, flush=True)):
            print(archive)
        return 0
    run_provisioner(args.kubeconfig, args.volumes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
