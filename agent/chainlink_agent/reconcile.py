"""Reconcile one resource on this node: read the cached resource, plan against the node snapshot, act
through the node client, then record the outcome in status and Events.

Level-triggered: every call starts from the current resource and the node's current state, never from
the event that queued the key. `Reconciler` here holds what every kind shares (finalizers, status,
Events, claims, the converge tail); `jobs.JobReconciler` and `bridges.BridgeReconciler` are its two kinds.
Kubernetes I/O goes through `Kube` (kube.py), node I/O through `NodeClient` (nodeclient.py); both are
reached through the protocols below, so a reconcile decision is testable with small fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from kubernetes.client.exceptions import ApiException

from . import redaction
from .claims import Claims
from .conditions import Outcome, now, status_entry
from .errors import InvalidSpec, NodeError, Waiting
from .nodetypes import DesiredBridge, NodeBridge, NodeJob
from .phases import EventType, Phase, Reason
from .references import References
from .resource import Resource, StatusEntry, finalizer_for
from .snapshot import NodeSnapshot

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Resource)
D = TypeVar("D")


class Cache(Protocol):
    """The informer's cache (informer.Informer)."""

    def get(self, key: str) -> dict[str, Any] | None: ...
    def store(self, obj: dict[str, Any]) -> None: ...
    def cached_containing(self, text: str) -> list[dict[str, Any]]: ...


class KubeWriter(Protocol):
    """The Kubernetes writes a reconcile makes (kube.Kube)."""

    def add_finalizer(self, obj: Resource, finalizer: str) -> dict[str, Any]: ...
    def remove_finalizer(self, obj: Resource, finalizer: str) -> dict[str, Any]: ...
    def apply_status(self, obj: Resource, entry: dict[str, Any] | None) -> dict[str, Any]: ...
    def emit_event(self, obj: Resource, event_type: str, reason: str, message: str) -> None: ...


class NodeWriter(Protocol):
    """The node's writes a reconcile makes (nodeclient.NodeClient)."""

    def create_job(self, toml: str) -> NodeJob: ...
    def replace_job(self, job_id: str, toml: str) -> NodeJob: ...
    def delete_job(self, job_id: str) -> None: ...
    def create_bridge(self, bridge: DesiredBridge) -> NodeBridge: ...
    def update_bridge(self, bridge: DesiredBridge) -> NodeBridge: ...
    def delete_bridge(self, name: str) -> None: ...


@dataclass(frozen=True)
class Collaborators:
    """What a reconciler works with; one per kind (the cache is that kind's informer)."""

    node_name: str
    node_labels: Mapping[str, str]
    cache: Cache
    enqueue: Callable[[str], None]
    kube: KubeWriter
    node: NodeWriter
    snapshot: NodeSnapshot
    refs: References


@dataclass(frozen=True)
class Result:
    retry: bool = False  # requeue with this key's backoff


class Reconciler(Generic[R, D]):
    """The reconcile every kind shares, and its pieces; a kind supplies _parse, _desired, _converge and
    _hold (the outcome that keeps what the status says this resource has on the node)."""

    def __init__(self, deps: Collaborators) -> None:
        self._node_name = deps.node_name
        self._node_labels = dict(deps.node_labels)
        self._cache = deps.cache
        self._enqueue = deps.enqueue
        self._kube = deps.kube
        self._node = deps.node
        self._snapshot = deps.snapshot
        self._refs = deps.refs
        self._finalizer = finalizer_for(deps.node_name)
        self._claims = Claims(deps.enqueue)
        # Each targeting resource's phase here as last reported: the ChainlinkNode's counts, kept as
        # reconciles go rather than by decoding every cached object per report.
        self.phases: dict[str, Phase] = {}

    def reconcile(self, key: str) -> Result:
        raw = self._cache.get(key)
        if raw is None:
            self._claims.release(key)
            self.phases.pop(key, None)
            return Result()
        obj = self._parse(raw)
        recorded = obj.status_for(self._node_name)
        wanted = not obj.deleting and obj.targets(self._node_name, self._node_labels)
        if not wanted or obj.suspend:
            if not wanted and self._finalizer not in obj.finalizers and recorded is None:
                self._claims.release(key)
                self.phases.pop(key, None)
                return Result()  # not ours, and nothing of ours to clean up
            result = self._converge(obj, recorded, None, wanted)
            if not result.retry:
                # Only once the cleanup is done: until then this resource still holds what it claimed,
                # and a waiting claimant taking over earlier would have its new job deleted by it.
                self._claims.release(key)
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

    def needs_resync(self, key: str) -> bool:
        """Whether a resync must reconcile this key when the node is as the agent left it (snapshot.changed
        is False). A kind whose resources cannot go stale without a watch event or a node change says no
        for its settled ones."""
        return True

    def _parse(self, raw: dict[str, Any]) -> R:
        raise NotImplementedError

    def _desired(self, obj: R, recorded: StatusEntry | None) -> D:
        raise NotImplementedError

    def _converge(self, obj: R, recorded: StatusEntry | None, desired: D | None, wanted: bool) -> Result:
        """Makes the node match `desired` (None: nothing of this resource on the node), then reports."""
        raise NotImplementedError

    def _hold(self, recorded: StatusEntry | None, phase: Phase, reason: Reason, message: str) -> Outcome:
        raise NotImplementedError

    def _settled(self, obj: R, recorded: StatusEntry | None, synced: Outcome | None, wanted: bool) -> Result:
        """The tail of a converge that went through: `synced` reported (the node matches the spec), or the
        resource forgotten (it no longer wants anything here), or Suspended."""
        if synced is not None:
            self._report(obj, recorded, synced, None)
        elif not wanted:
            self._forget(obj, recorded)
        else:
            what = "job" if obj.KIND == "ChainlinkJob" else "bridge"
            message = f"spec.suspend is true: the {what} is removed from the node"
            self._report(obj, recorded, Outcome("Suspended", "Suspended", message), None)
        return Result()

    def _report(
        self, obj: Resource, recorded: StatusEntry | None, outcome: Outcome, event: EventType | None
    ) -> dict[str, Any]:
        """Writes this node's entry if it changed, with one Event (`event` is its type) per change, not one
        per retry. Returns the entry."""
        message = redaction.redact(outcome.message)
        if message != outcome.message:
            outcome = replace(outcome, message=message)
        entry = status_entry(self._node_name, obj.generation, outcome, recorded, now())
        self.phases[obj.key] = outcome.phase
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
        self.phases.pop(obj.key, None)
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

    def _event(self, obj: Resource, event_type: EventType, reason: Reason, message: str) -> None:
        message = redaction.redact(message)
        log.info("event", extra={"key": obj.key, "reason": reason, "event_message": message})
        self._kube.emit_event(obj, event_type, reason, message)

    def _claim(
        self, obj: Resource, name: str, what: str, reason: Reason, only_if_contested: bool = False
    ) -> None:
        """Claims `name` for obj. If an older resource holds it, obj is Invalid with `reason`:
        "<what> is already used by <kind> <name>"."""
        winner = self._claims.claim(obj.key, obj.creation_timestamp, name, only_if_contested)
        if winner is not None and winner != obj.key:
            raise InvalidSpec(reason, f"{what} is already used by {obj.KIND} {winner.split('/', 1)[1]}")

    def _recheck(self, recheck: Callable[[str], object], name: str) -> None:
        """After a failed node call the node's state is unknown: ask it about this one thing. A failure
        here changes nothing; the next reconcile asks again."""
        try:
            recheck(name)
        except NodeError as exc:
            log.info("could not recheck the node", extra={"item": name, "error": str(exc)})


def kept(recorded: StatusEntry | None, phase: Phase, reason: Reason, message: str) -> Outcome:
    """An outcome that leaves the node's job as it was, so the status keeps pointing at it."""
    if recorded is None:
        return Outcome(phase, reason, message)
    return Outcome(phase, reason, message, recorded.job_id, recorded.external_job_id, recorded.spec_hash)
