"""A snapshot of the node: its jobs by external job ID, its bridges by name and its keys (the facts job
templates resolve against). Listed once per resync and kept current by the agent's own writes, so
reconciling N resources costs one list of each, not N."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Protocol, TypeVar

from .nodetypes import NodeBridge, NodeFacts, NodeJob


class NodeReader(Protocol):
    """The node's reads the snapshot makes (nodeclient.NodeClient; a fake in unit tests)."""

    def list_jobs(self) -> list[NodeJob]: ...
    def list_bridges(self) -> list[NodeBridge]: ...
    def facts(self) -> NodeFacts: ...
    def find_job(self, external_job_id: str) -> NodeJob | None: ...
    def find_bridge(self, name: str) -> NodeBridge | None: ...


class NodeSnapshot:
    def __init__(self, node: NodeReader) -> None:
        self._node = node
        self._lock = threading.Lock()
        self._by_external_id: dict[str, NodeJob] = {}
        self._bridges: dict[str, NodeBridge] = {}
        self._facts = NodeFacts()
        # The agent's own writes while a list is under way (external ID or bridge name -> what it made,
        # None if it deleted): a page read before a write must not undo it. Without this, a resync during
        # a burst forgot the jobs made meanwhile and created them again (55 of 10,000 under the node's
        # rate limit, where one list takes minutes).
        self._jobs_written: dict[str, NodeJob | None] | None = None
        self._bridges_written: dict[str, NodeBridge | None] | None = None
        self.listed = threading.Event()

    def refresh(self, preferred_bundles: frozenset[str] = frozenset(), facts: NodeFacts | None = None) -> int:
        """Lists jobs, bridges and keys (unless `facts` is the keys just listed); returns the number of jobs.
        Templates resolve to the preferred (imported) key bundles first."""
        with self._lock:
            self._jobs_written, self._bridges_written = {}, {}
        try:
            jobs = self._node.list_jobs()
            bridges = self._node.list_bridges()
            facts = (facts or self._node.facts()).preferring(preferred_bundles)
            with self._lock:
                self._by_external_id = _replayed(
                    {job.external_job_id: job for job in jobs}, self._jobs_written
                )
                self._bridges = _replayed({bridge.name: bridge for bridge in bridges}, self._bridges_written)
                self._facts = facts
        finally:
            with self._lock:
                self._jobs_written = self._bridges_written = None
        self.listed.set()
        return len(jobs)

    # Jobs -------------------------------------------------------------------------------------------

    def subset(self, external_ids: Iterable[str]) -> dict[str, NodeJob]:
        with self._lock:
            return {ext: self._by_external_id[ext] for ext in external_ids if ext in self._by_external_id}

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
            self._by_external_id[job.external_job_id] = job
            if self._jobs_written is not None:
                self._jobs_written[job.external_job_id] = job

    def remove(self, external_id: str) -> None:
        with self._lock:
            self._by_external_id.pop(external_id, None)
            if self._jobs_written is not None:
                self._jobs_written[external_id] = None

    # Bridges ----------------------------------------------------------------------------------------

    def bridges(self, names: Iterable[str]) -> dict[str, NodeBridge]:
        with self._lock:
            return {name: self._bridges[name] for name in names if name in self._bridges}

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
            self._bridges[bridge.name] = bridge
            if self._bridges_written is not None:
                self._bridges_written[bridge.name] = bridge

    def remove_bridge(self, name: str) -> None:
        with self._lock:
            self._bridges.pop(name, None)
            if self._bridges_written is not None:
                self._bridges_written[name] = None

    # Keys -------------------------------------------------------------------------------------------

    def facts(self) -> NodeFacts:
        with self._lock:
            return self._facts


V = TypeVar("V")


def _replayed(listed: dict[str, V], written: dict[str, V | None] | None) -> dict[str, V]:
    """The listed state with the writes made during the list applied on top."""
    for name, value in (written or {}).items():
        if value is None:
            listed.pop(name, None)
        else:
            listed[name] = value
    return listed
