"""`chainlink-agent release-node`: run by the chart's pre-delete hook when a node is uninstalled.

It strips this node's finalizer and status entry from every ChainlinkJob and ChainlinkBridge in the
namespace, so that no
resource waits forever for an agent that will not come back. The node's StatefulSet is scaled to zero
first: a sidecar still running after the release would put its finalizer straight back. The wait for
that is bounded, because an uninstall must never hang on it. Jobs and bridges on the node itself are left
alone: the node is going away with them.
"""

from __future__ import annotations

import logging
import time

from kubernetes.client.exceptions import ApiException

from .kube import Kube
from .resource import KINDS, finalizer_for

log = logging.getLogger(__name__)


def release_node(kube: Kube, statefulset: str | None = None, wait_seconds: float = 120.0) -> int:
    if statefulset:
        _stop_node(kube, statefulset, wait_seconds)
    finalizer = finalizer_for(kube.node)
    released = 0
    for plural, kind in KINDS.items():
        objs, _ = kube.list_objects(plural, kind.from_dict)
        for obj in objs:
            try:
                if obj.status_for(kube.node) is not None:
                    kube.apply_status(obj, None)
                if finalizer in obj.finalizers:
                    kube.remove_finalizer(obj, finalizer)
            except ApiException as exc:
                if exc.status != 404:
                    raise
            released += 1
    log.info("released node", extra={"node": kube.node, "resources": released})
    return released


def _stop_node(kube: Kube, statefulset: str, wait_seconds: float) -> None:
    try:
        kube.scale_to_zero(statefulset)
    except ApiException as exc:
        if exc.status != 404:
            raise
        return
    deadline = time.monotonic() + wait_seconds
    while (pods := kube.statefulset_pods(statefulset)) and time.monotonic() < deadline:
        time.sleep(1)
    if pods:
        log.warning(
            "node pods still running; releasing anyway", extra={"statefulset": statefulset, "pods": pods}
        )
