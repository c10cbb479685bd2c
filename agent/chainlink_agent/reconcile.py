"""Reconcile one resource on this node: read the cached resource and this node's placement of it (the
record of what the agent made), plan against the node snapshot, act through the node client, then record
the outcome in the placement and Events.

Level-triggered: every call starts from the current resource and the node's current state, never from
the event that queued the key. `Reconciler` here holds what every kind shares (the placement, Events,
claims, the converge tail); `jobs.JobReconciler` and `bridges.BridgeReconciler` are its two kinds.
Kubernetes I/O goes through `Kube` (kube.py), node I/O through `NodeClient` (nodeclient.py); both are
reached through the protocols below, so a reconcile decision is testable with small fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from . import placement, redaction
from .claims import Claims
from .conditions import Outcome, now, status_entry
from .errors import InvalidSpec, NodeError, Waiting
from .nodetypes import DesiredBridge, NodeBridge, NodeJob
from .phases import EventType, Phase, Reason
from .references import References
from .resource import Resource, StatusEntry, split_key
from .snapshot import NodeSnapshot

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Resource)
D = TypeVar("D")


class Cache(Protocol):
    """An informer's cache (informer.Informer)."""

    def get(self, key: str) -> dict[str, Any] | None: ...
    def store(self, obj: dict[str, Any]) -> None: ...
    def discard(self, key: str) -> None: ...
    def cached_containing(self, text: str) -> list[dict[str, Any]]: ...


class KubeWriter(Protocol):
    """The Kubernetes writes a reconcile makes (kube.Kube)."""

    def apply_placement(self, obj: Resource, entry: dict[str, Any]) -> dict[str, Any]: ...
    def delete_placement(self, kind: str, name: str) -> None: ...
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
    placements: Cache  # this node's, under their resources' keys (informer.own_placements)
    enqueue: Callable[[str], None]
    summarize: Callable[[str], None]  # a placement changed: the aggregator's cue (aggregator.py)
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
        self._placements = deps.placements
        self._enqueue = deps.enqueue
        self._summarize = deps.summarize
        self._kube = deps.kube
        self._node = deps.node
        self._snapshot = deps.snapshot
        self._refs = deps.refs
        self._claims = Claims(deps.enqueue)
        # Each targeting resource's phase here as last reported: the ChainlinkNode's counts, kept as
        # reconciles go rather than by decoding every cached object per report.
        self.phases: dict[str, Phase] = {}

    def reconcile(self, key: str) -> Result:
        raw = self._cache.get(key)
        recorded = self.recorded(key)
        if raw is not None:
            obj = self._parse(raw)
        elif recorded is not None:
            # A resource gone with a placement left: what the placement records is still to be removed.
            obj = self._gone(key, recorded)
        else:
            self._claims.release(key)
            self.phases.pop(key, None)
            return Result()
        wanted = not obj.deleting and obj.targets(self._node_name, self._node_labels)
        if not wanted or obj.suspend:
            if not wanted and recorded is None:
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
        if recorded is None:
            # The placement before anything is made on the node: a crash right after still leaves the
            # record that cleans it up, even once the resource is gone.
            ahead = Outcome("Pending", "Creating", "making it on the node")
            recorded = placement.entry(
                {"spec": {"uid": obj.uid}, "status": self._report(obj, None, ahead, None)}
            )
        return self._converge(obj, recorded, desired, wanted)

    def recorded(self, key: str) -> StatusEntry | None:
        """This node's record of the resource: its placement, if there is one."""
        held = self._placements.get(key)
        return None if held is None else placement.entry(held)

    def needs_resync(self, key: str) -> bool:
        """Whether a resync must reconcile this key when the node is as the agent left it (snapshot.changed
        is False). A kind whose resources cannot go stale without a watch event or a node change says no
        for its settled ones."""
        return True

    def _parse(self, raw: dict[str, Any]) -> R:
        raise NotImplementedError

    def _gone(self, key: str, recorded: StatusEntry) -> R:
        """A deleted resource, as far as its placement tells."""
        namespace, name = split_key(key)[1].split("/", 1)
        metadata = {"namespace": namespace, "name": name, "uid": recorded.uid, "deletionTimestamp": "gone"}
        return self._parse({"metadata": metadata, "spec": {}})

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
        """Writes this node's placement if it changed, with one Event (`event` is its type) per change, not
        one per retry. Returns the entry (the placement's status)."""
        message = redaction.redact(outcome.message)
        if message != outcome.message:
            outcome = replace(outcome, message=message)
        entry = status_entry(obj.generation, outcome, recorded, now())
        self.phases[obj.key] = outcome.phase
        if recorded is not None and dict(recorded.raw) == entry and recorded.uid == obj.uid:
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
        self._placements.store(self._kube.apply_placement(obj, entry))
        self._summarize(obj.key)
        return entry

    def _forget(self, obj: Resource, recorded: StatusEntry | None) -> None:
        """The resource no longer wants anything here (deleted or untargeted) and it is gone from the node:
        so goes its placement."""
        self.phases.pop(obj.key, None)
        if recorded is not None:
            self._kube.delete_placement(obj.KIND, obj.name)
            self._placements.discard(obj.key)
            self._summarize(obj.key)

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
