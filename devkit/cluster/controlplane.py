"""Start and stop a real Kubernetes control plane from locally built binaries (no Docker).

Two shapes, both on free loopback ports inside one directory:

* light: etcd + kube-apiserver (RBAC, ServiceAccount tokens; no controllers, so Deployments never get
  Pods, namespaces never finish deleting, and the ServiceAccount admission plugin is off because nothing
  would create the ``default`` ServiceAccount a Pod needs);
* full: light + kube-controller-manager + kube-scheduler + kwok (one fake node ``kwok-node-0``; Pods
  become Ready, Job Pods and ``helm.sh/hook: test`` Pods go to Succeeded) + a tiny hostPath volume
  provisioner behind the default StorageClass ``standard``, so PVCs bind and ``helm install --wait``
  finishes.

The binaries come from ``scripts/tools.sh`` (``bash scripts/tools.sh bin-dir``). Directory layout:
``pki/`` (CA, serving cert, ServiceAccount keys), ``kubeconfig`` (admin), ``logs/<component>.log``,
``etcd/`` (data; removed on stop), ``volumes/`` (hostPath PVs), ``components.json`` (pids, for
``python -m devkit.cluster down``).

This module is the orchestration: it picks ports, starts the components in order and waits for each. The
parts: ``pki`` (certificates, keys, tokens, kubeconfigs), ``flags`` (the Kubernetes components' command
lines), ``kwok`` and ``kwokstages/`` (the fake node), ``provisioner`` (PVs), ``kubelet`` (the real node),
``process`` (child processes) and ``tools`` (where the binaries are).

Children are in their own session (a terminal Ctrl-C reaches only Python, which then stops them in
order) and get SIGTERM from the kernel if the starting thread dies (PR_SET_PDEATHSIG), so a killed test
run leaves nothing behind. Start a bench from the main thread: the death signal follows the thread.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from kubernetes import client
from kubernetes.client.rest import ApiException

from devkit.cluster import flags, kwok, provisioner
from devkit.cluster.images import build_all
from devkit.cluster.kubelet import NODE_IP, KubeletNode, missing_host_tools
from devkit.cluster.kubelet import NODE_NAME as REAL_NODE_NAME
from devkit.cluster.kwok import NODE_NAME
from devkit.cluster.pki import make_pki, write_kubeconfig, write_private, write_token_file
from devkit.cluster.process import (
    COMPONENTS_FILE,
    BenchError,
    Component,
    bench_alive,
    pid_alive,
    python_env,
    record_components,
    tail,
)
from devkit.cluster.provisioner import STORAGE_CLASS
from devkit.cluster.tools import REPO_ROOT, pinned_versions, tools_bin_dir

# NODE_NAME, STORAGE_CLASS and the helpers from process and tools are re-exported for the tests that
# import them from here.
__all__ = [
    "NODE_NAME",
    "STORAGE_CLASS",
    "BenchError",
    "Component",
    "ControlPlane",
    "free_ports",
    "pinned_versions",
    "tools_bin_dir",
]

REQUIRED_TOOLS = ("etcd", "kube-apiserver", "kubectl")
FULL_TOOLS = ("kube-controller-manager", "kube-scheduler", "kwok")
REAL_POD_TOOLS = ("kubelet", "kube-proxy", "coredns")


def missing_tools(bin_dir: Path, *, full: bool, real_pods: bool = False) -> list[str]:
    names = REQUIRED_TOOLS + (FULL_TOOLS if full else ()) + (REAL_POD_TOOLS if real_pods else ())
    missing = [n for n in names if not os.access(bin_dir / n, os.X_OK)]
    return missing + (missing_host_tools() if real_pods else [])


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports the kernel hands out on host; all held open together so none repeats."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for s in socks:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]


# ------------------------------------------------------------------------------------ readiness probes


def _https_ok(url: str, context: ssl.SSLContext, token: str | None = None) -> bool:
    """True when GET url answers 200 with body ``ok``."""
    parsed = re.fullmatch(r"(https?)://([^/:]+):(\d+)(/.*)", url)
    if parsed is None:
        raise ValueError(url)
    scheme, host, port, path = parsed.groups()
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=3)
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=3)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        resp = conn.getresponse()
        return resp.status == 200 and resp.read().strip() == b"ok"
    finally:
        conn.close()


def _exists(read: Callable[[], object]) -> bool:
    try:
        read()
    except ApiException as e:
        if e.status == 404:
            return False
        raise
    return True


def _node_schedulable(core: Any, name: str) -> bool:
    node = core.read_node(name)
    ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
    blocking = [t for t in node.spec.taints or [] if t.effect in ("NoSchedule", "NoExecute")]
    return ready and not blocking


# --------------------------------------------------------------------------------------- the bench


class ControlPlane:
    """etcd + kube-apiserver, and with ``full=True`` controller-manager, scheduler, kwok, provisioner.

    Use as a context manager, or call ``start()`` and ``stop()`` (``stop`` is idempotent and also runs
    at interpreter exit if forgotten)::

        with ControlPlane(tmp_dir, full=True) as bench:
            subprocess.run(["helm", "install", ...], env=bench.env(), check=True)
    """

    def __init__(
        self,
        directory: Path,
        *,
        full: bool = False,
        real_pods: bool = False,
        bin_dir: Path | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.full = full or real_pods
        self.real_pods = real_pods
        self.node: KubeletNode | None = None
        self.bin_dir = bin_dir or tools_bin_dir()
        self.timeout = timeout
        self.attached = False
        self.startup_seconds: float | None = None
        self.components: list[Component] = []
        self.admin_token = secrets.token_urlsafe(32)
        self.kubeconfig = self.directory / "kubeconfig"
        self.pki_dir = self.directory / "pki"
        self.ca_file = self.pki_dir / "ca.crt"
        self.logs_dir = self.directory / "logs"
        self.volumes_dir = self.directory / "volumes"
        self.etcd_dir = self.directory / "etcd"
        self.server = ""
        self._api: Any = None
        self._ssl: ssl.SSLContext | None = None
        self._owns_directory = False  # set once start() has claimed (and cleaned) the directory

    # -- public API -------------------------------------------------------------------------------

    @classmethod
    def attach(cls, directory: Path) -> ControlPlane:
        """A handle on a bench that ``python -m devkit.cluster up`` runs; ``stop()`` leaves it alone."""
        directory = Path(directory).resolve()
        try:
            info = json.loads((directory / "bench.json").read_text())
        except FileNotFoundError:
            raise BenchError(f"no running bench in {directory} (bench.json missing)") from None
        if not pid_alive(int(info["pid"]), info["python"]):
            raise BenchError(f"the bench in {directory} is not running (pid {info['pid']} is gone)")
        bench = cls(
            directory,
            full=info["mode"] != "light",
            real_pods=info["mode"] == "real-pods",
            bin_dir=Path(info["bin_dir"]),
        )
        bench.attached = True
        bench.server = info["server"]
        bench.admin_token = info["admin_token"]
        return bench

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def mode(self) -> str:
        return "real-pods" if self.real_pods else "full" if self.full else "light"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for subprocesses: tools bin dir first on PATH, KUBECONFIG set."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = os.pathsep.join(p for p in (str(self.bin_dir), env.get("PATH", "")) if p)
        env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def api_client(self, token: str | None = None) -> Any:
        """A new ``kubernetes.client.ApiClient`` (admin unless a bearer token is given); close it."""
        cfg = client.Configuration()
        cfg.host = self.server
        cfg.ssl_ca_cert = str(self.ca_file)
        # The whole header value under the pre-36 key: 36.x looks the prefix up under "BearerToken" only.
        cfg.api_key = {"authorization": f"Bearer {token or self.admin_token}"}
        return client.ApiClient(cfg)

    def service_account_token(
        self, namespace: str, name: str, *, expiration_seconds: int = 3600, audiences: Sequence[str] = ()
    ) -> str:
        """A real, signed token for ServiceAccount namespace/name (TokenRequest API).

        Same as ``kubectl create token NAME -n NAMESPACE``; the default audience is the API server's.
        """
        spec = client.V1TokenRequestSpec(audiences=list(audiences), expiration_seconds=expiration_seconds)
        body = client.AuthenticationV1TokenRequest(spec=spec)
        resp = client.CoreV1Api(self._admin()).create_namespaced_service_account_token(name, namespace, body)
        return str(resp.status.token)

    def service_account_kubeconfig(
        self, namespace: str, name: str, path: Path | None = None, *, expiration_seconds: int = 3600
    ) -> Path:
        """Write a kubeconfig acting as ServiceAccount namespace/name (default namespace set to its own)."""
        token = self.service_account_token(namespace, name, expiration_seconds=expiration_seconds)
        path = path or self.directory / f"kubeconfig-{namespace}-{name}"
        return write_kubeconfig(
            path,
            server=self.server,
            ca_cert=self.ca_file,
            user=f"system:serviceaccount:{namespace}:{name}",
            token=token,
            namespace=namespace,
        )

    def check_alive(self) -> None:
        """Raise BenchError (with the log tail) if any component has exited since start."""
        for c in self.components:
            c.ensure_running()

    def start(self) -> Self:
        if self.attached:
            return self
        missing = missing_tools(self.bin_dir, full=self.full, real_pods=self.real_pods)
        if missing:
            raise BenchError(
                f"missing {', '.join(missing)} in {self.bin_dir}: run `bash scripts/tools.sh` first"
            )
        began = time.monotonic()
        atexit.register(self.stop)
        try:
            images = self._real_pod_images() if self.real_pods else []
            self._prepare_directory()
            if self.node is not None:
                self.node.prepare_network()
            self._start_etcd()
            self._start_apiserver()
            if self.full:
                self._start_full(images)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop every component (dependents first, etcd last). Safe to call twice."""
        if self.attached:
            return
        atexit.unregister(self.stop)
        try:
            if self.node is not None and self.components:
                self.node.drain(self._admin())
            if self._api is not None:
                self._api.close()
                self._api = None
            for c in reversed(self.components):
                c.stop()
        finally:
            for c in self.components:  # anything skipped by an interrupt above
                c.stop(grace=0)
            if self.node is not None:
                left = self.node.cleanup_host()
                if left:
                    print(f"bench: could not remove {', '.join(left)}", file=sys.stderr)
            if self._owns_directory:
                shutil.rmtree(self.etcd_dir, ignore_errors=True)
                shutil.rmtree(self.volumes_dir, ignore_errors=True)

    # -- start-up steps ----------------------------------------------------------------------------

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if bench_alive(self.directory):
            raise BenchError(
                f"a bench is already running in {self.directory}; "
                f"stop it with `python -m devkit.cluster down --dir {self.directory}`"
            )
        self._owns_directory = True
        for stale in (self.etcd_dir, self.volumes_dir, self.logs_dir, self.pki_dir):
            shutil.rmtree(stale, ignore_errors=True)
        for stale_file in (self.directory / COMPONENTS_FILE, self.directory / "bench.json"):
            stale_file.unlink(missing_ok=True)
        self.logs_dir.mkdir()
        service_ip = str(next(ipaddress.ip_network(flags.SERVICE_CIDR).hosts()))
        self.pki = make_pki(self.pki_dir, service_ip, [NODE_IP] if self.real_pods else [])
        if self.real_pods:
            self.node = KubeletNode(
                self.directory,
                bin_dir=self.bin_dir,
                kubeconfig=self.kubeconfig,
                spawn=self._spawn,
                wait=self._wait,
            )
        self.token_file = write_token_file(
            self.pki_dir / "tokens.csv", token=self.admin_token, user="admin", group="system:masters"
        )
        self._ssl = ssl.create_default_context(cafile=str(self.ca_file))

    def _spawn(self, name: str, argv: list[str], **kwargs: Any) -> Component:
        component = Component(name, argv, self.logs_dir / f"{name}.log", **kwargs)
        component.start()
        self.components.append(component)
        record_components(self.directory, self.components)
        return component

    def _wait(
        self,
        what: str,
        probe: Callable[[], bool],
        blame: Component,
        timeout: float | None = None,
    ) -> None:
        """Poll probe until True; fail fast if any component exits, with blame's log on timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        last_error = "probe returned False"
        delay = 0.05
        while True:
            self.check_alive()
            try:
                if probe():
                    return
            except Exception as e:  # connection refused, 403 while RBAC bootstraps...
                last_error = f"{type(e).__name__}: {e}"
            if time.monotonic() > deadline:
                raise BenchError(
                    blame.describe(f"{what} not ready within {timeout or self.timeout:.0f}s ({last_error})")
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def _start_etcd(self) -> None:
        client_port, peer_port = free_ports(2)
        self.etcd_url = f"http://127.0.0.1:{client_port}"
        etcd = self._spawn(
            "etcd",
            flags.etcd(
                self.bin_dir,
                data_dir=self.etcd_dir,
                client_url=self.etcd_url,
                peer_url=f"http://127.0.0.1:{peer_port}",
            ),
        )

        def healthy() -> bool:
            conn = http.client.HTTPConnection("127.0.0.1", client_port, timeout=3)
            try:
                conn.request("GET", "/health")
                resp = conn.getresponse()
                return resp.status == 200 and json.loads(resp.read()).get("health") == "true"
            finally:
                conn.close()

        self._wait("etcd", healthy, etcd)

    def _start_apiserver(self) -> None:
        (port,) = free_ports(1)
        # With real pods it listens on the bench bridge's address: the pods reach it there (through the
        # `kubernetes` Service), and it reaches the kubelet there.
        address = NODE_IP if self.real_pods else "127.0.0.1"
        self.server = f"https://{address}:{port}"
        argv = flags.kube_apiserver(
            self.bin_dir,
            etcd_url=self.etcd_url,
            address=address,
            port=port,
            issuer=self.server,
            pki=self.pki,
            token_file=self.token_file,
            full=self.full,
            real_pods=self.real_pods,
        )
        apiserver = self._spawn("kube-apiserver", argv)
        assert self._ssl is not None
        ctx = self._ssl
        self._wait("kube-apiserver /readyz", lambda: _https_ok(f"{self.server}/readyz", ctx), apiserver)
        self._write_admin_kubeconfig()

    def _write_admin_kubeconfig(self) -> None:
        write_kubeconfig(
            self.kubeconfig, server=self.server, ca_cert=self.ca_file, user="admin", token=self.admin_token
        )

    def _admin(self) -> Any:
        if self._api is None:
            self._api = self.api_client()
        return self._api

    def _real_pod_images(self) -> list[Path]:
        return build_all(log=lambda line: print(line, file=sys.stderr, flush=True))

    def _start_full(self, images: Sequence[Path]) -> None:
        kcm_port, sched_port, kwok_port = free_ports(3)
        kcm = self._spawn(
            "kube-controller-manager",
            flags.kube_controller_manager(
                self.bin_dir,
                kubeconfig=self.kubeconfig,
                pki=self.pki,
                port=kcm_port,
                flexvolume_dir=self.directory / "flexvolume",
            ),
        )
        scheduler = self._spawn(
            "kube-scheduler",
            flags.kube_scheduler(self.bin_dir, kubeconfig=self.kubeconfig, pki=self.pki, port=sched_port),
        )
        fake_node = (
            None
            if self.node is not None
            else self._spawn(
                "kwok",
                kwok.argv(self.bin_dir, kubeconfig=self.kubeconfig, port=kwok_port),
                env=kwok.env(self.directory / "kwok-home"),
            )
        )
        self.volumes_dir.mkdir(parents=True, exist_ok=True)
        pv_provisioner = self._spawn(
            "provisioner",
            provisioner.argv(kubeconfig=self.kubeconfig, volumes=self.volumes_dir),
            cwd=REPO_ROOT,
            env=python_env(),
        )

        api = self._admin()
        self._create_cluster_objects(api)
        if self.node is not None:
            self.node.start(images)

        assert self._ssl is not None
        ctx = self._ssl
        token = self.admin_token
        self._wait(
            "kube-controller-manager /healthz",
            lambda: _https_ok(f"https://127.0.0.1:{kcm_port}/healthz", ctx, token),
            kcm,
        )
        self._wait(
            "kube-scheduler /healthz",
            lambda: _https_ok(f"https://127.0.0.1:{sched_port}/healthz", ctx, token),
            scheduler,
        )
        core = client.CoreV1Api(api)
        if fake_node is not None:
            self._wait(
                "kwok /healthz", lambda: _https_ok(f"http://127.0.0.1:{kwok_port}/healthz", ctx), fake_node
            )
            self._wait(
                f"node {NODE_NAME} Ready and untainted", lambda: _node_schedulable(core, NODE_NAME), fake_node
            )
        else:
            node = REAL_NODE_NAME
            self._wait(f"node {node} Ready and untainted", lambda: _node_schedulable(core, node), kcm)
        self._wait(
            "ServiceAccount default/default (controller-manager)",
            lambda: _exists(lambda: core.read_namespaced_service_account("default", "default")),
            kcm,
        )
        self._wait("provisioner", lambda: provisioner.READY in tail(pv_provisioner.log_path), pv_provisioner)

    def _create_cluster_objects(self, api: Any) -> None:
        if self.node is None:
            client.CoreV1Api(api).create_node(kwok.node())
        client.StorageV1Api(api).create_storage_class(provisioner.storage_class())

    def write_state(self, python_pid: int) -> None:
        """Record how to reach this bench (read by ``attach`` and ``down``)."""
        info = {
            "pid": python_pid,
            "python": Path(f"/proc/{python_pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode(),
            "mode": self.mode,
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "bin_dir": str(self.bin_dir),
            "admin_token": self.admin_token,
            "startup_seconds": self.startup_seconds,
        }
        tmp = self.directory / "bench.json.tmp"
        write_private(tmp, json.dumps(info, indent=2).encode())
        tmp.replace(self.directory / "bench.json")
