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
from enum import Enum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from chainlink_agent.control import claims
from chainlink_agent.control.claims import Claimant, Claims
from chainlink_agent.control.controller import Result
from chainlink_agent.control.references import References
from chainlink_agent.model import placement, redaction
from chainlink_agent.model.conditions import Outcome, now, placement_status
from chainlink_agent.model.errors import InvalidSpec, NodeError, NodeRejected, SpecError, Waiting
from chainlink_agent.model.nodetypes import DesiredBridge, NodeBridge, NodeJob
from chainlink_agent.model.phases import EventType, Phase, Reason
from chainlink_agent.model.placement import Record
from chainlink_agent.model.resource import Resource, split_key
from chainlink_agent.node.snapshot import NodeSnapshot

log = logging.getLogger(__name__)
# A resource that waits (for a bridge made by hand, a key the node lacks, a ConfigMap, the resource that
# holds its name) is looked at again this often, and at each resync; a bridge the agent makes, or a change
# a watch shows, wakes it at once.
WAIT_SECONDS = 30.0
R = TypeVar("R", bound=Resource)
D = TypeVar("D")


class Cache(Protocol):
    """An informer's cache (informer.Informer)."""

    def get(self, key: str) -> dict[str, Any] | None: ...
    def store(self, obj: dict[str, Any]) -> None: ...
    def discard(self, key: str) -> None: ...
    def cached_claiming(self, name: str) -> list[dict[str, Any]]: ...


class KubeWriter(Protocol):
    """The Kubernetes writes a reconcile makes (kube.Kube)."""

    def apply_placement(self, obj: Resource, entry: dict[str, Any]) -> dict[str, Any]: ...
    def mark_released(self, name: str, released: bool) -> dict[str, Any]: ...
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


class Reconciler(Generic[R, D]):
    """The reconcile every kind shares, and its pieces; a kind supplies _parse, _desired, _converge and
    _keeping (the outcome that keeps what the record says this resource has on the node), and for its names
    (claims.py) _name, _held, _without_held, _pinned and _on_node."""

    NAMED: ClassVar[str]  # what a name of this kind is, in messages
    DUPLICATE: ClassVar[Reason]  # the reason of a resource that lost its name to another

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
        obj = None
        if raw is not None:
            obj = self._parse(raw)
        elif recorded is not None:
            # A resource gone with a placement left: what the placement records is still to be removed.
            obj = self._gone(key, recorded)
        held = self._held(recorded)
        # Checked before anything is done under the name: a resource that lost it never acts on it.
        if (
            obj is not None
            and recorded is not None
            and held is not None
            and (taker := self._taker(obj, held)) is not None
        ):
            if self._holders(held) == {key} and self._on_node(held):
                # Its record is the only sign that the agent made what the node has under the name: kept,
                # and nothing done, until the winner takes that over.
                self._enqueue(taker)
                lost = InvalidSpec(self.DUPLICATE, self._used_by(obj, held, taker))
                return self._stopped(obj, recorded, lost, Result(requeue_after=WAIT_SECONDS))
            recorded = self._without_held(recorded)
        seen = Seen(
            present=obj is not None,
            recorded=recorded is not None,
            deleting=obj is not None and obj.deleting,
            targeted=obj is not None and obj.targets(self._node_name, self._node_labels),
            suspended=obj is not None and obj.suspend,
        )
        decided = step(seen, lambda: obj is not None and self._inherited(obj) is not None)
        if decided is Step.FORGET:
            if not seen.present or seen.deleting:
                self._claims.release(key, None)
            self.phases.pop(key, None)
            return Result()
        assert obj is not None  # noqa: S101 - step() forgets an absent resource
        if decided is Step.REMOVE:
            return self._remove(obj, recorded, held, seen.wanted)
        try:
            desired = self._desired(obj, recorded)
        except (Waiting, InvalidSpec) as exc:
            return self._stopped(obj, recorded, exc)
        if recorded is None:
            # The placement before anything is made on the node: a crash right after still leaves the
            # record that cleans it up, even once the resource is gone.
            ahead = self._ahead(desired)
            recorded = placement.record(
                {"spec": {"uid": obj.uid}, "status": self._record(obj, None, ahead, None)}
            )
        return self._converge(obj, recorded, desired, True)

    def _stopped(
        self, obj: R, recorded: Record | None, exc: SpecError | NodeError, result: Result | None = None
    ) -> Result:
        """Records why obj cannot be made to match (verdict()), keeping what its record says it has on
        the node, and says when its key comes back (`result` instead of the verdict's, if given)."""
        v = verdict(exc)
        self._record(obj, recorded, self._keeping(recorded, v.phase, v.reason, v.message), v.event)
        return v.result if result is None else result

    def _ahead(self, desired: D) -> Outcome:
        """The entry written before anything is made on the node."""
        return Outcome("Pending", "Creating", "making it on the node")

    def _remove(self, obj: R, recorded: Record | None, held: str | None, wanted: bool) -> Result:
        """Nothing of obj is wanted on this node (deleted, untargeted or suspended): removes what it holds
        there. held: the name its placement recorded."""
        result = self._converge(obj, recorded, None, wanted)
        if obj.deleting and not result.retry:
            # Only deletion lets go of a name, and only once the cleanup is done (claims.winner).
            self._claims.release(obj.key, held)
        return result

    def recorded(self, key: str) -> Record | None:
        """This node's record of the resource: its placement, if there is one."""
        held = self._placements.get(key)
        return None if held is None else placement.record(held)

    def needs_resync(self, key: str) -> bool:
        """Whether a resync must reconcile this key when the node is as the agent left it (snapshot.changed
        is False). A kind whose resources cannot go stale without a watch event or a node change says no
        for its settled ones."""
        return True

    def _parse(self, raw: dict[str, Any]) -> R:
        raise NotImplementedError

    def _gone(self, key: str, recorded: Record) -> R:
        """A deleted resource, as far as its placement tells."""
        namespace, name = split_key(key)[1].split("/", 1)
        metadata = {"namespace": namespace, "name": name, "uid": recorded.uid, "deletionTimestamp": "gone"}
        return self._parse({"metadata": metadata, "spec": {}})

    def _desired(self, obj: R, recorded: Record | None) -> D:
        raise NotImplementedError

    def _converge(self, obj: R, recorded: Record | None, desired: D | None, wanted: bool) -> Result:
        """Makes the node match `desired` (None: nothing of this resource on the node), then reports."""
        raise NotImplementedError

    def _keeping(self, recorded: Record | None, phase: Phase, reason: Reason, message: str) -> Outcome:
        raise NotImplementedError

    def _name(self, obj: R) -> str | None:
        """The name obj's spec sets, whatever its suspend and targets (None: none this node can tell)."""
        raise NotImplementedError

    def _held(self, recorded: Record | None) -> str | None:
        """The name a placement records this resource holding on the node."""
        raise NotImplementedError

    def _without_held(self, recorded: Record) -> Record:
        """The record without the name it holds."""
        raise NotImplementedError

    def _pinned(self, obj: R, name: str) -> bool:
        """Whether obj's name was set by hand, so another resource may set it too."""
        raise NotImplementedError

    def _on_node(self, name: str) -> bool:
        raise NotImplementedError

    def _settled(self, obj: R, recorded: Record | None, synced: Outcome | None, wanted: bool) -> Result:
        """The tail of a converge that went through: `synced` reported (the node matches the spec), or the
        resource forgotten (it no longer wants anything here), or Suspended."""
        if synced is not None:
            self._record(obj, recorded, synced, None)
        elif not wanted:
            self._forget(obj, recorded)
        else:
            what = "job" if obj.KIND == "ChainlinkJob" else "bridge"
            message = f"spec.suspend is true: the {what} is removed from the node"
            # The external job ID stays recorded: a suspended resource keeps it, and others find it here.
            ext = recorded.external_job_id if recorded is not None else None
            self._record(obj, recorded, Outcome("Suspended", "Suspended", message, external_job_id=ext), None)
        return Result()

    def _record(
        self, obj: Resource, recorded: Record | None, outcome: Outcome, event: EventType | None
    ) -> dict[str, Any]:
        """Writes this node's placement if it changed, with one Event (`event` is its type) per change, not
        one per retry. Returns the record as written (the placement's status)."""
        message = redaction.redact(outcome.message)
        if message != outcome.message:
            outcome = replace(outcome, message=message)
        entry = placement_status(obj.generation, outcome, recorded, now())
        self.phases[obj.key] = outcome.phase
        if recorded is not None and recorded.released:
            # Back on the database its release was uninstalled from: the record is current again.
            name = placement.name(obj.KIND, obj.name, self._node_name)
            self._placements.store(self._kube.mark_released(name, released=False))
            self._summarize(obj.key)
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

    def _forget(self, obj: Resource, recorded: Record | None) -> None:
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

    def _claim(self, obj: R, recorded: Record | None, name: str) -> None:
        """Claims `name`, which obj's spec sets, for obj: Invalid (self.DUPLICATE) if another resource
        holds it (claims.winner)."""
        contestable = self._contestable(obj, name)
        # A derived name is recorded only once another resource sets it by hand: the table then holds
        # the names people write, not one entry per resource.
        self._claims.claim(obj.key, name if contestable else None)
        if self._held(recorded) == name:
            return  # checked at the start of this reconcile
        taker = self._taker(obj, name)
        if taker is not None:
            raise InvalidSpec(self.DUPLICATE, self._used_by(obj, name, taker))

    def _used_by(self, obj: R, name: str, taker: str) -> str:
        return f"{self.NAMED} {name} is already used by {obj.KIND} {split_key(taker)[1]}"

    def _taker(self, obj: R, name: str) -> str | None:
        """Another resource that wins `name` from obj, if any."""
        if not self._contestable(obj, name):
            return None
        taker = self._winner(name)
        return None if taker in (None, obj.key) else taker

    def _contestable(self, obj: R, name: str) -> bool:
        return self._pinned(obj, name) or self._claims.contested(name, obj.key)

    def _winner(self, name: str) -> str | None:
        """Who may act on `name` on this node (claims.winner): of every resource that sets it (found in
        the cache by the names it claims, or by what its reconcile found) or whose placement here records
        it."""
        holders = self._holders(name)
        found = {obj.key: obj for obj in map(self._parse, self._cache.cached_claiming(name))}
        for key in (self._claims.keys(name) | holders) - found.keys():
            raw = self._cache.get(key)
            if raw is not None:
                found[key] = self._parse(raw)
        claimants = []
        for key in found.keys() | holders:
            alive = found.get(key)
            if alive is not None and alive.deleting:
                alive = None
            if key in holders or (alive is not None and self._name(alive) == name):
                created = alive.creation_timestamp if alive is not None else None
                claimants.append(Claimant(key, created, key in holders))
        return claims.winner(claimants)

    def _holders(self, name: str) -> set[str]:
        """The resources whose placement on this node records `name`."""
        return {
            placement.resource_key(held)
            for held in self._placements.cached_claiming(name)
            if self._held(placement.record(held)) == name
        }

    def _inherited(self, obj: R) -> str | None:
        """The name obj sets and wins, when the node has something under it that another resource's
        placement records (made while that one held it): obj takes it over, adopting it or removing it."""
        name = None if obj.deleting else self._name(obj)
        if name is None or not self._contestable(obj, name) or not self._on_node(name):
            return None
        if not self._holders(name) - {obj.key} or self._winner(name) != obj.key:
            return None
        return name

    def _recheck(self, recheck: Callable[[str], object], name: str) -> None:
        """After a failed node call the node's state is unknown: ask it about this one thing. A failure
        here changes nothing; the next reconcile asks again."""
        try:
            recheck(name)
        except NodeError as exc:
            log.info("could not recheck the node", extra={"item": name, "error": str(exc)})


@dataclass(frozen=True)
class Seen:
    """What decides a reconcile's first step, read from the cache and the placement."""

    present: bool  # the resource exists (or is gone with a placement left: deleting)
    recorded: bool  # this node has a placement of it
    deleting: bool
    targeted: bool
    suspended: bool

    @property
    def wanted(self) -> bool:
        return self.present and not self.deleting and self.targeted


class Step(Enum):
    FORGET = "forget"  # nothing of it here or recorded: only what the agent keeps in memory of it goes
    REMOVE = "remove"  # nothing of it wanted here: what it holds on the node goes, then its record
    CONVERGE = "converge"  # the node is made to match its spec


def step(seen: Seen, inherits: Callable[[], bool]) -> Step:
    """The first step. `inherits`: whether the resource wins a name that another resource's placement
    left on the node (asked only of an unwanted resource with no record: it then removes that)."""
    if not seen.present:
        return Step.FORGET
    if seen.wanted and not seen.suspended:
        return Step.CONVERGE
    if not seen.wanted and not seen.recorded and not inherits():
        return Step.FORGET  # not ours, and nothing of ours to clean up
    return Step.REMOVE


@dataclass(frozen=True)
class Verdict:
    """How a resource that cannot be made to match reads in its record, and when its key comes back."""

    phase: Phase
    reason: Reason
    message: str
    event: EventType
    result: Result


def verdict(exc: SpecError | NodeError) -> Verdict:
    """The one table for both kinds. A spec that waits for something (a bridge, a key, a ConfigMap) is
    looked at again after WAIT_SECONDS, with no failure counted; one only an edit can fix is not retried
    (the edit arrives through the watch); a node's refusal and its silence back off, longer each time."""
    if isinstance(exc, Waiting):
        return Verdict("Pending", exc.reason, exc.message, "Normal", Result(requeue_after=WAIT_SECONDS))
    if isinstance(exc, SpecError):
        return Verdict("Invalid", exc.reason, exc.message, "Warning", Result())
    if isinstance(exc, NodeRejected):
        return Verdict("Invalid", "NodeRejected", exc.detail, "Warning", Result(retry=True))
    return Verdict("Error", "NodeUnavailable", str(exc), "Warning", Result(retry=True))
