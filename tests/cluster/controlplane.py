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
``etcd/`` (data; removed on stop), ``volumes/`` (hostPath PVs), ``kwok.yaml`` (Stages),
``components.json`` (pids, for ``python -m tests.cluster down``).

Children are in their own session (a terminal Ctrl-C reaches only Python, which then stops them in
order) and get SIGTERM from the kernel if the starting thread dies (PR_SET_PDEATHSIG), so a killed test
run leaves nothing behind. Start a bench from the main thread: the death signal follows the thread.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime as dt
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.client.rest import ApiException

from tests.cluster.images import build_all
from tests.cluster.kubelet import NODE_IP, KubeletNode, missing_host_tools
from tests.cluster.kubelet import NODE_NAME as REAL_NODE_NAME
from tests.cluster.process import BenchError, Component, bench_alive, pid_alive, tail
from tests.cluster.tools import REPO_ROOT, TOOLS_SCRIPT, pinned_versions, tools_bin_dir

__all__ = [
    "REPO_ROOT",
    "TOOLS_SCRIPT",
    "BenchError",
    "Component",
    "ControlPlane",
    "pinned_versions",
    "tail",
    "tools_bin_dir",
]

REQUIRED_TOOLS = ("etcd", "kube-apiserver", "kubectl")
FULL_TOOLS = ("kube-controller-manager", "kube-scheduler", "kwok")
REAL_POD_TOOLS = ("kubelet", "kube-proxy", "coredns")

NODE_NAME = "kwok-node-0"
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
STORAGE_CLASS = "standard"
PROVISIONER = "bench.chainlink-k8s.local/hostpath"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.1/16"

# Pod Stages for kwok. With any Pod Stage in --config kwok drops ALL its built-in Pod Stages, so the
# first three are copied verbatim from sigs.k8s.io/kwok@v0.7.0 kustomize/stage/pod/fast/ (pod-ready,
# pod-complete, pod-delete: the defaults kwok v0.7.0 embeds). The fourth is ours: helm test hooks are
# plain Pods (no Job owner), which the defaults leave Running forever. Node Stages are not given, so
# kwok keeps its defaults (node-initialize + node-heartbeat when --node-lease-duration-seconds > 0).
KWOK_POD_STAGES = r"""
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
  next:
    statusTemplate: |
      {{ $now := Now }}

      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      {{ range .spec.readinessGates }}
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: {{ .conditionType | Quote }}
      {{ end }}

      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}

      initContainerStatuses:
      {{ range .spec.initContainers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        {{ if eq .restartPolicy "Always" }}
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
        {{ else }}
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
        {{ end }}
      {{ end }}

      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-complete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.metadata.ownerReferences.[].kind'
      operator: 'In'
      values:
      - 'Job'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      {{ $origin := index $root.status.containerStatuses $index }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Succeeded
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    finalizers:
      empty: true
    delete: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-helm-test-complete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.metadata.annotations["helm.sh/hook"]'
      operator: 'In'
      values:
      - 'test'
      - 'test-success'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: PodCompleted
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
        reason: PodCompleted
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Succeeded
"""  # noqa: E501 - pod-ready's podIP line is kept verbatim from upstream


def missing_tools(bin_dir: Path, *, full: bool, real_pods: bool = False) -> list[str]:
    names = REQUIRED_TOOLS + (FULL_TOOLS if full else ()) + (REAL_POD_TOOLS if real_pods else ())
    missing = [n for n in names if not os.access(bin_dir / n, os.X_OK)]
    return missing + (missing_host_tools() if real_pods else [])


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out on 127.0.0.1; all held open together so none repeats."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


# --------------------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    sa_private_key: Path
    sa_public_key: Path


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_pki(directory: Path, service_ip: str, extra_ips: Sequence[str] = ()) -> Pki:
    """A CA, a serving certificate for 127.0.0.1/localhost (and extra_ips) and a ServiceAccount RSA key pair.

    The extensions satisfy strict X.509 checks (Python 3.13's VERIFY_X509_STRICT, Go): the CA has
    keyUsage keyCertSign + SKI, the leaf a SAN + AKI.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=365)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chainlink-k8s bench CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            _key_usage(cert_sign=True),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address(service_ip)),
        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in extra_ips),
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"),
        x509.DNSName("kubernetes.default.svc.cluster.local"),
    ]
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(cert_sign=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    pki = Pki(
        ca_cert=directory / "ca.crt",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        sa_private_key=directory / "sa.key",
        sa_public_key=directory / "sa.pub",
    )
    pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.serving_cert.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(pki.serving_key, _pem_key(leaf_key))
    _write_private(directory / "ca.key", _pem_key(ca_key))
    _write_private(pki.sa_private_key, _pem_key(sa_key))
    pki.sa_public_key.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


def write_kubeconfig(
    path: Path, *, server: str, ca_cert: Path, user: str, token: str, namespace: str | None = None
) -> Path:
    """A self-contained kubeconfig (CA embedded) authenticating with a bearer token."""
    context: dict[str, str] = {"cluster": "bench", "user": user}
    if namespace:
        context["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "bench",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "bench", "context": context}],
        "current-context": "bench",
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path


# ------------------------------------------------------------------------------------------ processes


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
        """A handle on a bench that ``python -m tests.cluster up`` runs; ``stop()`` leaves it alone."""
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
        record = self.directory / "components.json"
        if bench_alive(self.directory):
            raise BenchError(
                f"a bench is already running in {self.directory}; "
                f"stop it with `python -m tests.cluster down --dir {self.directory}`"
            )
        self._owns_directory = True
        for stale in (self.etcd_dir, self.volumes_dir, self.logs_dir, self.pki_dir):
            shutil.rmtree(stale, ignore_errors=True)
        for stale_file in (record, self.directory / "bench.json"):
            stale_file.unlink(missing_ok=True)
        self.logs_dir.mkdir()
        service_ip = str(next(ipaddress.ip_network(SERVICE_CIDR).hosts()))
        self.pki = make_pki(self.pki_dir, service_ip, [NODE_IP] if self.real_pods else [])
        if self.real_pods:
            self.node = KubeletNode(
                self.directory,
                bin_dir=self.bin_dir,
                kubeconfig=self.kubeconfig,
                spawn=self._spawn,
                wait=self._wait,
            )
        self.token_file = self.pki_dir / "tokens.csv"
        _write_private(self.token_file, f'{self.admin_token},admin,admin,"system:masters"\n'.encode())
        self._ssl = ssl.create_default_context(cafile=str(self.ca_file))

    def _spawn(self, name: str, argv: list[str], **kwargs: Any) -> Component:
        component = Component(name, argv, self.logs_dir / f"{name}.log", **kwargs)
        component.start()
        self.components.append(component)
        record = {c.name: {"pid": c.pid, "argv0": c.argv[0]} for c in self.components}
        (self.directory / "components.json").write_text(json.dumps(record, indent=2))
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

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _start_etcd(self) -> None:
        client_port, peer_port = free_ports(2)
        self.etcd_url = f"http://127.0.0.1:{client_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        etcd = self._spawn(
            "etcd",
            [
                self._bin("etcd"),
                "--name=bench",
                f"--data-dir={self.etcd_dir}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=bench={peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
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
        argv = [
            self._bin("kube-apiserver"),
            f"--etcd-servers={self.etcd_url}",
            f"--bind-address={address}",
            f"--advertise-address={address}",
            f"--secure-port={port}",
            f"--tls-cert-file={self.pki.serving_cert}",
            f"--tls-private-key-file={self.pki.serving_key}",
            f"--client-ca-file={self.pki.ca_cert}",
            f"--token-auth-file={self.token_file}",
            # Only so controller-manager and scheduler find a complete extension-apiserver-authentication
            # ConfigMap (else they log errors at start-up); no front-proxy certificate is ever issued.
            f"--requestheader-client-ca-file={self.pki.ca_cert}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--authorization-mode=Node,RBAC",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={self.pki.sa_public_key}",
            f"--service-account-signing-key-file={self.pki.sa_private_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            "--profiling=false",
        ]
        if self.real_pods:
            argv.append("--kubelet-preferred-address-types=InternalIP")  # not its hostname: no DNS for it
        else:
            # The `kubernetes` Service cannot point at a loopback address (the lease reconciler logs an
            # error every 10 s trying): leave it without endpoints.
            argv.append("--endpoint-reconciler-type=none")
        if not self.full:
            # Nothing creates the `default` ServiceAccount without kube-controller-manager, and this
            # plugin rejects Pods whose ServiceAccount is missing.
            argv.append("--disable-admission-plugins=ServiceAccount")
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
        kube = str(self.kubeconfig)
        serving = [
            f"--tls-cert-file={self.pki.serving_cert}",
            f"--tls-private-key-file={self.pki.serving_key}",
        ]
        delegated = [f"--authentication-kubeconfig={kube}", f"--authorization-kubeconfig={kube}"]
        kcm = self._spawn(
            "kube-controller-manager",
            [
                self._bin("kube-controller-manager"),
                f"--kubeconfig={kube}",
                *delegated,
                *serving,
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                f"--root-ca-file={self.pki.ca_cert}",
                f"--service-account-private-key-file={self.pki.sa_private_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                "--controllers=*",
                f"--flex-volume-plugin-dir={self.directory / 'flexvolume'}",  # default is under /usr/libexec
                "--use-service-account-credentials=false",
                "--kube-api-qps=1000",
                "--kube-api-burst=1000",
                "--profiling=false",
            ],
        )
        scheduler = self._spawn(
            "kube-scheduler",
            [
                self._bin("kube-scheduler"),
                f"--kubeconfig={kube}",
                *delegated,
                *serving,
                "--bind-address=127.0.0.1",
                f"--secure-port={sched_port}",
                "--leader-elect=false",
                "--profiling=false",
            ],
        )
        kwok_config = self.directory / "kwok.yaml"
        kwok_config.write_text(KWOK_POD_STAGES.lstrip())
        kwok = (
            None
            if self.node is not None
            else self._spawn(
                "kwok",
                [
                    self._bin("kwok"),
                    f"--kubeconfig={kube}",
                    f"--config={kwok_config}",
                    "--manage-all-nodes=false",
                    "--manage-nodes-with-annotation-selector={}={}".format(*KWOK_NODE_ANNOTATION),
                    f"--cidr={POD_CIDR}",
                    "--node-ip=127.0.0.1",
                    # kwokctl's value: kwok renews a node Lease like a kubelet. (With 0, v0.7.0 keeps no
                    # Lease yet picks its 10-minute "with lease" status heartbeat; the node still stayed
                    # Ready in a 2-minute trial, but a bench must not depend on that.)
                    "--node-lease-duration-seconds=40",
                    f"--server-address=127.0.0.1:{kwok_port}",
                ],
                env={
                    **os.environ,
                    "HOME": str(self.directory / "kwok-home"),
                },  # ignore the user's ~/.kwok/kwok.yaml
            )
        )
        self.volumes_dir.mkdir(parents=True, exist_ok=True)
        provisioner = self._spawn(
            "provisioner",
            [
                sys.executable,
                "-m",
                "tests.cluster",
                "provisioner",
                f"--kubeconfig={kube}",
                f"--volumes={self.volumes_dir}",
            ],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            },
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
        if kwok is not None:
            self._wait("kwok /healthz", lambda: _https_ok(f"http://127.0.0.1:{kwok_port}/healthz", ctx), kwok)
            self._wait(
                f"node {NODE_NAME} Ready and untainted", lambda: _node_schedulable(core, NODE_NAME), kwok
            )
        else:
            node = REAL_NODE_NAME
            self._wait(f"node {node} Ready and untainted", lambda: _node_schedulable(core, node), kcm)
        self._wait(
            "ServiceAccount default/default (controller-manager)",
            lambda: _exists(lambda: core.read_namespaced_service_account("default", "default")),
            kcm,
        )
        self._wait("provisioner", lambda: "provisioner ready" in tail(provisioner.log_path), provisioner)

    def _create_cluster_objects(self, api: Any) -> None:
        core = client.CoreV1Api(api)
        key, value = KWOK_NODE_ANNOTATION
        capacity = {"cpu": "64", "memory": "256Gi", "pods": "250", "ephemeral-storage": "1Ti"}
        if self.node is None:
            core.create_node(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": NODE_NAME,
                        "annotations": {key: value, "node.alpha.kubernetes.io/ttl": "0"},
                        "labels": {
                            "kubernetes.io/hostname": NODE_NAME,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "type": "kwok",
                        },
                    },
                    "status": {"allocatable": capacity, "capacity": capacity},
                }
            )
        client.StorageV1Api(api).create_storage_class(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": STORAGE_CLASS,
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": PROVISIONER,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
            }
        )

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
        _write_private(tmp, json.dumps(info, indent=2).encode())
        tmp.replace(self.directory / "bench.json")


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


# ------------------------------------------------------------------------------------ provisioner


def run_provisioner(kubeconfig: Path, volumes: Path, *, interval: float = 0.3) -> None:
    """Dynamic hostPath provisioning for StorageClass ``standard`` until SIGTERM.

    kube-controller-manager's PV controller marks a PVC of an external provisioner's class with
    ``volume.kubernetes.io/storage-provisioner``; we answer with a PV pre-bound to it (size and access
    modes copied from the claim) and delete our PVs once Released. Polling keeps it simple: on a bench
    two list calls a tick are nothing.
    """
    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    api = kube_config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(api)
    print("provisioner ready", flush=True)
    while not stop:
        try:
            _provision_tick(core, volumes)
        except Exception as e:  # the API server may be restarting or shutting down: keep going
            print(f"provisioner: {type(e).__name__}: {e}", flush=True)
        time.sleep(interval)
    api.close()


def _provision_tick(core: Any, volumes: Path) -> None:
    pvs = {pv.metadata.name: pv for pv in core.list_persistent_volume().items}
    for pvc in core.list_persistent_volume_claim_for_all_namespaces().items:
        annotations = pvc.metadata.annotations or {}
        wanted = annotations.get("volume.kubernetes.io/storage-provisioner") or annotations.get(
            "volume.beta.kubernetes.io/storage-provisioner"
        )
        name = f"pvc-{pvc.metadata.uid}"
        if wanted != PROVISIONER or pvc.spec.volume_name or pvc.metadata.deletion_timestamp or name in pvs:
            continue
        path = volumes / name
        path.mkdir(parents=True, exist_ok=True)
        # World-writable, as local-path-provisioner makes its directories: a hostPath volume gets no
        # fsGroup, and real pods run as their images' non-root users.
        path.chmod(0o777)
        core.create_persistent_volume(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
                "spec": {
                    "capacity": {"storage": pvc.spec.resources.requests["storage"]},
                    "accessModes": pvc.spec.access_modes,
                    "volumeMode": pvc.spec.volume_mode or "Filesystem",
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": pvc.spec.storage_class_name,
                    "claimRef": {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "namespace": pvc.metadata.namespace,
                        "name": pvc.metadata.name,
                        "uid": pvc.metadata.uid,
                    },
                    "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                },
            }
        )
        print(f"provisioned {name} for {pvc.metadata.namespace}/{pvc.metadata.name}", flush=True)
    for name, pv in pvs.items():
        ours = (pv.metadata.annotations or {}).get("pv.kubernetes.io/provisioned-by") == PROVISIONER
        if ours and pv.status.phase in ("Released", "Failed") and not pv.metadata.deletion_timestamp:
            with contextlib.suppress(ApiException):
                core.delete_persistent_volume(name)
            shutil.rmtree(volumes / name, ignore_errors=True)
            print(f"deleted {name}", flush=True)


# ---------------------------------------------------------------------------------- pid-file helpers


def stop_recorded(directory: Path, grace: float = 10.0) -> list[str]:
    """Kill what components.json lists as still running (by pid, checked against its argv[0])."""
    record = directory / "components.json"
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
