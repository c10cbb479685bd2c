"""This node's ChainlinkNode status: what `kubectl get chainlinknodes`, the DON view, Argo CD and the
Prometheus gauges read. The agent alone writes it, and only when it changed: each report (every
`report_seconds`) compares what it would write with what it wrote last. It never holds a secret: the
keys' public parts only, and the names of failing health checks without their output (which can quote
configuration).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Protocol

from .conditions import condition, now
from .errors import KubeError, NodeError
from .metrics import Metrics
from .nodetypes import KeyBundle, NodeFacts
from .phases import PHASES
from .pods import PodView, peer
from .resource import KINDS
from .role import Role

log = logging.getLogger(__name__)
MAX_FAILING_CHECKS = 50
READY = "Ready"


class NodeStatusWriter(Protocol):
    def chainlink_node(self) -> dict[str, Any] | None: ...
    def apply_node_status(self, status: dict[str, Any]) -> None: ...
    def pod(self, name: str) -> dict[str, Any] | None: ...


class NodeInfo(Protocol):
    """The node's reads a report makes besides the snapshot's keys (nodeclient.NodeClient)."""

    last_call_ok: bool

    def build_info(self) -> tuple[str, str]: ...
    def health(self) -> dict[str, str]: ...
    def csa_public_keys(self) -> list[str]: ...


@dataclass(frozen=True)
class Observed:
    """Everything one report puts in the status."""

    generation: int
    not_ready: str | None  # why the agent is not ready; None when it is
    api_reachable: bool
    agent_version: str
    version: str = ""
    commit: str = ""
    health: Mapping[str, str] | None = None  # check name -> passing/failing; None: not read
    facts: NodeFacts = field(default_factory=NodeFacts)
    csa: tuple[str, ...] = ()
    phases: Mapping[str, Iterable[str]] = field(default_factory=dict)  # plural -> each resource's phase
    last_resync: float | None = None  # unix time
    pods: Pods | None = None  # with a standby only


@dataclass(frozen=True)
class Pods:
    """The node's two pods (the chart's standby), as the active one's agent sees them."""

    active: str
    standby: str
    standby_ready: bool  # Running and Ready, and not labelled active
    failovers: int = 0
    last_failover: str | None = None  # RFC 3339


def failovers(previous: Mapping[str, Any], pod: str, timestamp: str) -> tuple[int, str | None]:
    """(failovers, lastFailoverTime) once `pod` is active: one more when the status last named another pod
    active, which is the only record of it that outlives both pods. Pure."""
    count, last = int(previous.get("failovers") or 0), previous.get("lastFailoverTime")
    before = previous.get("activePod")
    return (count + 1, timestamp) if before and before != pod else (count, last)


def status(observed: Observed, previous: Mapping[str, Any] | None, timestamp: str) -> dict[str, Any]:
    """The status to apply. A condition's lastTransitionTime moves only when its status does, so an
    unchanged node yields an identical status (no write). Pure."""
    previous_conditions = (previous or {}).get("conditions") or ()
    generation = observed.generation

    def cond(kind: str, state: str, reason: str, message: str) -> dict[str, Any]:
        return condition(kind, state, generation, reason, message, previous_conditions, timestamp)

    if observed.not_ready is None:
        conditions = [cond(READY, "True", "Ready", "watching, the node answering, its key bundles imported")]
    else:
        # Reconciling is kstatus's word for "not there yet" (abnormal-true: present only while it holds).
        conditions = [
            cond(READY, "False", "NotReady", observed.not_ready),
            cond("Reconciling", "True", "NotReady", observed.not_ready),
        ]
    body: dict[str, Any] = {
        "observedGeneration": observed.generation,
        "conditions": conditions,
        "agentVersion": observed.agent_version,
        "apiReachable": observed.api_reachable,
        "keys": _keys(observed.facts, observed.csa),
        # "jobs" and "bridges": the kinds' plurals without the group's prefix.
        **{plural.removeprefix("chainlink"): _counts(p) for plural, p in observed.phases.items()},
    }
    if observed.version:
        body["version"], body["commitSHA"] = observed.version, observed.commit
    if observed.health is not None:
        failing = sorted(name for name, state in observed.health.items() if state != "passing")
        body["health"] = {
            "passing": len(observed.health) - len(failing),
            "failing": len(failing),
            "failingChecks": failing[:MAX_FAILING_CHECKS],
        }
    if observed.last_resync is not None:
        stamp = datetime.fromtimestamp(observed.last_resync, UTC)
        body["lastResyncTime"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    if observed.pods is not None:
        pods = observed.pods
        body["activePod"] = pods.active
        body["standby"] = {"pod": pods.standby, "ready": pods.standby_ready}
        body["failovers"] = pods.failovers
        if pods.last_failover:
            body["lastFailoverTime"] = pods.last_failover
    return body


def _keys(facts: NodeFacts, csa: Iterable[str]) -> dict[str, Any]:
    def bundle(b: KeyBundle, onchain: str, offchain: str) -> dict[str, str]:
        return {"id": b.id, onchain: b.onchain, offchain: b.offchain, "configPublicKey": b.config}

    return {
        "p2p": [{"peerID": k.peer_id, "publicKey": k.public_key} for k in facts.p2p_keys],
        "csa": [{"publicKey": k} for k in csa],
        "eth": [
            {"address": k.address, "evmChainID": k.evm_chain_id, "disabled": k.disabled}
            for k in facts.eth_keys
        ],
        "ocr": [bundle(b, "onChainSigningAddress", "offChainPublicKey") for b in facts.ocr_bundles],
        "ocr2": [
            {"chainType": b.chain_type, **bundle(b, "onchainPublicKey", "offchainPublicKey")}
            for b in facts.ocr2_bundles
        ],
    }


def _counts(phases: Iterable[str]) -> dict[str, Any]:
    counted = Counter(phases)
    total = sum(counted.values())
    body: dict[str, Any] = {"summary": f"{counted['Synced']}/{total}", "total": total}
    if counted:  # left out when empty: applying {} over a map makes it null, which the CRD refuses
        body["phases"] = dict(sorted(counted.items()))
    return body


class NodeReporter:
    """Reports every `interval` seconds and after each resync (`resynced`). The node's version and CSA key are
    read after a resync only: they change with a restart at most, and each call counts against the node's
    rate limit. Its health is read every report."""

    def __init__(
        self,
        kube: NodeStatusWriter,
        node: NodeInfo,
        facts: Callable[[], NodeFacts],
        last_resync: Callable[[], float | None],
        phases: Mapping[str, Mapping[str, str]],  # plural -> {key: phase}, kept by the reconcilers
        metrics: Metrics,
        interval: float,
        role: Role | None = None,
        pod_name: str | None = None,
        backups: bool = False,
    ) -> None:
        self._interval = interval
        self._backups = backups
        self._started = time.time()
        self._role = role or Role(None)
        self._pod_name = pod_name
        self._kube = kube
        self._node = node
        self._facts = facts
        self._last_resync = last_resync
        self._phases = phases
        self._metrics = metrics
        self._agent_version = agent_version()
        self._build: tuple[str, str] = ("", "")  # kept while the node does not answer: it still runs it
        self._csa: tuple[str, ...] = ()
        self._written: dict[str, Any] | None = None
        self._missing_logged = False
        self.resynced = threading.Event()

    def run(
        self,
        stop: threading.Event,
        not_ready: Callable[[], str | None],
        beat: Callable[[], None] = lambda: None,
    ) -> None:
        """`not_ready` says why the agent is not ready (app.Agent.ready), None when it is. `beat` (the
        supervisor's) is called once per report."""
        while not stop.is_set():
            beat()
            full = self.resynced.wait(self._interval)
            self.resynced.clear()
            if not stop.is_set():
                self.report(not_ready(), read_build=full or not self._build[0])

    def report(self, not_ready: str | None, read_build: bool = True) -> None:
        """One report: the gauges always, the ChainlinkNode's status when it changed and the object exists
        (the chart makes it; an agent run without the chart has none and says so once). Beside a standby
        node it only says so: the active pod's agent reports the node."""
        m = self._metrics
        m.node_active.set(1 if self._role.active.is_set() else 0)
        if not self._role.active.is_set():
            # Standing by: ready, and nothing of the node's to say (the active pod's agent says it).
            m.ready.set(1 if not_ready is None else 0)
            m.node_up.set(0)
            for gauge in (m.standby_ready, m.resources, m.backup_last_success, m.node_health_check):
                gauge.clear()
            self._written = None  # the other pod's agent writes meanwhile
            return
        observed = self._observe(not_ready, read_build)
        try:
            found = self._kube.chainlink_node()
            if found is None:
                self._gauge(observed)
                if not self._missing_logged:
                    log.info("no ChainlinkNode of this node's name; its status is not written")
                    self._missing_logged = True
                return
            if self._backups:
                m.backup_last_success.labels(self._node_name(found)).set(self._last_backup(found))
            generation = int(found["metadata"].get("generation") or 0)
            timestamp = now()
            observed = replace(observed, generation=generation, pods=self._pods(found, timestamp))
            self._gauge(observed)
            body = status(observed, self._written, timestamp)
            if body != self._written:
                self._kube.apply_node_status(body)
                self._written = body
        except KubeError as exc:
            log.warning("could not write the ChainlinkNode status", extra={"error": str(exc)})

    @staticmethod
    def _node_name(found: Mapping[str, Any]) -> str:
        return str(found["metadata"].get("name", ""))

    def _last_backup(self, found: Mapping[str, Any]) -> float:
        """When the backup Job (backup.py) last recorded a success, else this agent's start."""
        stamp = ((found.get("status") or {}).get("backup") or {}).get("lastSuccessTime")
        return _unix(stamp) if stamp else self._started

    def _pods(self, found: Mapping[str, Any], timestamp: str) -> Pods | None:
        if not self._role.standby or self._pod_name is None:
            return None
        other = peer(self._pod_name)
        count, last = failovers(found.get("status") or {}, self._pod_name, timestamp)
        pod = self._kube.pod(other)
        ready = pod is not None and PodView.of(pod).standing_by
        return Pods(self._pod_name, other, ready, count, last)

    def _observe(self, not_ready: str | None, read_build: bool) -> Observed:
        health: dict[str, str] | None = None
        try:
            if read_build:
                self._build = self._node.build_info()
                self._csa = tuple(self._node.csa_public_keys())
            health = self._node.health()
        except NodeError as exc:
            log.info("could not read the node's version, health or CSA key", extra={"error": str(exc)})
        return Observed(
            generation=0,
            not_ready=not_ready,
            api_reachable=self._node.last_call_ok,
            agent_version=self._agent_version,
            version=self._build[0],
            commit=self._build[1],
            health=health,
            facts=self._facts(),
            csa=self._csa,
            # Workers write these tables meanwhile; list() of a dict's values copies it in one step.
            phases={plural: list(table.values()) for plural, table in self._phases.items()},
            last_resync=self._last_resync(),
        )

    def _gauge(self, observed: Observed) -> None:
        m = self._metrics
        m.ready.set(1 if observed.not_ready is None else 0)
        m.node_up.set(1 if observed.api_reachable else 0)
        for plural, phases in observed.phases.items():
            counted = Counter(phases)
            for phase in PHASES:  # every phase, zeros included, so alerts see a series go to 0
                m.resources.labels(KINDS[plural].KIND, phase).set(counted[phase])
        m.node_health_check.clear()  # a check the node no longer lists goes with it
        for check, state in (observed.health or {}).items():
            m.node_health_check.labels(check).set(1 if state == "passing" else 0)
        if observed.last_resync is not None:
            m.last_resync.set(observed.last_resync)
        if observed.pods is not None:
            m.standby_ready.clear()
            m.standby_ready.labels(observed.pods.standby).set(1 if observed.pods.standby_ready else 0)
            m.failovers.set(observed.pods.failovers)
            if observed.pods.last_failover:
                m.last_failover.set(_unix(observed.pods.last_failover))
        if observed.version:
            m.build_info.clear()
            m.build_info.labels(observed.agent_version, observed.version).set(1)


def _unix(stamp: str) -> float:
    """A status timestamp (RFC 3339; UTC when it names no zone) as Unix time."""
    parsed = datetime.fromisoformat(stamp)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def agent_version() -> str:
    try:
        return metadata.version("chainlink-agent")
    except metadata.PackageNotFoundError:
        return "unknown"
