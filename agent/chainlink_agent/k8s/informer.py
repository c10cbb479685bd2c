"""List+watch of one kind of the namespace into a local cache, feeding changed keys to a callback: the
ChainlinkJobs and ChainlinkBridges (keyed "<plural>/<namespace>/<name>", into the queue), this node's
ChainlinkPlacements (keyed by their resource's key, into the queue), and for the elected aggregator the
other nodes' placements. One instance per View.

Keeps the resourceVersion of every event and bookmark, lists again on 410 Gone, and reconnects with
jittered exponential backoff on any other failure (the kopf and client-go pattern, not Watch.stream()).
"""

from __future__ import annotations

import logging
import random
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chainlink_agent.k8s import packing
from chainlink_agent.k8s.kube import Kube
from chainlink_agent.model import placement, resource, retry
from chainlink_agent.model.errors import Gone
from chainlink_agent.model.resource import KINDS, queue_key
from chainlink_agent.runtime.metrics import Metrics

log = logging.getLogger(__name__)
WATCH_SECONDS = 300
WATCH_RETRY_SECONDS, WATCH_RETRY_MAX_SECONDS = 1.0, 30.0


@dataclass(frozen=True)
class View:
    """Which objects an informer holds, under which keys, and what of each."""

    plural: str
    kind: str  # the metrics label
    key: Callable[[dict[str, Any]], str]
    slim: Callable[[dict[str, Any]], dict[str, Any]]
    # Where a slimmed object sets the names it claims on the node (cached_claiming searches only these).
    claimed: Callable[[dict[str, Any]], str]
    # The fields whose change needs a reconcile; None: any change of spec or status.
    relevant: tuple[tuple[str, ...], ...] | None = None
    label_selector: str | None = None


def resources(plural: str, node: str, labels: Mapping[str, str]) -> View:
    """Every resource of the kind, as the agent of `node` (with these labels) reads it: the whole spec of
    those that target it, a few bytes of the others' (resource.slim_for_node)."""
    labels = dict(labels)
    return View(
        plural,
        KINDS[plural].KIND,
        lambda obj: queue_key(plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]),
        lambda obj: resource.slim_for_node(obj, node, labels),
        lambda obj: resource.claimed_text(plural, obj),
        _RELEVANT,
    )


def own_placements(node: str) -> View:
    """This node's placements, each under its resource's key (one per resource on this node)."""
    return View(
        placement.PLURAL,
        placement.KIND,
        placement.resource_key,
        placement.slim,
        placement.claimed_text,
        label_selector=f"{placement.NODE_LABEL}={node}",
    )


def other_placements(node: str) -> View:
    """Every other node's placements, keyed "<resource key>@<node>": what the aggregator adds to its own.
    A released one (its node uninstalled) is left out; the watch drops it once marked."""
    return View(
        placement.PLURAL,
        placement.KIND,
        lambda obj: f"{placement.resource_key(obj)}@{placement.node_of(obj)}",
        placement.slim,
        placement.claimed_text,
        label_selector=f"{placement.NODE_LABEL}!={node},!{placement.RELEASED_LABEL}",
    )


class Informer:
    def __init__(
        self,
        kube: Kube,
        on_change: Callable[[str], None],
        metrics: Metrics,
        stop: threading.Event,
        view: View,
    ):
        self.view = view
        self.plural = view.plural
        self._kind = view.kind
        self._kube = kube
        self._on_change = on_change
        self._metrics = metrics
        self._stop = stop
        self._lock = threading.Lock()
        # Objects are cached slimmed to what this node's reconcile reads (View.slim), as deflated compact
        # JSON (packing.py): under 200 bytes each instead of 5 KiB of dicts, at 10,000 resources still the
        # agent's largest data. Decoding one takes microseconds, next to milliseconds of API calls per
        # reconcile. Keys are interned: a resource's key is also its placement's, and the queue's.
        self._cache: dict[str, bytes] = {}
        # The names each object claims (View.claimed), lowercased, where it claims any: what the claims
        # scan searches, a few bytes each, so it never inflates the cache.
        self._claimed: dict[str, bytes] = {}
        self._resource_version: str | None = None
        self._beat: Callable[[], None] = lambda: None  # run()'s
        self._cut: Callable[[], None] = lambda: None  # what ends the watch being read now
        self.synced = threading.Event()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            packed = self._cache.get(key)
        return None if packed is None else packing.unpack(packed)

    def store(self, obj: dict[str, Any]) -> None:
        """Write-through of an object the agent itself just wrote, so the next reconcile of that key never
        reads a status older than the agent's own last write (which would look like a lost record)."""
        with self._lock:
            self._store_locked(self._key(obj), self._slim(obj))

    def discard(self, key: str) -> None:
        """Write-through of a delete the agent itself just made."""
        with self._lock:
            self._drop_locked(key)

    def cached_keys(self) -> list[str]:
        with self._lock:
            return list(self._cache)

    def cached_claiming(self, name: str) -> list[dict[str, Any]]:
        """The cached objects that claim a name holding `name` (case-insensitively): a scan of the claimed
        names alone, and only the few objects that can matter are decoded."""
        needle = name.lower().encode()
        with self._lock:
            packed = [self._cache[key] for key, claimed in self._claimed.items() if needle in claimed]
        return [packing.unpack(p) for p in packed]

    def close(self) -> None:
        """Ends run() at once: sets its stop and cuts the watch it reads, which would otherwise hold the
        thread (and its connection) until its next event, or WATCH_SECONDS."""
        self._stop.set()
        with self._lock:
            cut = self._cut
        cut()

    def run(self, beat: Callable[[], None] = lambda: None) -> None:
        """Lists and watches until `stop`. `beat` (the supervisor's) is called on each (re)connect and on
        each event and bookmark: a healthy watch that sees nothing still ends by WATCH_SECONDS and connects
        again, so a gap of beats much longer than that is a watch stuck (supervisor.py)."""
        # Each pass is one list-if-needed plus one watch until the server closes it; a pass that ends
        # normally resets the backoff, so a blip after days of health waits milliseconds, not 30 s.
        self._beat = beat
        failures = 0
        while not self._stop.is_set():
            try:
                self._list_and_watch()
                failures = 0
            except Exception as exc:
                if self._stop.is_set():  # stopping (close() cuts the watch): not a failure to retry
                    return
                # Full jitter: agents that lost the apiserver together do not all come back at once.
                longest = retry.delay(failures, WATCH_RETRY_SECONDS, WATCH_RETRY_MAX_SECONDS)
                wait = random.uniform(0, longest)  # noqa: S311 - a spread, not a secret
                failures += 1
                self._metrics.watch_restarts.labels(self._kind, type(exc).__name__).inc()
                log.warning(
                    "watch failed; reconnecting", extra={"error": str(exc), "wait_seconds": round(wait, 2)}
                )
                self._stop.wait(wait)

    def _list_and_watch(self) -> None:
        self._beat()
        if self._resource_version is None:
            self._relist()
        try:
            self._watch()
        except Gone:
            self._metrics.watch_restarts.labels(self._kind, "Gone").inc()
            log.info("watch resourceVersion expired; listing again")
            self._resource_version = None

    def _relist(self) -> None:
        items, resource_version = self._kube.list_objects(self.plural, self._keyed, self.view.label_selector)
        fresh = {key: packed for key, (packed, _) in items}
        with self._lock:
            vanished = set(self._cache) - set(fresh)
            self._cache = fresh
            self._claimed = {key: claimed for key, (_, claimed) in items if claimed}
            self._resource_version = resource_version
        for key in [*fresh, *vanished]:
            self._on_change(key)
        self.synced.set()

    def _watch(self) -> None:
        assert self._resource_version is not None  # noqa: S101 - _list_and_watch lists first
        self._beat()  # a list of many pages may have taken a while
        events = self._kube.watch_objects(
            self.plural, self._resource_version, WATCH_SECONDS, self.view.label_selector, self._opened
        )
        for event in events:
            if self._stop.is_set():
                return
            self._beat()
            obj = event.get("object") or {}
            version = (obj.get("metadata") or {}).get("resourceVersion")
            event_type = event.get("type")
            if event_type in ("ADDED", "MODIFIED", "DELETED"):
                key = self._key(obj)
                with self._lock:
                    if event_type == "DELETED":
                        changed = self._drop_locked(key)
                    else:
                        changed = self._store_locked(key, self._slim(obj))
                    self._resource_version = version or self._resource_version
                if changed:
                    self._on_change(key)
            elif event_type == "BOOKMARK" and version:
                self._resource_version = version

    def _opened(self, cut: Callable[[], None]) -> None:
        with self._lock:
            self._cut = cut
        if self._stop.is_set():  # closed while the watch was being opened
            cut()

    def _slim(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.view.slim(obj)

    def _keyed(self, obj: dict[str, Any]) -> tuple[str, tuple[bytes, bytes]]:
        slimmed = self._slim(obj)
        return self._key(obj), (packing.pack(slimmed), self._claimed_text(slimmed))

    def _claimed_text(self, slimmed: dict[str, Any]) -> bytes:
        return self.view.claimed(slimmed).lower().encode()

    def _key(self, obj: dict[str, Any]) -> str:
        return sys.intern(self.view.key(obj))

    def _drop_locked(self, key: str) -> bool:
        """Forgets key's object and its claimed names; True if it was cached."""
        self._claimed.pop(key, None)
        return self._cache.pop(key, None) is not None

    def _store_locked(self, key: str, obj: dict[str, Any]) -> bool:
        """Stores obj unless the cache already holds a newer write; True if the change needs a reconcile.
        A resource's status-only changes need none: the aggregator makes them."""
        packed = self._cache.get(key)
        old = None if packed is None else packing.unpack(packed)
        if old is not None and not _newer(obj, old):
            return False
        self._cache[key] = packing.pack(obj)
        claimed = self._claimed_text(obj)
        if claimed:
            self._claimed[key] = claimed
        else:
            self._claimed.pop(key, None)
        paths = self.view.relevant or (("spec",), ("status",))
        return old is None or any(_get(old, path) != _get(obj, path) for path in paths)


# What a reconcile reads of a resource; a change elsewhere (status, managedFields) queues nothing.
_RELEVANT = (
    ("metadata", "generation"),
    ("metadata", "deletionTimestamp"),
    ("metadata", "uid"),
)


def _get(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = obj
    for part in path:
        value = (value or {}).get(part)
    return value


def _newer(candidate: dict[str, Any], current: dict[str, Any]) -> bool:
    """resourceVersions are etcd revisions; if one ever is not a number, trust the newest arrival."""
    try:
        return int(candidate["metadata"]["resourceVersion"]) > int(current["metadata"]["resourceVersion"])
    except (KeyError, ValueError):
        return True
