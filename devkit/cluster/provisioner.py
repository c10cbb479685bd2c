"""The full bench's volume provisioner: a hostPath PV for each PVC of the default StorageClass ``standard``.

It runs in its own process (``python -m devkit.cluster provisioner``), so it is started, logged and stopped
like the other components.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.client.rest import ApiException

STORAGE_CLASS = "standard"
PROVISIONER = "bench.chainlink-k8s.local/hostpath"
READY = "provisioner ready"  # its first output line, which the bench waits for in its log


def argv(*, kubeconfig: Path, volumes: Path) -> list[str]:
    """The provisioner's command line; run it from the repository with the repository on PYTHONPATH."""
    return [
        sys.executable,
        "-m",
        "devkit.cluster",
        "provisioner",
        f"--kubeconfig={kubeconfig}",
        f"--volumes={volumes}",
    ]


def storage_class() -> dict[str, Any]:
    """The default StorageClass, served by this provisioner."""
    return {
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
    print(READY, flush=True)
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
