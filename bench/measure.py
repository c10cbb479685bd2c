"""What the benchmark reads: a process's CPU and memory (/proc), Prometheus text (the agent's /metrics and
the apiserver's), and bare watches that timestamp what happens to every ChainlinkJob and ChainlinkPlacement.

All timestamps are wall-clock time.time() seconds, so they compare with the node double's job
createdAt (datetime.now in the double's process, same machine clock)."""

from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from chainlink_agent.k8s.kube import Kube
from chainlink_agent.model.placement import PLURAL as PLACEMENTS
from chainlink_agent.model.resource import PLURAL
from prometheus_client.parser import text_string_to_metric_families

from devkit.cluster.controlplane import ControlPlane

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


# ----------------------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class ProcSample:
    cpu_seconds: float  # user + system, since the process started
    rss_bytes: int
    peak_rss_bytes: int  # VmHWM: the high-water mark of RSS over the process's life
    at: float
    rss_anon_bytes: int = 0  # what the process allocated itself
    rss_file_bytes: int = 0  # mapped files (shared library code), shared with any process mapping them


def sample(pid: int) -> ProcSample:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; field 3 is fields[0]
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    size = {k: int(status[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}
    return ProcSample(cpu, size["VmRSS"], size["VmHWM"], time.time(), size["RssAnon"], size["RssFile"])


def load() -> str:
    """The `uptime` load averages (another engineer's tests may share the machine)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# ----------------------------------------------------------------------------------------- prometheus


def counters(text: str, name: str, by: Iterable[str]) -> Counter[tuple[str, ...]]:
    """Sum of the samples of metric `name` grouped by the label names in `by`."""
    keys = tuple(by)
    totals: Counter[tuple[str, ...]] = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                totals[tuple(s.labels.get(k, "") for k in keys)] += s.value  # type: ignore[assignment]
    return totals


def value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def apiserver_metrics(cluster: ControlPlane) -> str:
    response = httpx.get(
        f"{cluster.server}/metrics",
        headers={"Authorization": f"Bearer {cluster.admin_token}"},
        verify=str(cluster.ca_file),
        timeout=30,
    )
    response.raise_for_status()
    return response.text


# What the agent's Role lets it touch (agent/chainlink_agent/k8s/kube.py); anything else is not the agent's.
# apiserver_request_total has no namespace label, so "leases" also counts the control plane's own: the
# kube-apiserver renews its identity Lease in kube-system every 10 s (a PUT each time), besides the agents'
# (every agent reads the aggregator's Lease every 5 s, the leader writes it as often). The bench's own
# requests on these (its creates and deletes, its Recorder's lists and watches) are counted too.
AGENT_RESOURCES = (
    "chainlinkjobs",
    "chainlinkbridges",
    "chainlinkplacements",
    "chainlinknodes",
    "leases",
    "events",
    "configmaps",
    "secrets",
)


def apiserver_requests(text: str) -> Counter[tuple[str, ...]]:
    """apiserver_request_total for the agent's resources, by (verb, resource, subresource)."""
    totals = counters(text, "apiserver_request_total", ("verb", "resource", "subresource"))
    return Counter({k: v for k, v in totals.items() if k[1] in AGENT_RESOURCES})


def diff(after: Counter[Any], before: Counter[Any]) -> dict[str, int]:
    """after - before as {"VERB resource[/sub]": n}, zero rows dropped."""
    out = {}
    for key in set(after) | set(before):
        n = round(after[key] - before[key])
        if n:
            label = key if isinstance(key, str) else f"{key[0]} {key[1]}" + (f"/{key[2]}" if key[2] else "")
            out[label] = n
    return dict(sorted(out.items()))


# ----------------------------------------------------------------------------------------- statistics


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of seconds, in milliseconds."""
    return {
        "n": len(values),
        **{f"p{q}": round(percentile(values, q) * 1000, 2) for q in (50, 95, 99)},
        "max": round(max(values) * 1000, 2) if values else math.nan,
    }


def parse_time(text: str) -> float:
    """RFC 3339 (as the double's createdAt) -> epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# ----------------------------------------------------------------------------------------- bare watch


@dataclass
class Seen:
    """When the bare watches first saw each thing happen to one resource (its ChainlinkJob, and its
    ChainlinkPlacements: one per node, named job.<resource>.<node>)."""

    added: float | None = None
    placed: dict[str, float] = field(default_factory=dict)  # node -> its placement first appeared
    placement_synced: dict[str, float] = field(default_factory=dict)  # node -> its placement first Synced
    placement_errored: dict[str, float] = field(default_factory=dict)  # node -> its placement last in Error
    placements: set[str] = field(default_factory=set)  # nodes whose placement exists now
    unplaced: dict[str, float] = field(default_factory=dict)  # node -> its placement was last deleted
    synced: dict[str, float] = field(default_factory=dict)  # node -> its status entry first Synced
    errored: dict[str, float] = field(default_factory=dict)  # node -> its entry last showed Error
    deleted: float | None = None

    def gone(self) -> float | None:
        """When the resource and every placement of it were gone (the agent deletes a placement once the
        node's job is deleted), or None while one remains."""
        if self.deleted is None or self.placements:
            return None
        return max([self.deleted, *self.unplaced.values()])


class Recorder:
    """Watches of its own (not the agent's) on the namespace, of every ChainlinkJob and every
    ChainlinkPlacement (all nodes'): the reference for watch delivery."""

    def __init__(self, api: Any, namespace: str) -> None:
        self._kube = Kube(api, namespace, "bench-recorder")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.seen: dict[str, Seen] = {}
        self.events: Counter[str] = Counter()  # ADDED/MODIFIED/DELETED received, by plural
        self.errors = 0
        self._version: dict[str, str] = {}
        self._threads: list[threading.Thread] = []
        for plural in (PLURAL, PLACEMENTS):
            listed = time.time()
            items, self._version[plural] = self._kube.list_objects(plural, lambda obj: obj)
            for obj in items:  # a fresh namespace has none; any there are present from the start
                self._record(plural, listed, {"type": "ADDED", "object": obj}, count=False)
            thread = threading.Thread(
                target=self._run, args=(plural,), name=f"recorder-{plural}", daemon=True
            )
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def get(self, name: str) -> Seen:
        with self._lock:
            return self.seen.setdefault(name, Seen())

    def present(self) -> list[str]:
        """The resources seen and not deleted."""
        with self._lock:
            return [name for name, s in self.seen.items() if s.added is not None and s.deleted is None]

    def synced(self, name: str, node: str) -> float | None:
        """When the resource's status (what `kubectl get chainlinkjobs` shows) first had `node` Synced."""
        with self._lock:
            s = self.seen.get(name)
            return s.synced.get(node) if s else None

    def event_count(self) -> int:
        """Watch events (ADDED, MODIFIED, DELETED) received so far, of both kinds."""
        with self._lock:
            return sum(self.events.values())

    def gone(self, name: str) -> float | None:
        with self._lock:
            s = self.seen.get(name)
            return s.gone() if s else None

    def _run(self, plural: str) -> None:
        while not self._stop.is_set():
            try:
                for event in self._kube.watch_objects(plural, self._version[plural], 3600):
                    self._record(plural, time.time(), event)
                    if self._stop.is_set():
                        return
            except Exception:
                self.errors += 1  # a read timeout between bookmarks: watch again from the last version
                time.sleep(0.1)

    def _record(self, plural: str, now: float, event: dict[str, Any], count: bool = True) -> None:
        obj = event.get("object") or {}
        meta = obj.get("metadata") or {}
        self._version[plural] = meta.get("resourceVersion") or self._version[plural]
        kind = event.get("type")
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return
        with self._lock:
            if count:
                self.events[plural] += 1
            if plural == PLACEMENTS:
                self._placement(now, kind, obj)
                return
            s = self.seen.setdefault(meta["name"], Seen())
            if kind == "ADDED" and s.added is None:
                s.added = now
            if kind == "DELETED":
                s.deleted = now
            for entry in (obj.get("status") or {}).get("nodes") or ():
                if entry.get("phase") == "Synced":
                    s.synced.setdefault(entry["node"], now)
                elif entry.get("phase") == "Error":
                    s.errored[entry["node"]] = now

    def _placement(self, now: float, kind: str, obj: dict[str, Any]) -> None:
        spec = obj.get("spec") or {}
        if spec.get("kind") != "ChainlinkJob":
            return
        s, node = self.seen.setdefault(spec["name"], Seen()), spec["node"]
        if kind == "DELETED":
            s.placements.discard(node)
            s.unplaced[node] = now
            return
        s.placements.add(node)
        s.placed.setdefault(node, now)
        phase = (obj.get("status") or {}).get("phase")
        if phase == "Synced":
            s.placement_synced.setdefault(node, now)
        elif phase == "Error":
            s.placement_errored[node] = now

    def ever_error(self, since: float) -> int:
        """Resources whose status showed Error for some node at or after `since`: what a person watching
        `kubectl get chainlinkjobs` would have seen failing."""
        with self._lock:
            return sum(1 for s in self.seen.values() if any(t >= since for t in s.errored.values()))

    def ever_error_placements(self, since: float) -> int:
        """Resources with a placement in Error at or after `since`: what the agents recorded, including what
        the aggregator's debounced status never showed and what the agent met after the resource was gone
        (deleting the node's job)."""
        with self._lock:
            return sum(1 for s in self.seen.values() if any(t >= since for t in s.placement_errored.values()))
