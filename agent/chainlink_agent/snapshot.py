"""A snapshot of the node: its jobs by external job ID, its bridges by name and its keys (the facts job
templates resolve against). Listed once per resync and kept current by the agent's own writes, so
reconciling N resources costs one list of each, not N."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from .nodetypes import NodeBridge, NodeFacts, NodeJob

V = TypeVar("V")


class NodeReader(Protocol):
    """The node's reads the snapshot makes (nodeclient.NodeClient; a fake in unit tests)."""

    def list_jobs(self) -> list[NodeJob]: ...
    def list_bridges(self) -> list[NodeBridge]: ...
    def facts(self) -> NodeFacts: ...
    def find_job(self, external_job_id: str) -> NodeJob | None: ...
    def find_bridge(self, name: str) -> NodeBridge | None: ...


class _Table(Generic[V]):
    """One kind of thing on the node by name, replaced by each list. The agent's own writes while a list is
    under way are replayed over it: a page read before a write must not undo that write. (Without this,
    a resync during a burst forgot the jobs made meanwhile and made them again: 55 of 10,000 under the
    node's rate limit, where one list takes minutes.) Callers hold the snapshot's lock."""

    def __init__(self) -> None:
        self.items: dict[str, V] = {}
        self._written: dict[str, V | None] | None = None  # name -> what the agent made; None: deleted

    def begin_list(self) -> None:
        self._written = {}

    def end_list(self, listed: dict[str, V] | None) -> bool:
        """The list's result (None: the list failed, the table stays as it was). True when the node held
        something other than the table did: a change the agent did not make."""
        changed = False
        if listed is not None:
            for name, value in (self._written or {}).items():
                if value is None:
                    listed.pop(name, None)
                else:
                    listed[name] = value
            changed = listed != self.items
            self.items = listed
        self._written = None
        return changed

    def put(self, name: str, value: V) -> None:
        self.items[name] = value
        if self._written is not None:
            self._written[name] = value

    def remove(self, name: str) -> None:
        self.items.pop(name, None)
        if self._written is not None:
            self._written[name] = None

    def subset(self, names: Iterable[str]) -> dict[str, V]:
        return {name: self.items[name] for name in names if name in self.items}


class NodeSnapshot:
    def __init__(self, node: NodeReader) -> None:
        self._node = node
        self._lock = threading.Lock()
        self._jobs: _Table[NodeJob] = _Table()  # by external job ID
        self._bridges: _Table[NodeBridge] = _Table()  # by name
        self._facts = NodeFacts()
        self.listed = threading.Event()
        self.listed_at: float | None = None  # unix time of the last full list
        # Whether the last list found the node other than the agent's own writes had left it (someone
        # else's job, bridge or key change, or the first list): then every resource needs a look.
        self.changed = True

    def refresh(self, preferred_bundles: frozenset[str] = frozenset(), facts: NodeFacts | None = None) -> int:
        """Lists jobs, bridges and keys (unless `facts` is the keys just listed); returns the number of jobs.
        Templates resolve to the preferred (imported) key bundles first."""
        with self._lock:
            self._jobs.begin_list()
            self._bridges.begin_list()
        try:
            jobs = {job.external_job_id: job for job in self._node.list_jobs()}
            bridges = {bridge.name: bridge for bridge in self._node.list_bridges()}
            facts = (facts or self._node.facts()).preferring(preferred_bundles)
        except BaseException:
            with self._lock:
                self._jobs.end_list(None)
                self._bridges.end_list(None)
            raise
        with self._lock:
            jobs_changed = self._jobs.end_list(jobs)
            bridges_changed = self._bridges.end_list(bridges)
            self.changed = jobs_changed or bridges_changed or facts != self._facts or not self.listed.is_set()
            self._facts = facts
        self.listed_at = time.time()
        self.listed.set()
        return len(jobs)

    # Jobs -------------------------------------------------------------------------------------------

    def subset(self, external_ids: Iterable[str]) -> dict[str, NodeJob]:
        with self._lock:
            return self._jobs.subset(external_ids)

    def recheck(self, external_id: str) -> None:
        """After a failed create or replace the node's state is unknown (PUT deletes before it re-adds, and
        a timed-out POST may have landed): ask the node about this one job instead of guessing."""
        job = self._node.find_job(external_id)
        if job is None:
            self.remove(external_id)
        else:
            self.put(job)

    def put(self, job: NodeJob) -> None:
        with self._lock:
            self._jobs.put(job.external_job_id, job)

    def remove(self, external_id: str) -> None:
        with self._lock:
            self._jobs.remove(external_id)

    # Bridges ----------------------------------------------------------------------------------------

    def bridges(self, names: Iterable[str]) -> dict[str, NodeBridge]:
        with self._lock:
            return self._bridges.subset(names)

    def recheck_bridge(self, name: str) -> NodeBridge | None:
        """One bridge asked of the node: a job waiting on a bridge a person made by hand need not wait
        for the next resync, and a failed bridge call leaves the node's state unknown."""
        bridge = self._node.find_bridge(name)
        if bridge is None:
            self.remove_bridge(name)
        else:
            self.put_bridge(bridge)
        return bridge

    def put_bridge(self, bridge: NodeBridge) -> None:
        with self._lock:
            self._bridges.put(bridge.name, bridge)

    def remove_bridge(self, name: str) -> None:
        with self._lock:
            self._bridges.remove(name)

    # Keys -------------------------------------------------------------------------------------------

    def facts(self) -> NodeFacts:
        with self._lock:
            return self._facts
