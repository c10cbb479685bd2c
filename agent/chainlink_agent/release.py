"""`chainlink-agent release-node`: run by the chart's hook when a node is uninstalled, or after an upgrade
that turned its agent off.

It strips this node's finalizer and status entry from every ChainlinkJob and ChainlinkBridge in the
namespace, so that no resource waits forever for an agent that will not come back. First the sidecar must
be gone, or it would put its finalizer straight back: on uninstall the node's StatefulSet is scaled to
zero; after the agent was turned off, the StatefulSet's rollout to pods without it is awaited. The wait is
bounded, because an uninstall or upgrade must never hang on it. Jobs and bridges on the node itself are
left alone: the node is going away with them, or its operator now runs them by hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kubernetes.client.exceptions import ApiException

from .kube import Kube
from .resource import KINDS, finalizer_for

log = logging.getLogger(__name__)


def release_node(
    kube: Kube, statefulset: str | None = None, wait_seconds: float = 120.0, after_rollout: bool = False
) -> int:
    if statefulset and after_rollout:
        _wait(statefulset, wait_seconds, kube.statefulset_outdated_pods, "pods with the agent still running")
    elif statefulset:
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
    _wait(statefulset, wait_seconds, kube.statefulset_pods, "node pods still running")


def _wait(statefulset: str, wait_seconds: float, pods_left: Callable[[str], int], what: str) -> None:
    deadline = time.monotonic() + wait_seconds
    while (pods := pods_left(statefulset)) and time.monotonic() < deadline:
        time.sleep(1)
    if pods:
        log.warning(f"{what}; releasing anyway", extra={"statefulset": statefulset, "pods": pods})
