"""`chainlink-agent release-node`: run by the chart's pre-delete hook when a node is uninstalled.

It strips this node's finalizer and status entry from every ChainlinkJob in the namespace, so that no
resource waits forever for an agent that will not come back. Jobs on the node itself are left alone: the
node is going away with them.
"""

from __future__ import annotations

import logging

from kubernetes.client.exceptions import ApiException

from .kube import Kube
from .resource import ChainlinkJob, finalizer_for

log = logging.getLogger(__name__)


def release_node(kube: Kube) -> int:
    finalizer = finalizer_for(kube.node)
    released = 0
    items, _ = kube.list_jobs()
    for raw in items:
        job = ChainlinkJob.from_dict(raw)
        try:
            if job.status_for(kube.node) is not None:
                kube.apply_status(job, None)
            if finalizer in job.finalizers:
                kube.remove_finalizer(job, finalizer)
        except ApiException as exc:
            if exc.status != 404:
                raise
        released += 1
    log.info("released node", extra={"node": kube.node, "resources": released})
    return released
