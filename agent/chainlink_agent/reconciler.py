"""Reconcile one ChainlinkJob on this node: read the cached resource, plan against the node's jobs,
act through the node client, then record the outcome in status and Events.

Level-triggered: every call starts from the current resource and the node's current jobs, never from
the event that queued the key.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from .conditions import Outcome, now, status_entry
from .kube import Kube
from .nodeclient import NodeClient, NodeRejected, NodeUnavailable
from .nodejobs import NodeJobs
from .plan import Action, Create, Replace, claim_winner, plan
from .resource import ChainlinkJob, StatusEntry, derived_external_job_id, finalizer_for
from .spec import InvalidSpec, RenderedSpec, render

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    retry: bool = False  # requeue with this key's backoff


class Waiting(Exception):
    """Something the spec needs does not exist yet; retried with backoff, the job left as it is."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Reconciler:
    def __init__(
        self,
        node_name: str,
        node_labels: Mapping[str, str],
        lookup: Callable[[str], dict[str, Any] | None],
        remember: Callable[[dict[str, Any]], None],
        enqueue: Callable[[str], None],
        kube: Kube,
        node: NodeClient,
        node_jobs: NodeJobs,
    ) -> None:
        self._node_name = node_name
        self._node_labels = dict(node_labels)
        self._lookup = lookup
        self._remember = remember
        self._enqueue = enqueue
        self._kube = kube
        self._node = node
        self._node_jobs = node_jobs
        self._finalizer = finalizer_for(node_name)
        # external job ID -> {resource key: creationTimestamp}: two resources must never drive one job.
        self._claims: dict[str, dict[str, str]] = {}
        self._claims_lock = threading.Lock()

    def reconcile(self, key: str) -> Result:
        raw = self._lookup(key)
        if raw is None:
            self._release(key)
            return Result()
        job = ChainlinkJob.from_dict(raw)
        recorded = job.status_for(self._node_name)
        wanted = not job.deleting and job.targets(self._node_name, self._node_labels)
        derived = derived_external_job_id(job.uid, self._node_name)
        if not wanted or job.suspend:
            self._release(key)
            if not wanted and self._finalizer not in job.finalizers and recorded is None:
                return Result()  # not ours, and nothing of ours to clean up
            return self._converge(job, recorded, derived, None, wanted)
        try:
            desired = self._desired(job, derived)
        except Waiting as exc:
            self._report(job, recorded, _kept(recorded, "Pending", exc.reason, exc.message), warn=False)
            return Result(retry=True)
        except InvalidSpec as exc:
            # Only a spec edit can fix this, and an edit arrives through the watch: no retry.
            self._report(job, recorded, _kept(recorded, "Invalid", exc.reason, exc.message), warn=True)
            return Result()
        if self._finalizer not in job.finalizers:
            # Before the job exists, so a crash right after creating it still leaves the cleanup duty.
            self._remember(self._kube.add_finalizer(job, self._finalizer))
        return self._converge(job, recorded, derived, desired, wanted)

    def _converge(
        self,
        job: ChainlinkJob,
        recorded: StatusEntry | None,
        derived: str,
        desired: RenderedSpec | None,
        wanted: bool,
    ) -> Result:
        """Makes the node match `desired` (None: no job of this resource on the node), then reports."""
        owned = {derived}
        if recorded and recorded.external_job_id:
            owned.add(recorded.external_job_id)
        if desired is not None:
            owned.add(desired.external_job_id)
        try:
            for action in plan(desired, owned, recorded, self._node_jobs.subset(owned)):
                self._execute(job, action)
        except (NodeRejected, NodeUnavailable) as exc:
            if desired is not None:
                self._recheck(desired.external_job_id)
            if isinstance(exc, NodeRejected):
                outcome = _kept(recorded, "Invalid", "NodeRejected", exc.detail)
            else:
                outcome = _kept(recorded, "Error", "NodeUnavailable", str(exc))
            self._report(job, recorded, outcome, warn=True)
            return Result(retry=True)
        if desired is not None:
            current = self._node_jobs.subset([desired.external_job_id])[desired.external_job_id]
            message = f"job {current.id} runs generation {job.generation}'s spec"
            outcome = Outcome(
                "Synced", "JobSynced", message, current.id, desired.external_job_id, desired.spec_hash
            )
            self._report(job, recorded, outcome, warn=False)
        elif not wanted:
            self._forget(job, recorded)
        else:
            outcome = Outcome(
                "Suspended", "Suspended", "spec.suspend is true: the job is removed from the node"
            )
            self._report(job, recorded, outcome, warn=False)
        return Result()

    def _desired(self, job: ChainlinkJob, derived: str) -> RenderedSpec:
        toml = job.toml
        if job.toml_from is not None:
            ref = job.toml_from
            toml = self._kube.config_map_value(ref.name, ref.key)
            if toml is None:
                raise Waiting("ConfigMapMissing", f"waiting for key {ref.key!r} of ConfigMap {ref.name!r}")
        if not toml:
            raise InvalidSpec("EmptySpec", "the job TOML is empty")
        desired = render(toml, derived)
        winner = self._claim(job, desired.external_job_id)
        if winner != job.key:
            raise InvalidSpec(
                "DuplicateExternalJobID",
                f"external job ID {desired.external_job_id} is already used by ChainlinkJob {winner}",
            )
        return desired

    def _execute(self, job: ChainlinkJob, action: Action) -> None:
        if isinstance(action, Create):
            made = self._node.create_job(action.spec.toml)
            self._node_jobs.put(made)
            reason = "JobRestored" if action.restores else "JobCreated"
            self._event(
                job, "Normal", reason, f"created job {made.id} (external job ID {made.external_job_id})"
            )
        elif isinstance(action, Replace):
            made = self._node.replace_job(action.job_id, action.spec.toml)
            self._node_jobs.put(made)
            self._event(job, "Normal", "JobReplaced", f"replaced job {action.job_id} with job {made.id}")
        else:
            self._node.delete_job(action.job_id)
            self._node_jobs.remove(action.external_job_id)
            self._event(job, "Normal", "JobDeleted", f"deleted job {action.job_id}")

    def _recheck(self, external_id: str) -> None:
        try:
            self._node_jobs.recheck(external_id)
        except (NodeRejected, NodeUnavailable) as exc:
            log.info(
                "could not recheck the job on the node",
                extra={"external_job_id": external_id, "error": str(exc)},
            )

    def _report(self, job: ChainlinkJob, recorded: StatusEntry | None, outcome: Outcome, warn: bool) -> None:
        entry = status_entry(self._node_name, job.generation, outcome, recorded, now())
        if recorded is not None and dict(recorded.raw) == entry:
            return  # unchanged: an idle agent writes nothing
        if warn:
            # One Warning per new problem, not one per retry.
            self._event(job, "Warning", outcome.reason, outcome.message)
        log.info(
            "status",
            extra={
                "key": job.key,
                "phase": outcome.phase,
                "reason": outcome.reason,
                "job_id": outcome.job_id,
            },
        )
        self._apply_status(job, entry)

    def _forget(self, job: ChainlinkJob, recorded: StatusEntry | None) -> None:
        """The resource no longer wants a job here (deleted or untargeted) and the job is gone."""
        if recorded is not None and not job.deleting:
            self._apply_status(job, None)
        if self._finalizer in job.finalizers:
            try:
                self._remember(self._kube.remove_finalizer(job, self._finalizer))
            except ApiException as exc:
                if exc.status != 404:
                    raise

    def _apply_status(self, job: ChainlinkJob, entry: dict[str, Any] | None) -> None:
        try:
            self._remember(self._kube.apply_status(job, entry))
        except ApiException as exc:
            if exc.status != 404:  # a resource deleted meanwhile has no status to write
                raise

    def _event(self, job: ChainlinkJob, event_type: str, reason: str, message: str) -> None:
        log.info("event", extra={"key": job.key, "reason": reason, "event_message": message})
        self._kube.emit_event(job, event_type, reason, message)

    def _claim(self, job: ChainlinkJob, external_id: str) -> str:
        with self._claims_lock:
            self._release_locked(job.key, keep=external_id)
            claimants = self._claims.setdefault(external_id, {})
            claimants[job.key] = job.creation_timestamp
            return claim_winner(claimants)

    def _release(self, key: str) -> None:
        with self._claims_lock:
            self._release_locked(key, keep=None)

    def _release_locked(self, key: str, keep: str | None) -> None:
        for external_id, claimants in list(self._claims.items()):
            if external_id == keep or key not in claimants:
                continue
            del claimants[key]
            if not claimants:
                del self._claims[external_id]
            # A resource that lost this ID to `key` may take it now.
            for other in claimants:
                self._enqueue(other)


def _kept(recorded: StatusEntry | None, phase: str, reason: str, message: str) -> Outcome:
    """An outcome that leaves the node's job as it was, so the status keeps pointing at it."""
    if recorded is None:
        return Outcome(phase, reason, message)
    return Outcome(phase, reason, message, recorded.job_id, recorded.external_job_id, recorded.spec_hash)
