"""Small in-memory stand-ins for the cache, the Kubernetes writer and the node, behind the protocols the
reconcilers use (chainlink_agent.control.reconcile, snapshot, references), so a reconcile decision runs in
microseconds. What needs a real apiserver or a real node stays in tests/integration and tests/contract."""

from __future__ import annotations

import base64
import copy
import itertools
import threading
import tomllib
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from chainlink_agent.app import Agent
from chainlink_agent.control.access import ALLOWED_NODES, Allowlist
from chainlink_agent.control.bridges import BridgeReconciler
from chainlink_agent.control.jobs import JobReconciler
from chainlink_agent.control.reconcile import Collaborators
from chainlink_agent.control.references import References
from chainlink_agent.control.workqueue import WorkQueue
from chainlink_agent.model import placement
from chainlink_agent.model.errors import NodeRejected
from chainlink_agent.model.nodetypes import DesiredBridge, NodeBridge, NodeFacts, NodeJob
from chainlink_agent.model.resource import (
    API_VERSION,
    BRIDGE_KIND,
    BRIDGE_PLURAL,
    KIND,
    PLURAL,
    Resource,
    claimed_text,
    queue_key,
)
from chainlink_agent.node.snapshot import NodeSnapshot
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.standby.role import Role
from chainlink_agent.wiring import Parts

NODE = "node-a"
NS = "ns"


def _claimed(obj: dict[str, Any]) -> str:
    """View.claimed of the informer that would hold obj."""
    if obj["kind"] == placement.KIND:
        return placement.claimed_text(obj)
    return claimed_text(PLURAL if obj["kind"] == KIND else BRIDGE_PLURAL, obj)


class FakeCache:
    """The informer's cache: what the watch would hold, objects as the apiserver returns them."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        obj = self.objects.get(key)
        return copy.deepcopy(obj) if obj is not None else None

    def store(self, obj: dict[str, Any]) -> None:
        if obj["kind"] == placement.KIND:
            key = placement.resource_key(obj)
        else:
            key = queue_key(PLURAL if obj["kind"] == KIND else BRIDGE_PLURAL, NS, obj["metadata"]["name"])
        self.objects[key] = copy.deepcopy(obj)

    def discard(self, key: str) -> None:
        self.objects.pop(key, None)

    def cached_claiming(self, name: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for o in self.objects.values() if name.lower() in _claimed(o).lower()]


class FakeKube:
    """The apiserver's side of the agent's writes, applied to the cache as the watch would deliver them."""

    def __init__(self, placements: FakeCache) -> None:
        self.placements = placements  # this node's, by their resources' keys
        self.events: list[tuple[str, str, str]] = []  # (resource name, type, reason)
        self.event_messages: list[str] = []
        self.status_writes = 0
        self.fail_status_writes: Exception | None = None  # the agent dies before recording
        self.config_maps: dict[str, dict[str, str]] = {}
        self.secrets: dict[str, Any] = {}
        self._version = itertools.count(100)

    def apply_placement(self, obj: Resource, entry: dict[str, Any]) -> dict[str, Any]:
        if self.fail_status_writes is not None:
            raise self.fail_status_writes
        self.status_writes += 1
        applied = placement.body(obj, NODE, entry)
        applied["metadata"]["resourceVersion"] = str(next(self._version))
        self.placements.store(applied)
        return applied

    def mark_released(self, name: str, released: bool) -> dict[str, Any]:
        marked = next(o for o in self.placements.objects.values() if o["metadata"]["name"] == name)
        labels = marked["metadata"].setdefault("labels", {})
        if released:
            labels[placement.RELEASED_LABEL] = "true"
        else:
            labels.pop(placement.RELEASED_LABEL, None)
        marked["metadata"]["resourceVersion"] = str(next(self._version))
        self.placements.store(marked)
        return copy.deepcopy(marked)

    def delete_placement(self, kind: str, name: str) -> None:
        plural = PLURAL if kind == KIND else BRIDGE_PLURAL
        self.placements.discard(queue_key(plural, NS, name))

    def emit_event(self, obj: Resource, event_type: str, reason: str, message: str) -> None:
        self.events.append((obj.name, event_type, reason))
        self.event_messages.append(message)

    def config_map_value(self, name: str, key: str) -> str | None:
        return self.config_maps.get(name, {}).get(key)

    def secret(self, name: str) -> Any:
        return self.secrets.get(name)

    def put_secret(self, name: str, data: dict[str, str], version: str | None = None) -> None:
        """Makes or replaces a Secret that allows every node; each write has a new resourceVersion."""
        meta = SimpleNamespace(
            labels={},
            annotations={ALLOWED_NODES: "*"},
            resource_version=version or str(next(self._version)),
        )
        encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
        self.secrets[name] = SimpleNamespace(type="Opaque", metadata=meta, data=encoded)


def _external_job_id(toml: str) -> str:
    """As the node stores it: a uuid.UUID column, so in canonical form whatever form the TOML gives."""
    return str(uuid.UUID(str(tomllib.loads(toml)["externalJobID"])))


class FakeNode:
    """The node's jobs and bridges, with the node's answers to the calls the reconcilers make."""

    def __init__(self) -> None:
        self.jobs: dict[str, NodeJob] = {}  # by job ID
        self.specs: dict[str, str] = {}  # job ID -> the TOML it was made from
        self.bridges: dict[str, NodeBridge] = {}
        self.key_facts = NodeFacts()
        self.calls: list[str] = []
        self.bridge_lists = 0  # a resync's too: kept out of `calls`, which every restart would fill
        # Called with the call's name before the node acts (raise: it did nothing) or after (raise: it
        # did it, and the answer was lost).
        self.before: Callable[[str], None] = lambda call: None
        self.after: Callable[[str], None] = lambda call: None
        self._ids = itertools.count(1)

    def _do(self, call: str, act: Callable[[], Any]) -> Any:
        self.calls.append(call)
        self.before(call)
        result = act()
        self.after(call)
        return result

    def create_job(self, toml: str) -> NodeJob:
        def act() -> NodeJob:
            ext = _external_job_id(toml)
            if any(j.external_job_id == ext for j in self.jobs.values()):
                raise NodeRejected(500, "duplicate key value violates unique constraint external_job_id_uniq")
            names = [n for n in self.bridges_named(toml) if n not in self.bridges]
            if names:
                raise NodeRejected(500, f"not all bridges exist: {names}")
            job = NodeJob(str(next(self._ids)), ext)
            self.jobs[job.id], self.specs[job.id] = job, toml
            return job

        made: NodeJob = self._do("create_job", act)
        return made

    @staticmethod
    def bridges_named(toml: str) -> list[str]:
        from chainlink_agent.model.pipeline import bridge_names  # noqa: PLC0415 - the node parses alike

        return bridge_names(toml)

    def replace_job(self, job_id: str, toml: str) -> NodeJob:
        def act() -> NodeJob:
            del self.jobs[job_id]
            job = NodeJob(str(next(self._ids)), _external_job_id(toml))
            self.jobs[job.id], self.specs[job.id] = job, toml
            return job

        made: NodeJob = self._do("replace_job", act)
        return made

    def delete_job(self, job_id: str) -> None:
        self._do("delete_job", lambda: self.jobs.pop(job_id))

    def create_bridge(self, bridge: DesiredBridge) -> NodeBridge:
        return self._put_bridge("create_bridge", bridge, exists=False)

    def update_bridge(self, bridge: DesiredBridge) -> NodeBridge:
        return self._put_bridge("update_bridge", bridge, exists=True)

    def _put_bridge(self, call: str, bridge: DesiredBridge, exists: bool) -> NodeBridge:
        def act() -> NodeBridge:
            if (bridge.name in self.bridges) != exists:
                detail = "already exists" if not exists else "not found"
                raise NodeRejected(400 if not exists else 404, f"Bridge Type {bridge.name} {detail}")
            self.bridges[bridge.name] = NodeBridge(
                bridge.name, bridge.url, bridge.confirmations, bridge.payment
            )
            return self.bridges[bridge.name]

        made: NodeBridge = self._do(call, act)
        return made

    def delete_bridge(self, name: str) -> None:
        self._do("delete_bridge", lambda: self.bridges.pop(name))

    def list_jobs(self) -> list[NodeJob]:
        return list(self.jobs.values())

    def list_bridges(self) -> list[NodeBridge]:
        self.bridge_lists += 1
        return list(self.bridges.values())

    def facts(self) -> NodeFacts:
        return self.key_facts

    def find_job(self, external_job_id: str) -> NodeJob | None:
        found: NodeJob | None = self._do(
            "find_job",
            lambda: next((j for j in self.jobs.values() if j.external_job_id == external_job_id), None),
        )
        return found

    def find_bridge(self, name: str) -> NodeBridge | None:
        found: NodeBridge | None = self._do("find_bridge", lambda: self.bridges.get(name))
        return found


class World:
    """One node's agent (a job and a bridge reconciler on a fresh snapshot) over a cache, a kube and a
    node that outlive it: `restart()` is what a killed agent's successor finds."""

    def __init__(self, config_maps: tuple[str, ...] = (), secrets: tuple[str, ...] = ()) -> None:
        self.cache, self.placements, self.node = FakeCache(), FakeCache(), FakeNode()
        self.kube = FakeKube(self.placements)
        self.queued: list[str] = []
        self.summarized: list[str] = []
        self._allow = Allowlist(NODE, frozenset(secrets), frozenset(config_maps))
        self._times = itertools.count()
        self.restart()

    def restart(self) -> None:
        self.snapshot = NodeSnapshot(self.node)
        self.snapshot.refresh()
        refs = References(self.kube, self._allow)

        def deps(plural: str) -> Collaborators:
            return Collaborators(
                NODE,
                {"chain": "sepolia"},
                self.cache,
                self.placements,
                self.queued.append,
                self.summarized.append,
                self.kube,
                self.node,
                self.snapshot,
                refs,
            )

        self.jobs = JobReconciler(deps(PLURAL))
        self.bridges = BridgeReconciler(deps(BRIDGE_PLURAL), on_ready=self.jobs.bridge_ready)

    def add_job(self, name: str, toml: str | None = None, **spec: Any) -> str:
        spec.setdefault("targets", {"names": [NODE]})
        if toml is not None:
            spec["toml"] = toml
        return self._add(KIND, PLURAL, name, spec)

    def add_bridge(self, name: str, **spec: Any) -> str:
        spec.setdefault("targets", {"names": [NODE]})
        return self._add(BRIDGE_KIND, BRIDGE_PLURAL, name, spec)

    def _add(self, kind: str, plural: str, name: str, spec: dict[str, Any]) -> str:
        created = f"2026-01-01T00:00:{next(self._times):02d}Z"
        meta = {"namespace": NS, "name": name, "uid": f"uid-{name}", "generation": 1, "resourceVersion": "1"}
        meta["creationTimestamp"] = created
        self.cache.store({"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec})
        return queue_key(plural, NS, name)

    def delete(self, key: str) -> None:
        del self.cache.objects[key]  # no finalizers: the apiserver deletes it at once

    def reconcile(self, key: str) -> bool:
        """One reconcile of key; whether it comes back by itself (retried after a failure, or waiting)."""
        reconciler = self.jobs if key.startswith(PLURAL) else self.bridges
        result = reconciler.reconcile(key)
        return result.retry or result.requeue_after is not None

    def entry(self, key: str) -> dict[str, Any]:
        """This node's placement's status ({} when it has none)."""
        held = self.placements.objects.get(key) or {}
        status: dict[str, Any] = held.get("status") or {}
        return status


# Sample values and a reading of the world the reconcile tests share.
TOML = 'type = "webhook"\nschemaVersion = 1\nobservationSource = """\n    fetch [type=memo value="1"]\n"""\n'
EXT = "0eb9b7e4-0000-4000-8000-00000000000a"


def phase(world, key):
    entry = world.entry(key)
    return entry.get("phase"), entry.get("conditions", [{}])[0].get("reason")


def agent_with(reconciler: Any, snapshot: NodeSnapshot, queue: WorkQueue, role: Role) -> Agent:
    """An Agent whose workers run: its watches synced, the rest of its parts absent."""
    synced = threading.Event()
    synced.set()
    parts = Parts(
        settings=cast(Any, None),
        metrics=Metrics(),
        stop=threading.Event(),
        supervisor=cast(Any, None),
        queue=queue,
        node=cast(Any, None),
        snapshot=snapshot,
        importer=cast(Any, None),
        informers={},
        placements=cast(Any, SimpleNamespace(synced=synced, plural="chainlinkplacements")),
        reconcilers={"chainlinkjobs": reconciler},
        reporter=cast(Any, None),
        election=cast(Any, None),
        status_writer=cast(Any, None),
        role=role,
        rollout=None,
    )
    return Agent(parts)
