"""A new revision of the node's StatefulSet, rolled out by the standby (the chart's `standby`): one handover.

The StatefulSet's own RollingUpdate replaces the highest ordinal first, whichever pod is active, so a roll
with pod-1 active hands the node over twice (to the old pod-0, then back). With a standby the chart sets
`updateStrategy: OnDelete`, and the agent beside the waiting node replaces the pods in the only order that
hands over once, as CloudNativePG updates replicas before its primary:
1. its own pod first, while it is of an old revision (it serves nothing, so nothing is lost);
2. then, updated and Ready, the active pod: deleted gracefully, its node releases the lease and this pod's
   node takes it within a refresh interval, then starts.
The active pod's agent does nothing here, so a failed new revision (a pod never Ready) stops the roll with
the old node still serving. Nothing happens while both pods stand by or either is being deleted. Turning
the standby on is the same roll: the new pod-1 stands by, then replaces the old pod-0.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, Protocol

from chainlink_agent.model.errors import KubeError
from chainlink_agent.standby.pods import PodView, peer, statefulset_of
from chainlink_agent.standby.role import Role

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0


class Pods(Protocol):
    def pod(self, name: str) -> dict[str, Any] | None: ...
    def delete_pod(self, name: str) -> None: ...
    def statefulset_update_revision(self, name: str) -> str | None: ...


def step(own: PodView, other: PodView | None, update_revision: str | None) -> Literal["own", "other"] | None:
    """Which pod the standby's agent deletes now, if any. The other pod holds the node unless its agent
    labels it standby: one with no label at all is the single pod of a release that has just turned the
    standby on, whose agent knew of no standby. Pure."""
    if update_revision is None or other is None or own.deleting or other.deleting or other.role == "standby":
        return None
    if own.revision != update_revision:
        return "own"
    if own.ready and other.revision != update_revision:
        return "other"
    return None


class Rollout:
    def __init__(self, pods: Pods, role: Role, pod_name: str) -> None:
        self._pods = pods
        self._role = role
        self._own = pod_name
        self._other = peer(pod_name)
        self._statefulset = statefulset_of(pod_name)

    def run(self, stop: threading.Event, beat: Callable[[], None] = lambda: None) -> None:
        """Polls every POLL_SECONDS until `stop`, calling `beat` (the supervisor's) once per poll."""
        while not stop.wait(POLL_SECONDS):
            beat()
            if not self._role.active.is_set():
                try:
                    self.poll()
                except KubeError as exc:
                    log.warning("could not read or replace the node's pods", extra={"error": str(exc)})

    def poll(self) -> None:
        own, other = self._pods.pod(self._own), self._pods.pod(self._other)
        if own is None:
            return
        revision = self._pods.statefulset_update_revision(self._statefulset)
        action = step(PodView.of(own), None if other is None else PodView.of(other), revision)
        if action is None:
            return
        name = self._own if action == "own" else self._other
        log.info(
            "replacing a pod of an old revision: the standby first, then the active one, which hands the"
            " node over once",
            extra={"pod": name, "revision": revision},
        )
        self._pods.delete_pod(name)
