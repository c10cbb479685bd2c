"""Which of a node's two pods is the active one, seen from the agent beside each (the chart's `standby`).

Both pods run the node on one database; the node's lease (`[Database.Lock]`, core/services/pg/lease_lock.go)
lets one hold it, and a node that waits for it blocks in the database open before its web server starts
(core/cmd/shell_local.go), so it answers no HTTP at all. The agent therefore calls its node active as soon as
its web server answers anything, and stops calling it active once it has not answered DEMOTE_AFTER polls in a
row (a node that lost the lease exits: lease_lock.go's loop, "Another node has taken the lease").

While its node is not active the agent stays passive: no node call but this probe, no placement, no status
of the node (app.py and nodestatus.py read `active`). It labels its own pod with the role, which the chart's
API and P2P Services select on. Without a standby (one pod) the node is taken as active from the start and
nothing here runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chainlink_agent.model.errors import KubeError

log = logging.getLogger(__name__)
ROLE_LABEL = "chainlink-k8s.github.io/role"
POLL_SECONDS = 1.0
DEMOTE_AFTER = 3  # polls: a node that missed one answer under load is not a node that lost the lease


class Serving(Protocol):
    def serving(self) -> bool: ...


class PodLabeller(Protocol):
    def label_pod(self, name: str, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class State:
    active: bool = False
    misses: int = 0  # polls in a row the node did not answer


def step(state: State, answered: bool) -> State:
    """The role after one poll. Pure."""
    if answered:
        return State(active=True)
    misses = state.misses + 1
    return State(active=state.active and misses < DEMOTE_AFTER, misses=misses)


class Role:
    """`active` is set while this pod's node holds the lease. `on_change(active)` runs on each change, in the
    role thread, before the pod's label follows: the agent stops its work before the Services move."""

    def __init__(
        self,
        node: Serving | None,
        pods: PodLabeller | None = None,
        pod_name: str | None = None,
        on_change: Callable[[bool], None] = lambda _active: None,
    ) -> None:
        self._node = node
        self._pods = pods
        self._pod_name = pod_name
        self.on_change = on_change
        self._state = State()
        self._labelled: str | None = None  # the role label last written; retried each poll until it holds
        self.active = threading.Event()
        if node is None:  # no standby: the one pod's node is the node
            self.active.set()

    @property
    def standby(self) -> bool:
        return self._node is not None

    def run(self, stop: threading.Event, beat: Callable[[], None] = lambda: None) -> None:
        """Polls every POLL_SECONDS until `stop`, calling `beat` (the supervisor's) once per poll."""
        while not stop.is_set():
            beat()
            self.poll()
            stop.wait(POLL_SECONDS)

    def poll(self) -> None:
        if self._node is None:
            return
        before = self._state.active
        self._state = step(self._state, self._node.serving())
        if self._state.active != before:
            log.info(
                "this pod's node holds the database lease"
                if self._state.active
                else "this pod's node stopped answering: standing by until it holds the database lease again",
                extra={"pod": self._pod_name},
            )
            if self._state.active:
                self.active.set()
            else:
                self.active.clear()
            self.on_change(self._state.active)
        self._label("active" if self._state.active else "standby")

    def _label(self, value: str) -> None:
        if self._pods is None or self._pod_name is None or self._labelled == value:
            return
        try:
            self._pods.label_pod(self._pod_name, ROLE_LABEL, value)
        except KubeError as exc:
            log.warning("could not label this pod with its role", extra={"error": str(exc), "role": value})
            return
        self._labelled = value
