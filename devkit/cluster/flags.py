"""Command lines of etcd, kube-apiserver, kube-controller-manager and kube-scheduler on the bench.

Each function only builds an argv; ControlPlane picks the ports, starts the processes and waits for them.
"""

from __future__ import annotations

from pathlib import Path

from devkit.cluster.pki import Pki

SERVICE_CIDR = "10.96.0.0/16"


def etcd(bin_dir: Path, *, data_dir: Path, client_url: str, peer_url: str) -> list[str]:
    return [
        str(bin_dir / "etcd"),
        "--name=bench",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=bench={peer_url}",
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]


def kube_apiserver(
    bin_dir: Path,
    *,
    etcd_url: str,
    address: str,
    port: int,
    issuer: str,
    pki: Pki,
    token_file: Path,
    full: bool,
    real_pods: bool,
) -> list[str]:
    """TLS, static-token and ServiceAccount-token authentication, RBAC; issuer is the server's own URL."""
    argv = [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers={etcd_url}",
        f"--bind-address={address}",
        f"--advertise-address={address}",
        f"--secure-port={port}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--token-auth-file={token_file}",
        # Only so controller-manager and scheduler find a complete extension-apiserver-authentication
        # ConfigMap (else they log errors at start-up); no front-proxy certificate is ever issued.
        f"--requestheader-client-ca-file={pki.ca_cert}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--authorization-mode=Node,RBAC",
        f"--service-account-issuer={issuer}",
        f"--service-account-key-file={pki.sa_public_key}",
        f"--service-account-signing-key-file={pki.sa_private_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        "--profiling=false",
    ]
    if real_pods:
        argv.append("--kubelet-preferred-address-types=InternalIP")  # not its hostname: no DNS for it
    else:
        # The `kubernetes` Service cannot point at a loopback address (the lease reconciler logs an
        # error every 10 s trying): leave it without endpoints.
        argv.append("--endpoint-reconciler-type=none")
    if not full:
        # Nothing creates the `default` ServiceAccount without kube-controller-manager, and this
        # plugin rejects Pods whose ServiceAccount is missing.
        argv.append("--disable-admission-plugins=ServiceAccount")
    return argv


def kube_controller_manager(
    bin_dir: Path, *, kubeconfig: Path, pki: Pki, port: int, flexvolume_dir: Path
) -> list[str]:
    return [
        str(bin_dir / "kube-controller-manager"),
        *_client_and_serving(kubeconfig, pki),
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--root-ca-file={pki.ca_cert}",
        f"--service-account-private-key-file={pki.sa_private_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--leader-elect=false",
        "--controllers=*",
        f"--flex-volume-plugin-dir={flexvolume_dir}",  # default is under /usr/libexec
        "--use-service-account-credentials=false",
        "--kube-api-qps=1000",
        "--kube-api-burst=1000",
        "--profiling=false",
    ]


def kube_scheduler(bin_dir: Path, *, kubeconfig: Path, pki: Pki, port: int) -> list[str]:
    return [
        str(bin_dir / "kube-scheduler"),
        *_client_and_serving(kubeconfig, pki),
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--leader-elect=false",
        "--profiling=false",
        # A pod whose requeue event the scheduler misses waits in unschedulablePods for this long, checked
        # every 30 s (the default is 5 min). CI once saw a StatefulSet's pod never retried after its PVC
        # bound: the provisioner had made the PV, kwok never saw the pod bound, and 60 s ran out.
        "--pod-max-in-unschedulable-pods-duration=15s",
    ]


def _client_and_serving(kubeconfig: Path, pki: Pki) -> list[str]:
    """Admin kubeconfig for the API and delegated authn/authz; the apiserver's certificate to serve health."""
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
    ]
