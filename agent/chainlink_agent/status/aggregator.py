"""The status people read: one agent per namespace, elected by Lease, copies every node's placement of a
resource into that resource's status.nodes (and the phases and jobIDs maps its printer columns show).

Why one writer: each node's agent writing its own entry into the shared resource wakes every other agent's
watch, so one resource on N nodes cost N² watch events carrying N entries each. The placements are each
watched by their own node's agent only; this writer reads them all and writes each resource's status at most
once per SETTLE_SECONDS, so a change on N nodes costs a few writes, each seen once by each agent."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from chainlink_agent.control.controller import Result
from chainlink_agent.control.workqueue import WorkQueue
from chainlink_agent.k8s.informer import WATCH_SECONDS, Informer, other_placements
from chainlink_agent.k8s.kube import Kube
from chainlink_agent.k8s.lease import LeaderCallbacks
from chainlink_agent.model import placement
from chainlink_agent.model.conditions import bounded_entry
from chainlink_agent.model.errors import NotFound
from chainlink_agent.model.resource import KINDS, split_key, status_digest
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.supervisor import Supervisor

log = logging.getLogger(__name__)
SETTLE_SECONDS = 0.25  # a resource's status is written at most this often: N nodes' changes share a write
MAX_NODES = 256  # the CRDs' bound on status.nodes (as on spec.targets.names): the first by name are shown
SWEEP = "sweep"  # the key that, once at the start of a term, looks at every resource
SWEEP_WAIT_SECONDS = 0.5


class Aggregator:
    """The status writer: the reconcile of a controller whose keys are resources (its queue and Lease are
    built in wiring.py), and the callbacks that start and end its terms (`callbacks`). A term watches the
    other nodes' placements; the informer is made per term, so a stepped-down leader holds no cache."""

    def __init__(
        self,
        kube: Kube,
        own: Informer,
        resources: Mapping[str, Informer],
        queue: WorkQueue,
        leading: Callable[[], bool],  # the Lease's word, checked right before each write
        supervisor: Supervisor,
        metrics: Metrics,
    ) -> None:
        self._kube = kube
        self._node = kube.node
        self._own = own
        self._resources = resources
        self._queue = queue
        self._leading = leading
        self._supervisor = supervisor
        self._metrics = metrics
        self._lock = threading.Lock()
        self._others: Informer | None = None  # the other nodes' placements, while leading
        self._nodes: dict[str, set[str]] = {}  # resource key -> the other nodes with a placement of it
        self.callbacks = LeaderCallbacks(self._lead, self._step_down)

    def touch(self, key: str) -> None:
        """A placement of the resource `key` changed: its status is written SETTLE_SECONDS later, with
        whatever else changed by then (a placement written ahead of a create and the one after it; N
        nodes reporting at once)."""
        if self._others is not None:
            self._queue.add_after(key, SETTLE_SECONDS)  # a write already due reads this change too

    @staticmethod
    def kind(key: str) -> str:
        """A key's kind in the metrics."""
        return "StatusSweep" if key == SWEEP else f"{KINDS[split_key(key)[0]].KIND}Status"

    def reconcile(self, key: str) -> Result:
        if key == SWEEP:
            return self._sweep()
        self._write(key)
        return Result()

    def _lead(self) -> None:
        log.info("leading: writing every resource's status from its placements", extra={"node": self._node})
        stop = threading.Event()  # this term's: an earlier term's informer may still be winding down
        others = Informer(
            self._kube,
            lambda key: self._other_changed(stop, key),
            self._metrics,
            stop,
            other_placements(self._node),
        )
        with self._lock:
            self._nodes = {}
            self._others = others
        self._metrics.aggregator_leading.set(1)
        # Its own stop ends it on purpose (a step-down): the supervisor then forgets it.
        self._supervisor.start("informer-other-placements", others.run, WATCH_SECONDS, stop)
        self._queue.add(SWEEP)

    def _sweep(self) -> Result:
        """Whatever the last leader left unwritten (it may have died between a placement's write and the
        status's) is found by looking at every resource once; only once the resources' watches have synced,
        since a leader elected as the agent starts would otherwise see none of them."""
        if self._others is None:
            return Result()  # the term ended
        if not all(informer.synced.is_set() for informer in self._resources.values()):
            return Result(requeue_after=SWEEP_WAIT_SECONDS)
        for informer in self._resources.values():
            for key in informer.cached_keys():
                self.touch(key)
        return Result()

    def _step_down(self) -> None:
        log.info("no longer leading", extra={"node": self._node})
        self._metrics.aggregator_leading.set(0)
        with self._lock:
            others, self._others = self._others, None
            self._nodes = {}
        if others is not None:
            others.close()  # its watch and cache go now, not at the watch's next event

    def _other_changed(self, stop: threading.Event, key: str) -> None:
        if stop.is_set():
            return  # an informer of an earlier term, still winding down
        resource, _, node = key.rpartition("@")
        with self._lock:
            if self._others is None:
                return
            nodes = self._nodes.setdefault(resource, set())
            if self._others.get(key) is None:
                nodes.discard(node)
                if not nodes:
                    del self._nodes[resource]
            else:
                nodes.add(node)
        self.touch(resource)

    def _write(self, key: str) -> None:
        with self._lock:
            others = self._others
            nodes = sorted(self._nodes.get(key, ()))
        if others is None:
            return
        if not (others.synced.is_set() and self._own.synced.is_set()):
            self.touch(key)  # not every node's placements are known yet: this node's own included
            return
        plural = split_key(key)[0]
        cache = self._resources[plural]
        raw = cache.get(key)
        if raw is None:
            return  # deleted: no status to write
        entries = [
            {"node": node, **held["status"]}
            for node, held in [(self._node, self._own.get(key))]
            + [(n, others.get(f"{key}@{n}")) for n in nodes]
            if held is not None and not placement.released(held)
        ]
        status = summary(sorted(entries, key=lambda entry: str(entry["node"])))
        if status_digest(status) == raw.get("statusDigest"):
            return
        # Checked last: a term may have ended while this write waited, and the next leader writes now.
        if not self._leading():
            return
        with contextlib.suppress(NotFound):  # deleted meanwhile: no status to write
            cache.store(self._kube.apply_summary(KINDS[plural].from_dict(raw), status))


def summary(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A resource's status from its nodes' entries (sorted by node), within the CRDs' bounds: the first
    MAX_NODES, each entry's messages cut (conditions.bounded_entry). Empty maps are left out: applying {}
    makes them null."""
    entries = [bounded_entry(entry) for entry in entries[:MAX_NODES]]
    status: dict[str, Any] = {"nodes": entries}
    phases = {e["node"]: e["phase"] for e in entries if e.get("phase")}
    job_ids = {e["node"]: e["jobID"] for e in entries if e.get("jobID")}
    if phases:
        status["phases"] = phases
    if job_ids:
        status["jobIDs"] = job_ids
    return status
