"""`chainlink-agent release-node`: run by the chart's hook when a node is uninstalled, or after an upgrade
that turned its agent off.

It marks this node's ChainlinkPlacements, the records of what its agent made, released, so that no status
keeps showing a node that is gone (the elected aggregator shows no released placement). They are kept, not
deleted: the node's database, and the jobs and bridges the agent made in it, are kept on uninstall, and a
reinstall on it needs the record to tell those from hand-made ones: its agent removes what belonged to
resources deleted meanwhile and takes its own bridges back (reconcile.py, placement.py). Forgetting a node
for good: `kubectl delete chainlinkplacements -l chainlink-k8s.github.io/node=<node>`.
First the sidecar must be gone, or it would take them straight back: on uninstall the node's StatefulSet is
scaled to zero; after the agent was turned off, the StatefulSet's rollout to pods without it is awaited.
The wait is bounded, because an uninstall or upgrade must never hang on it. Jobs and bridges on the node
itself are left alone: the node is going away with them, or its operator now runs them by hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chainlink_agent.k8s.kube import Kube
from chainlink_agent.model import placement
from chainlink_agent.model.errors import NotFound

log = logging.getLogger(__name__)


def release_node(
    kube: Kube, statefulset: str | None = None, wait_seconds: float = 120.0, after_rollout: bool = False
) -> int:
    if statefulset and after_rollout:
        _wait(statefulset, wait_seconds, kube.statefulset_outdated_pods, "pods with the agent still running")
    elif statefulset:
        _stop_node(kube, statefulset, wait_seconds)
    selector = f"{placement.NODE_LABEL}={kube.node},!{placement.RELEASED_LABEL}"
    held, _ = kube.list_objects(placement.PLURAL, lambda obj: obj["metadata"]["name"], selector)
    for name in held:
        kube.mark_released(name, released=True)
    released = len(held)
    log.info("released node", extra={"node": kube.node, "resources": released})
    return released


def _stop_node(kube: Kube, statefulset: str, wait_seconds: float) -> None:
    try:
        kube.scale_to_zero(statefulset)
    except NotFound:
        return
    _wait(statefulset, wait_seconds, kube.statefulset_pods, "node pods still running")


def _wait(statefulset: str, wait_seconds: float, pods_left: Callable[[str], int], what: str) -> None:
    deadline = time.monotonic() + wait_seconds
    while (pods := pods_left(statefulset)) and time.monotonic() < deadline:
        time.sleep(1)
    if pods:
        log.warning(f"{what}; releasing anyway", extra={"statefulset": statefulset, "pods": pods})
