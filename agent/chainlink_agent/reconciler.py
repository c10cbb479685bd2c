"""Reconcile one resource on this node: read the cached resource, plan against the node snapshot, act
through the node client, then record the outcome in status and Events.

Level-triggered: every call starts from the current resource and the node's current state, never from
the event that queued the key. `Reconciler` holds what every kind shares (finalizers, status, Events,
claims); `JobReconciler` here and `bridges.BridgeReconciler` add what is particular to their kind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from kubernetes.client.exceptions import ApiException

from . import pipeline, redaction, template
from .conditions import Outcome, now, status_entry
from .informer import Informer
from .kube import Kube
from .nodeclient import NodeClient, NodeRejected, NodeUnavailable
from .plan import Action, Create, Replace, claim_winner, plan
from .references import References
from .resource import ChainlinkJob, Resource, StatusEntry, derived_external_job_id, finalizer_for
from .snapshot import NodeSnapshot
from .spec import InvalidSpec, RenderedSpec, render, rendered_before

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Resource)
D = TypeVar("D")
# The node's answer when a job names a bridge it does not have (job ORM.AssertBridgesExist, a 500).
NODE_BRIDGES_MISSING = "not all bridges exist"


@dataclass(frozen=True)
class Result:
    retry: bool = False  # requeue with this key's backoff


class Waiting(Exception):
    """Something the spec needs does not exist yet; retried with backoff, the node left as it is."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Reconciler(Generic[R, D]):
    """The reconcile every kind shares, and its pieces; a kind supplies _parse, _desired, _converge and
    _hold (the outcome that keeps what the status says this resource has on the node)."""

    def __init__(
        self,
        node_name: str,
        node_labels: Mapping[str, str],
        cache: Informer,
        enqueue: Callable[[str], None],
        kube: Kube,
        node: NodeClient,
        snapshot: NodeSnapshot,
        refs: References,
    ) -> None:
        self._node_name = node_name
        self._node_labels = dict(node_labels)
        self._cache = cache
        self._enqueue = enqueue
        self._kube = kube
        self._node = node
        self._snapshot = snapshot
        self._refs = refs
        self._finalizer = finalizer_for(node_name)
        # claimed name (an external job ID, a bridge name) -> {resource key: creationTimestamp}: two
        # resources must never drive one thing on the node.
        self._claims: dict[str, dict[str, str]] = {}
        # key -> names it claims: releasing a key's claims costs its own claims, not one pass over all N.
        self._claimed_by: dict[str, set[str]] = {}
        self._claims_lock = threading.Lock()

    def reconcile(self, key: str) -> Result:
        raw = self._cache.get(key)
        if raw is None:
            self._release(key)
            return Result()
        obj = self._parse(raw)
        recorded = obj.status_for(self._node_name)
        wanted = not obj.deleting and obj.targets(self._node_name, self._node_labels)
        if not wanted or obj.suspend:
            if not wanted and self._finalizer not in obj.finalizers and recorded is None:
                self._release(key)
                return Result()  # not ours, and nothing of ours to clean up
            result = self._converge(obj, recorded, None, wanted)
            if not result.retry:
                # Only once the cleanup is done: until then this resource still holds what it claimed,
                # and a waiting claimant taking over earlier would have its new job deleted by it.
                self._release(key)
            return result
        try:
            desired = self._desired(obj, recorded)
        except Waiting as exc:
            self._report(obj, recorded, self._hold(recorded, "Pending", exc.reason, exc.message), "Normal")
            return Result(retry=True)
        except InvalidSpec as exc:
            # Only a spec edit can fix this, and an edit arrives through the watch: no retry.
            self._report(obj, recorded, self._hold(recorded, "Invalid", exc.reason, exc.message), "Warning")
            return Result()
        if self._finalizer not in obj.finalizers:
            # Before anything is made on the node, so a crash right after still leaves the cleanup duty.
            self._cache.store(self._kube.add_finalizer(obj, self._finalizer))
        return self._converge(obj, recorded, desired, wanted)

    def _parse(self, raw: dict[str, Any]) -> R:
        raise NotImplementedError

    def _desired(self, obj: R, recorded: StatusEntry | None) -> D:
        raise NotImplementedError

    def _converge(self, obj: R, recorded: StatusEntry | None, desired: D | None, wanted: bool) -> Result:
        """Makes the node match `desired` (None: nothing of this resource on the node), then reports."""
        raise NotImplementedError

    def _hold(self, recorded: StatusEntry | None, phase: str, reason: str, message: str) -> Outcome:
        raise NotImplementedError

    def _report(
        self, obj: Resource, recorded: StatusEntry | None, outcome: Outcome, event: str | None
    ) -> dict[str, Any]:
        """Writes this node's entry if it changed, with one Event (`event` is its type) per change, not one
        per retry. Returns the entry."""
        message = redaction.redact(outcome.message)
        if message != outcome.message:
            outcome = replace(outcome, message=message)
        entry = status_entry(self._node_name, obj.generation, outcome, recorded, now())
        if recorded is not None and dict(recorded.raw) == entry:
            return entry  # unchanged: an idle agent writes nothing
        if event is not None:
            self._event(obj, event, outcome.reason, outcome.message)
        log.info(
            "status",
            extra={
                "key": obj.key,
                "phase": outcome.phase,
                "reason": outcome.reason,
                "job_id": outcome.job_id,
            },
        )
        self._apply_status(obj, entry)
        return entry

    def _forget(self, obj: Resource, recorded: StatusEntry | None) -> None:
        """The resource no longer wants anything here (deleted or untargeted) and it is gone."""
        if recorded is not None and not obj.deleting:
            self._apply_status(obj, None)
        if self._finalizer in obj.finalizers:
            try:
                self._cache.store(self._kube.remove_finalizer(obj, self._finalizer))
            except ApiException as exc:
                if exc.status != 404:
                    raise

    def _apply_status(self, obj: Resource, entry: dict[str, Any] | None) -> None:
        try:
            self._cache.store(self._kube.apply_status(obj, entry))
        except ApiException as exc:
            if exc.status != 404:  # a resource deleted meanwhile has no status to write
                raise

    def _event(self, obj: Resource, event_type: str, reason: str, message: str) -> None:
        message = redaction.redact(message)
        log.info("event", extra={"key": obj.key, "reason": reason, "event_message": message})
        self._kube.emit_event(obj, event_type, reason, message)

    def _claim(
        self, obj: Resource, name: str, what: str, reason: str, only_if_contested: bool = False
    ) -> None:
        """Claims `name` for obj (releasing what it claimed before). If an older resource holds it, obj is
        Invalid with `reason`: "<what> is already used by <kind> <name>".

        only_if_contested: for a derived name (an external job ID made from the resource's UID), which is
        only claimed once another resource claims it too, by setting it by hand: the claims table then holds
        the names people write, not one entry per resource (10,000 entries at scale, for nothing)."""
        with self._claims_lock:
            if only_if_contested and name not in self._claims:
                self._release_locked(obj.key, keep=None)
                return
            self._release_locked(obj.key, keep=name)
            claimants = self._claims.setdefault(name, {})
            claimants[obj.key] = obj.creation_timestamp
            self._claimed_by.setdefault(obj.key, set()).add(name)
            winner = claim_winner(claimants)
        if winner != obj.key:
            raise InvalidSpec(reason, f"{what} is already used by {obj.KIND} {winner.split('/', 1)[1]}")

    def _seed_claim(self, name: str, key: str, creation_timestamp: str) -> None:
        """Records a claim of another resource, learnt before that resource was reconciled."""
        with self._claims_lock:
            self._claims.setdefault(name, {})[key] = creation_timestamp
            self._claimed_by.setdefault(key, set()).add(name)

    def _release(self, key: str) -> None:
        with self._claims_lock:
            self._release_locked(key, keep=None)

    def _release_locked(self, key: str, keep: str | None) -> None:
        names = self._claimed_by.pop(key, set())
        if keep in names:
            self._claimed_by[key] = {keep}
        for name in names - {keep}:
            claimants = self._claims[name]
            del claimants[key]
            if not claimants:
                del self._claims[name]
            # A resource that lost this name to `key` may take it now.
            for other in claimants:
                self._enqueue(other)


class JobReconciler(Reconciler[ChainlinkJob, RenderedSpec]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # bridge name -> keys of the jobs waiting for it; a bridge the agent makes wakes them at once.
        self._waiting: dict[str, set[str]] = {}
        self._waiting_lock = threading.Lock()

    def bridge_ready(self, name: str) -> None:
        with self._waiting_lock:
            keys = self._waiting.pop(name, set())
        for key in sorted(keys):
            self._enqueue(key)

    def _parse(self, raw: dict[str, Any]) -> ChainlinkJob:
        return ChainlinkJob.from_dict(raw)

    def _hold(self, recorded: StatusEntry | None, phase: str, reason: str, message: str) -> Outcome:
        return _kept(recorded, phase, reason, message)

    def _converge(
        self,
        job: ChainlinkJob,
        recorded: StatusEntry | None,
        desired: RenderedSpec | None,
        wanted: bool,
    ) -> Result:
        owned = {derived_external_job_id(job.uid, self._node_name)}
        if recorded and recorded.external_job_id:
            owned.add(recorded.external_job_id)
        if desired is not None:
            owned.add(desired.external_job_id)
        try:
            for action in plan(desired, owned, recorded, self._snapshot.subset(owned)):
                self._execute(job, action)
        except (NodeRejected, NodeUnavailable) as exc:
            if desired is not None:
                self._recheck(desired.external_job_id)
            if isinstance(exc, NodeRejected) and exc.detail.startswith(NODE_BRIDGES_MISSING):
                # The snapshot thought the bridges were there; the node knows better. Wait, as for any
                # missing bridge, instead of reporting a refusal.
                message = f"waiting for bridges the node does not have: {exc.detail}"
                outcome = _kept(recorded, "Pending", "BridgeMissing", message)
                self._report(job, recorded, outcome, event="Normal")
                return Result(retry=True)
            if isinstance(exc, NodeRejected):
                outcome = _kept(recorded, "Invalid", "NodeRejected", exc.detail)
            else:
                outcome = _kept(recorded, "Error", "NodeUnavailable", str(exc))
            self._report(job, recorded, outcome, event="Warning")
            return Result(retry=True)
        if desired is not None:
            current = self._snapshot.subset([desired.external_job_id])[desired.external_job_id]
            message = f"job {current.id} runs generation {job.generation}'s spec"
            outcome = Outcome(
                "Synced", "JobSynced", message, current.id, desired.external_job_id, desired.spec_hash
            )
            self._report(job, recorded, outcome, event=None)
        elif not wanted:
            self._forget(job, recorded)
        else:
            outcome = Outcome(
                "Suspended", "Suspended", "spec.suspend is true: the job is removed from the node"
            )
            self._report(job, recorded, outcome, event=None)
        return Result()

    def _desired(self, job: ChainlinkJob, recorded: StatusEntry | None) -> RenderedSpec:
        toml = job.toml
        if job.toml_from is not None:
            ref = job.toml_from
            toml = self._refs.config_map(ref.name, ref.key)
            if toml is None:
                raise Waiting("ConfigMapMissing", f"waiting for key {ref.key!r} of ConfigMap {ref.name!r}")
        if not toml:
            raise InvalidSpec("EmptySpec", "the job TOML is empty")
        derived = derived_external_job_id(job.uid, self._node_name)
        resolved = self._resolve(toml)
        desired = (
            rendered_before(resolved, derived, recorded.external_job_id, recorded.spec_hash)
            if recorded is not None
            else None
        ) or render(resolved, derived)
        if redaction.is_secret_uuid(desired.external_job_id):
            # It is recorded in status and in Events, which everyone who may read the resource reads.
            raise InvalidSpec("SecretNotAllowed", "externalJobID may not come from a Secret")
        hand_set = desired.external_job_id != derived
        if hand_set:
            self._learn_claims(job, desired.external_job_id)
        self._claim(
            job,
            desired.external_job_id,
            f"external job ID {desired.external_job_id}",
            "DuplicateExternalJobID",
            only_if_contested=not hand_set,
        )
        self._await_bridges(job, pipeline.bridge_names(desired.toml))
        return desired

    def _learn_claims(self, job: ChainlinkJob, external_id: str) -> None:
        """Claims are otherwise learnt as resources are reconciled, in whatever order the workers take them;
        a TOML-set external job ID is checked against every resource in the cache that could hold it on
        this node, so the oldest wins at a cold start too. A resource holds it while it wants it (inline
        TOML setting it) or while its finalizer guards a job recorded under it."""
        # Either way its JSON names the ID (a UUID: nothing in it is escaped), so only those are read.
        for raw in self._cache.values(containing=external_id):
            other = ChainlinkJob.from_dict(raw)
            if other.key == job.key:
                continue
            recorded = other.status_for(self._node_name)
            holds_job = (
                recorded is not None
                and recorded.external_job_id == external_id
                and self._finalizer in other.finalizers
            )
            if holds_job or self._wants_inline(other, external_id):
                self._seed_claim(external_id, other.key, other.creation_timestamp)

    def _wants_inline(self, job: ChainlinkJob, external_id: str) -> bool:
        active = not job.deleting and not job.suspend and job.targets(self._node_name, self._node_labels)
        if not active or not job.toml or external_id not in job.toml.lower():
            return False
        try:
            return render(job.toml, "").external_job_id == external_id
        except InvalidSpec:
            return False

    def _resolve(self, toml: str) -> str:
        """The TOML with its {{ }} references resolved for this node. Secret values go only into the
        returned text, which is sent to the node and hashed; every message is redacted of them."""
        refs = template.references(toml)
        if not refs:
            return toml
        values: dict[tuple[str, str, str], str | None] = {}
        for fn, name, key in sorted(template.lookups(refs)):
            read = self._refs.secret if fn == "secret" else self._refs.config_map
            values[(fn, name, key)] = read(name, key)
        try:
            return template.substitute(toml, self._snapshot.facts(), values)
        except template.Unresolved as exc:
            raise Waiting("UnresolvedReference", exc.message) from None

    def _await_bridges(self, job: ChainlinkJob, names: list[str]) -> None:
        known = self._snapshot.bridges(names)
        missing = [n for n in names if n not in known and self._ask_bridge(n) is None]
        with self._waiting_lock:
            for waiters in self._waiting.values():
                waiters.discard(job.key)
            for name in missing:
                self._waiting.setdefault(name, set()).add(job.key)
        if missing:
            plural = "bridge" if len(missing) == 1 else "bridges"
            raise Waiting("BridgeMissing", f"waiting for {plural} {', '.join(missing)}")

    def _ask_bridge(self, name: str) -> object | None:
        try:
            return self._snapshot.recheck_bridge(name)
        except (NodeRejected, NodeUnavailable):
            return None

    def _execute(self, job: ChainlinkJob, action: Action) -> None:
        if isinstance(action, Create):
            made = self._node.create_job(action.spec.toml)
            self._snapshot.put(made)
            reason = "JobRestored" if action.restores else "JobCreated"
            self._event(
                job, "Normal", reason, f"created job {made.id} (external job ID {made.external_job_id})"
            )
        elif isinstance(action, Replace):
            made = self._node.replace_job(action.job_id, action.spec.toml)
            self._snapshot.put(made)
            self._event(job, "Normal", "JobReplaced", f"replaced job {action.job_id} with job {made.id}")
        else:
            self._node.delete_job(action.job_id)
            self._snapshot.remove(action.external_job_id)
            self._event(job, "Normal", "JobDeleted", f"deleted job {action.job_id}")

    def _recheck(self, external_id: str) -> None:
        try:
            self._snapshot.recheck(external_id)
        except (NodeRejected, NodeUnavailable) as exc:
            log.info(
                "could not recheck the job on the node",
                extra={"external_job_id": external_id, "error": str(exc)},
            )


def _kept(recorded: StatusEntry | None, phase: str, reason: str, message: str) -> Outcome:
    """An outcome that leaves the node's job as it was, so the status keeps pointing at it."""
    if recorded is None:
        return Outcome(phase, reason, message)
    return Outcome(phase, reason, message, recorded.job_id, recorded.external_job_id, recorded.spec_hash)
