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

from . import placement
from .conditions import bounded_entry
from .controller import Controller, Result
from .errors import NotFound
from .informer import WATCH_SECONDS, Informer, other_placements
from .kube import AGGREGATOR, Kube
from .lease import RENEW_SECONDS, Lease
from .metrics import Metrics
from .resource import KINDS, split_key, status_digest
from .supervisor import Supervisor
from .workqueue import WorkQueue

log = logging.getLogger(__name__)
SETTLE_SECONDS = 0.25  # a resource's status is written at most this often: N nodes' changes share a write
MAX_NODES = 256  # the CRDs' bound on status.nodes (as on spec.targets.names): the first by name are shown


class Aggregator:
    def __init__(
        self,
        kube: Kube,
        own: Informer,
        resources: Mapping[str, Informer],
        metrics: Metrics,
        stop: threading.Event,
        identity: str,  # per pod: a node's two pods (the chart's standby) are two candidates
        may_lead: Callable[[], bool] = lambda: True,
    ) -> None:
        self._kube = kube
        self._node = kube.node
        self._own = own
        self._resources = resources
        self._metrics = metrics
        self._stop = stop
        self._lease = Lease(kube, AGGREGATOR, identity)
        # A standby's agent does not lead: its node's placements change only through the active pod's agent,
        # whose writes reach a leader by the other-placements watch, which leaves out the leader's own node.
        self._may_lead = may_lead
        self._queue = WorkQueue(base_delay=1.0, max_delay=60.0)
        self._controller = Controller(
            "status",
            self._queue,
            self._reconcile,
            lambda key: f"{KINDS[split_key(key)[0]].KIND}Status",
            metrics,
            stop,
        )
        self._lock = threading.Lock()
        self._others: Informer | None = None  # the other nodes' placements, while leading
        self._others_stop = threading.Event()
        self._nodes: dict[str, set[str]] = {}  # resource key -> the other nodes with a placement of it
        self._swept = False  # this term has looked at every resource once, its watches synced

    def touch(self, key: str) -> None:
        """A placement of the resource `key` changed: its status is written SETTLE_SECONDS later, with
        whatever else changed by then (a placement written ahead of a create and the one after it; N
        nodes reporting at once)."""
        if self._others is not None:
            self._queue.add_after(key, SETTLE_SECONDS)  # a write already due reads this change too

    def run(self, supervisor: Supervisor, beat: Callable[[], None] = lambda: None) -> None:
        """The election loop: leads while it holds the Lease, and stops writing as soon as it does not. Its
        threads (the writer, and the other-placements watch while leading) are `supervisor`'s; `beat` is
        called once per round."""
        # The writer blocks on its queue by design: no period, only its being alive counts.
        supervisor.start("aggregator-writer", lambda _beat: self._controller.work())
        while not self._stop.is_set():
            beat()
            leading = self._round(supervisor)
            self._metrics.aggregator_leading.set(1 if leading else 0)
            self._stop.wait(RENEW_SECONDS)
        self._queue.shutdown()
        self._others_stop.set()
        if self._others is not None:  # a leader shutting down (SIGTERM) hands the Lease on at once
            self._lease.release()

    def _round(self, supervisor: Supervisor) -> bool:
        """One round of the election: holds or gives up the Lease, starts or ends a term, and sweeps once a
        term can see every resource. Returns whether this candidate leads."""
        if self._may_lead():
            leading = self._lease.try_hold()
        else:
            self._lease.release()
            leading = False
        if leading and self._others is None:
            self._lead(supervisor)
        elif not leading and self._others is not None:
            self._step_down()
        if leading and not self._swept and all(i.synced.is_set() for i in self._resources.values()):
            self._sweep()
        return leading

    def _lead(self, supervisor: Supervisor) -> None:
        log.info("leading: writing every resource's status from its placements", extra={"node": self._node})
        self._others_stop = threading.Event()
        stop = self._others_stop
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
        # Its own stop ends it on purpose (a step-down): the supervisor then forgets it.
        supervisor.start("informer-other-placements", others.run, WATCH_SECONDS, stop)

    def _sweep(self) -> None:
        """Whatever the last leader left unwritten (it may have died between a placement's write and the
        status's) is found by looking at every resource once; only once the resources' watches have synced,
        since a leader elected as the agent starts would otherwise see none of them."""
        self._swept = True
        for informer in self._resources.values():
            for key in informer.cached_keys():
                self.touch(key)

    def _step_down(self) -> None:
        log.info("no longer leading", extra={"node": self._node})
        self._others_stop.set()
        with self._lock:
            self._others = None
            self._nodes = {}
        self._swept = False

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

    def _reconcile(self, key: str) -> Result:
        self._write(key)
        return Result()

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
        if not self._lease.leading:
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
