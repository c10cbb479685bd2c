"""Figures of the chart on real pods: bench start, image import, `helm install` -> agent ready, idle RSS.

    python -m bench.realpods [--dir DIR] [--idle-seconds 60]

Starts a real-pod bench (``devkit.cluster`` ``--real-pods``: a kubelet node on containerd, root needed),
or attaches to one already running in DIR, then installs the chart with its defaults and measures:

* the bench's start-up and its image import into containerd (from the bench itself);
* ``helm install`` -> the node pod's agent container ready (the agent has logged in to the node and
  listed it) and -> ``helm install --wait`` returning, wall clock;
* after ``--idle-seconds`` with no ChainlinkJob: each container's RSS, the sum of VmRSS over the
  processes in its cgroup (read on this machine through the container's PID from ``ctr tasks ls``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from devkit.chart import CHART
from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.images import CURL_VERSION
from devkit.cluster.kubelet import containerd_socket

NAMESPACE = "bench-real-pods"
RELEASE = "node-a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realpods", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, help="attach to the real-pod bench running there")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.dir:
        bench = ControlPlane.attach(args.dir)
        return measure(bench, args.idle_seconds)
    with ControlPlane(Path(tempfile.mkdtemp(prefix="bench-real-pods-")), real_pods=True) as bench:
        imported = bench.node.import_seconds if bench.node else 0.0
        print(f"bench start-up: {bench.startup_seconds:.1f} s (image import {imported:.1f} s)")
        return measure(bench, args.idle_seconds)


def measure(bench: ControlPlane, idle_seconds: float) -> int:
    env = bench.env()
    subprocess.run(["kubectl", "create", "namespace", NAMESPACE], env=env, check=True, capture_output=True)
    began = time.monotonic()
    helm = subprocess.Popen(
        [
            "helm",
            "install",
            RELEASE,
            str(CHART),
            "-n",
            NAMESPACE,
            "--wait",
            "--timeout",
            "10m",
            f"--set=tests.image.tag={CURL_VERSION}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    pod = f"{RELEASE}-chainlink-node-0"
    with bench.api_client() as api:
        core = client.CoreV1Api(api)
        agent_ready = _wait(lambda: _ready(core, pod, "agent"), began)
        _, err = helm.communicate(timeout=600)
        if helm.returncode:
            print(f"helm install failed: {err}", file=sys.stderr)
            return 1
        installed = time.monotonic() - began
        print(f"helm install -> agent ready: {agent_ready:.1f} s; -> --wait returned: {installed:.1f} s")
        time.sleep(idle_seconds)
        print(f"RSS after {idle_seconds:.0f} s idle (no ChainlinkJob):")
        for name, rss in _container_rss(bench, core).items():
            print(f"  {name:<48} {rss / 2**20:7.1f} MiB")
    subprocess.run(
        ["helm", "uninstall", RELEASE, "-n", NAMESPACE, "--wait"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        ["kubectl", "delete", "namespace", NAMESPACE, "--wait=false"],
        env=env,
        check=True,
        capture_output=True,
    )
    return 0


def _wait(ready: Any, began: float, timeout: float = 600) -> float:
    while not ready():
        if time.monotonic() - began > timeout:
            raise TimeoutError("not ready")
        time.sleep(0.2)
    return time.monotonic() - began


def _ready(core: Any, pod: str, container: str) -> bool:
    try:
        status = core.read_namespaced_pod(pod, NAMESPACE).status
    except client.exceptions.ApiException:
        return False
    every = (status.container_statuses or []) + (status.init_container_statuses or [])
    return any(s.name == container and s.ready for s in every)


def _container_rss(bench: ControlPlane, core: Any) -> dict[str, int]:
    socket = containerd_socket(bench.directory)
    tasks = subprocess.run(
        ["ctr", f"--address={socket}", "--namespace=k8s.io", "tasks", "ls"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[1:]
    pids = {line.split()[0]: int(line.split()[1]) for line in tasks if line.split()[2] == "RUNNING"}
    rss = {}
    for pod in core.list_namespaced_pod(NAMESPACE).items:
        for status in (pod.status.container_statuses or []) + (pod.status.init_container_statuses or []):
            container_id = (status.container_id or "").removeprefix("containerd://")
            if container_id in pids:
                rss[f"{pod.metadata.name}/{status.name}"] = _cgroup_rss(pids[container_id])
    return rss


def _cgroup_rss(pid: int) -> int:
    memory = next(
        line.split(":", 2)[2]
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        if line.split(":", 2)[1] == "memory"
    )
    total = 0
    for member in Path(f"/sys/fs/cgroup/memory{memory}/cgroup.procs").read_text().split():
        status = Path(f"/proc/{member}/status").read_text()
        total += next(
            int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")
        )
    return total


if __name__ == "__main__":
    sys.exit(main())
