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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Protocol, TypeVar

from chainlink_agent.model.conditions import bounded, condition, now
from chainlink_agent.model.errors import KubeError, NodeError
from chainlink_agent.model.nodetypes import EthBalance, KeyBundle, NodeFacts, RpcNode
from chainlink_agent.model.phases import PHASES
from chainlink_agent.model.resource import KINDS
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.standby.pods import PodView, peer
from chainlink_agent.standby.role import Role

log = logging.getLogger(__name__)
MAX_FAILING_CHECKS = 50
MAX_CHAINS = MAX_PER_CHAIN = 64  # chains, and RPC nodes and keys of each: the CRD's bounds
READY = "Ready"
# A chain whose head has not moved for this long is Stalled: the node's own NoNewHeadsThreshold default
# (chainlink-evm pkg/config/toml/defaults/fallback.toml), after which it calls an RPC node out of sync.
STALLED_AFTER = 180
# A chain's states, worst first: the printer column names a chain in the worst one there is.
CHAIN_STATES = ("Down", "Stalled", "NoKey", "Degraded", "OK")
T = TypeVar("T")


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
    def rpc_nodes(self) -> list[RpcNode]: ...
    def eth_balances(self) -> list[EthBalance]: ...
    def heads(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class Chains:
    """One report's reads of the node's EVM chains, each None when it failed, with why in `failed`: a read
    that fails leaves the others' part of the status."""

    rpcs: Sequence[RpcNode] | None = None  # the chains are theirs: every configured chain has one at least
    keys: Sequence[EthBalance] | None = None
    heads: Mapping[str, int] | None = None  # chain ID -> highest head seen
    failed: Sequence[str] = ()


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
    chains: Chains | None = None  # None: not read (the node did not answer)


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
    if observed.chains is not None:
        body.update(_chains(observed.chains, (previous or {}).get("chains") or (), timestamp))
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


def _chains(chains: Chains, previous: Iterable[Mapping[str, Any]], timestamp: str) -> dict[str, Any]:
    """status.chains, one entry per chain with an RPC node, and chainsSummary, the printer column: "2/2 OK",
    or how many are OK and the worst chain's ID and state ("1/2 OK, 5 Down"); "Unknown" when the RPC nodes
    could not be read."""
    body: dict[str, Any] = {}
    if chains.failed:
        body["chainReadErrors"] = [bounded(why) for why in chains.failed]
    if chains.rpcs is None:
        body["chainsSummary"] = "Unknown"
        return body
    before = {str(c.get("id")): c for c in previous}
    ids = sorted({r.chain_id for r in chains.rpcs}, key=lambda i: (len(i), i))[:MAX_CHAINS]
    entries = [_chain(i, chains, before.get(i) or {}, timestamp) for i in ids]
    ok = sum(e["state"] == "OK" for e in entries)
    summary = f"{ok}/{len(entries)} OK"
    if entries and ok < len(entries):
        worst = min(entries, key=lambda e: CHAIN_STATES.index(e["state"]))
        summary += f", {worst['id']} {worst['state']}"
    if chains.failed:
        summary += f" ({len(chains.failed)} read{'s' if len(chains.failed) > 1 else ''} failed)"
    body["chains"], body["chainsSummary"] = entries, summary
    return body


def _chain(chain_id: str, chains: Chains, previous: Mapping[str, Any], timestamp: str) -> dict[str, Any]:
    """One chain's entry. Its head's seenTime is the first report that read that number: the node shows no
    head's time, so its age is known to a report interval; an unchanged head keeps the time it had."""
    problems: list[tuple[str, str]] = []  # (state, why)
    rpcs = [r for r in chains.rpcs or () if r.chain_id == chain_id][:MAX_PER_CHAIN]
    entry: dict[str, Any] = {"id": chain_id, "rpcs": [{"name": r.name, "state": r.state} for r in rpcs]}
    down = [f"{r.name} {r.state}" for r in rpcs if r.state != "Alive"]
    if down:
        problems.append(("Down" if len(down) == len(rpcs) else "Degraded", "not Alive: " + ", ".join(down)))
    if chains.heads is not None:
        number = chains.heads.get(chain_id)
        if number is None:
            problems.append(("Degraded", "no head seen yet"))
        else:
            before = previous.get("head") or {}
            seen = before.get("seenTime") if before.get("number") == number else None
            seen = seen or timestamp
            age = int(_unix(timestamp) - _unix(seen))
            entry["head"] = {"number": number, "seenTime": seen, "ageSeconds": age}
            if age > STALLED_AFTER:
                problems.append(("Stalled", f"head {number} unchanged for {age} s"))
    if chains.keys is not None:
        keys = [k for k in chains.keys if k.evm_chain_id == chain_id][:MAX_PER_CHAIN]
        entry["keys"] = [_balance(k) for k in keys]
        if all(k.disabled for k in keys):
            problems.append(("NoKey", "no enabled ETH key"))
        unknown = [k.address for k in keys if k.wei is None and not k.disabled]
        if unknown:
            problems.append(("Degraded", "balance unknown: " + ", ".join(unknown)))
    entry["state"] = min((state for state, _ in problems), key=CHAIN_STATES.index, default="OK")
    if problems:
        entry["message"] = bounded("; ".join(why for _, why in problems))
    return entry


def _balance(key: EthBalance) -> dict[str, Any]:
    """A key's entry; ethBalance (wei, a string: it outgrows an int64) only when the node could read it."""
    body: dict[str, Any] = {"address": key.address, "disabled": key.disabled}
    if key.wei is not None:
        body["ethBalance"] = str(key.wei)
    return body


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
    rate limit. So are its ETH keys' balances: the node asks the chain for each key's ETH and LINK balance on
    every GET /v2/keys/eth, RPC calls an operator pays for; the alerts read the balance from the node's own
    /metrics. Its health, RPC nodes and heads are read every report."""

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
        self._balances: Sequence[EthBalance] | None = None  # as last read; None: read at the next report
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
        # A node that did not answer would only time out three times more.
        chains = self._chains(read_build) if health is not None else None
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
            chains=chains,
        )

    def _chains(self, read_balances: bool) -> Chains:
        failed: list[str] = []

        def read(what: str, call: Callable[[], T]) -> T | None:
            try:
                return call()
            except NodeError as exc:
                failed.append(f"{what}: {exc}")
                return None

        rpcs = read("RPC nodes", self._node.rpc_nodes)
        if read_balances or self._balances is None:
            self._balances = read("ETH keys", self._node.eth_balances)
        keys = self._balances
        heads = read("heads", self._node.heads)
        if failed:
            log.info("could not read all of the node's chains", extra={"error": "; ".join(failed)})
        return Chains(rpcs, keys, heads, tuple(failed))

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
