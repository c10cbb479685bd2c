"""kwok, the full bench's fake node: one Node ``kwok-node-0`` whose Pods go Ready with no container run.

kwok moves Pods through Stages. With any Pod Stage in ``--config`` kwok drops ALL its built-in Pod Stages,
so STAGES gives the three defaults kwok v0.7.0 embeds (copies of upstream's in kwokstages/) before ours.
Node Stages are not given, so kwok keeps its defaults (node-initialize + node-heartbeat when
--node-lease-duration-seconds > 0).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

NODE_NAME = "kwok-node-0"
NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
POD_CIDR = "10.244.0.1/16"
# In the order of upstream's kustomize/stage/pod/fast/kustomization.yaml, then ours.
STAGES = tuple(
    Path(__file__).resolve().parent / "kwokstages" / f"{name}.yaml"
    for name in ("pod-ready", "pod-complete", "pod-delete", "pod-helm-test-complete")
)


def argv(bin_dir: Path, *, kubeconfig: Path, port: int) -> list[str]:
    """kwok managing only the Nodes annotated NODE_ANNOTATION, with its health endpoint on port."""
    return [
        str(bin_dir / "kwok"),
        f"--kubeconfig={kubeconfig}",
        *(f"--config={stage}" for stage in STAGES),
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector={}={}".format(*NODE_ANNOTATION),
        f"--cidr={POD_CIDR}",
        "--node-ip=127.0.0.1",
        # kwokctl's value: kwok renews a node Lease like a kubelet. (With 0, v0.7.0 keeps no Lease yet
        # picks its 10-minute "with lease" status heartbeat; the node still stayed Ready in a 2-minute
        # trial, but a bench must not depend on that.)
        "--node-lease-duration-seconds=40",
        f"--server-address=127.0.0.1:{port}",
    ]


def env(home: Path) -> dict[str, str]:
    """Our environment with HOME moved, so kwok ignores the user's ~/.kwok/kwok.yaml."""
    return {**os.environ, "HOME": str(home)}


def node() -> dict[str, Any]:
    """The Node object kwok takes over (by its annotation) and keeps Ready."""
    key, value = NODE_ANNOTATION
    capacity = {"cpu": "64", "memory": "256Gi", "pods": "250", "ephemeral-storage": "1Ti"}
    return {
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
