"""The node's jobs by external job ID: listed once per resync and kept current by the agent's own writes,
so reconciling N resources costs one job list, not N."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .nodeclient import NodeClient
from .plan import NodeJob


class NodeJobs:
    def __init__(self, node: NodeClient) -> None:
        self._node = node
        self._lock = threading.Lock()
        self._by_external_id: dict[str, NodeJob] = {}
        self.listed = threading.Event()

    def refresh(self) -> int:
        jobs = self._node.list_jobs()
        with self._lock:
            self._by_external_id = {job.external_job_id: job for job in jobs}
        self.listed.set()
        return len(jobs)

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

    def remove(self, external_id: str) -> None:
        with self._lock:
            self._by_external_id.pop(external_id, None)
