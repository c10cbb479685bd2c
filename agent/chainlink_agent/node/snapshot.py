"""A snapshot of the node: its jobs by external job ID, its bridges by name and its keys (the facts job
templates resolve against). Listed once per resync and kept current by the agent's own writes, so
reconciling N resources costs one list of each, not N."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

from chainlink_agent.model.nodetypes import NodeBridge, NodeFacts, NodeJob

V = TypeVar("V")
# More items missing from one list than this were deleted by someone, not skipped by the pagination.
MAX_RECHECKS = 100
# Jobs waiting for bridges relist them (relist_bridges) at most this often, however many jobs wait for
# however many bridges: a GET per name let one job naming 200 bridges make 885 node calls in 20 s.
BRIDGE_RELIST_SECONDS = 5.0


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
    node's rate limit, where one list takes minutes.) Two lists may be under way at once (a resync's and a
    relist of the bridges): each replays the writes made while it ran. Callers hold the snapshot's lock."""

    def __init__(self) -> None:
        self.items: dict[str, V] = {}
        # One per list under way: name -> what the agent made; None: deleted.
        self._lists: list[dict[str, V | None]] = []

    def begin_list(self) -> dict[str, V | None]:
        """The record of the agent's writes while this list runs, for end_list and missed."""
        written: dict[str, V | None] = {}
        self._lists.append(written)
        return written

    def end_list(self, written: dict[str, V | None], listed: dict[str, V] | None) -> bool:
        """The list's result (None: the list failed, the table stays as it was). True when the node held
        something other than the table did: a change the agent did not make."""
        self._lists = [w for w in self._lists if w is not written]
        changed = False
        if listed is not None:
            for name, value in written.items():
                if value is None:
                    listed.pop(name, None)
                else:
                    listed[name] = value
            changed = listed != self.items
            self.items = listed
        return changed

    def put(self, name: str, value: V) -> None:
        self.items[name] = value
        for written in self._lists:
            written[name] = value

    def remove(self, name: str) -> None:
        self.items.pop(name, None)
        for written in self._lists:
            written[name] = None

    def subset(self, names: Iterable[str]) -> dict[str, V]:
        return {name: self.items[name] for name in names if name in self.items}

    def missed(self, listed: dict[str, V], written: dict[str, V | None]) -> list[str]:
        """What the table holds and the list lacks, the agent's own writes during the list aside."""
        return [name for name in self.items if name not in listed and name not in written]


def _find_missed(
    lock: threading.Lock,
    table: _Table[V],
    listed: dict[str, V],
    written: dict[str, V | None],
    find: Callable[[str], V | None],
) -> None:
    """The node pages its lists by OFFSET (core/web/api.go ParsePaginatedRequest; job/orm.go FindJobs), so
    an item deleted from an earlier page while a list reads on moves the next one onto a page already read:
    the list skips it. Each item the table knew and the list lacks is asked for (GET by name) before the
    list is believed; a job missed so, and then its resource deleted, was left running on the node (1 of
    10,000 in a delete burst during a resync). Many missing at once is someone's deletion: believed."""
    with lock:
        missed = table.missed(listed, written)
    if len(missed) > MAX_RECHECKS:
        return
    for name in missed:
        found = find(name)
        if found is not None:
            listed[name] = found


class NodeSnapshot:
    def __init__(self, node: NodeReader) -> None:
        self._node = node
        self._lock = threading.Lock()
        self._jobs: _Table[NodeJob] = _Table()  # by external job ID
        self._bridges: _Table[NodeBridge] = _Table()  # by name
        self._facts = NodeFacts()
        self._bridges_listed = -math.inf  # time.monotonic() when the last list of the bridges began
        self.listed = threading.Event()
        self.listed_at: float | None = None  # unix time of the last full list
        # Whether the last list found the node other than the agent's own writes had left it (someone
        # else's job, bridge or key change, or the first list): then every resource needs a look.
        self.changed = True
        self.changes = 0  # how many lists found it so: a decision made on the node as it was names one

    def refresh(self, preferred_bundles: frozenset[str] = frozenset(), facts: NodeFacts | None = None) -> int:
        """Lists jobs, bridges and keys (unless `facts` is the keys just listed); returns the number of jobs.
        Templates resolve to the preferred (imported) key bundles first."""
        with self._lock:
            jobs_written = self._jobs.begin_list()
            bridges_written = self._bridges.begin_list()
            self._bridges_listed = time.monotonic()
        try:
            jobs = {job.external_job_id: job for job in self._node.list_jobs()}
            _find_missed(self._lock, self._jobs, jobs, jobs_written, self._node.find_job)
            bridges = self._list_bridges(bridges_written)
            facts = (facts or self._node.facts()).preferring(preferred_bundles)
        except BaseException:
            with self._lock:
                self._jobs.end_list(jobs_written, None)
                self._bridges.end_list(bridges_written, None)
            raise
        with self._lock:
            jobs_changed = self._jobs.end_list(jobs_written, jobs)
            bridges_changed = self._bridges.end_list(bridges_written, bridges)
            self.changed = jobs_changed or bridges_changed or facts != self._facts or not self.listed.is_set()
            self.changes += self.changed
            self._facts = facts
        self.listed_at = time.time()
        self.listed.set()
        return len(jobs)

    def forget(self) -> None:
        """The node was another pod's for a while (role.py): nothing is reconciled until it is listed again,
        and that list is a full pass."""
        self.listed.clear()

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

    def relist_bridges(self) -> None:
        """Lists the node's bridges again, so that a job waiting for a bridge a person made need not wait for
        the next resync. Skipped while a list of them began less than BRIDGE_RELIST_SECONDS ago: however many
        jobs wait, the node sees one list per interval. A failure is raised; the table stays as it was."""
        with self._lock:
            started = time.monotonic()
            if started - self._bridges_listed < BRIDGE_RELIST_SECONDS:
                return
            self._bridges_listed = started
            written = self._bridges.begin_list()
        listed = None
        try:
            listed = self._list_bridges(written)
        finally:
            with self._lock:
                self._bridges.end_list(written, listed)

    def _list_bridges(self, written: dict[str, NodeBridge | None]) -> dict[str, NodeBridge]:
        bridges = {bridge.name: bridge for bridge in self._node.list_bridges()}
        _find_missed(self._lock, self._bridges, bridges, written, self._node.find_bridge)
        return bridges

    def recheck_bridge(self, name: str) -> NodeBridge | None:
        """One bridge asked of the node, after a failed bridge call left its state there unknown."""
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
