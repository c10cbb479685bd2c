"""Who may act on a name on the node: an external job ID, a bridge name. Two resources must never drive one
thing on the node. The decision (`winner`) is pure; `Claims` remembers which name each resource's last
reconcile found it setting, for what the cache cannot tell (a TOML from a ConfigMap, a derived external
job ID another resource sets by hand), and wakes the resources waiting for a name when it is let go of."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Claimant:
    """A resource that sets a name in its spec, or whose placement on this node records it."""

    key: str
    created: str | None  # creationTimestamp; None once the resource is deleted
    holds: bool  # its placement records the name: it made (or adopted) what the node has under it


def winner(claimants: Iterable[Claimant]) -> str | None:
    """The one resource that may act on a name on this node: None when no one claims it.

    The oldest existing claimant (creationTimestamp, then key), whether suspended, untargeted or active: a
    name is let go of only by deletion, so no one can take it while its owner is switched off. A deleted
    resource whose placement is the name's only record comes first, so it removes what it made before the
    next one makes its own; once an existing resource holds the name too (it adopted it), the deleted
    one's record is stale and gives it nothing."""
    claimants = list(claimants)
    if not any(c.holds and c.created is not None for c in claimants):
        gone = sorted(c.key for c in claimants if c.holds)
        if gone:
            return gone[0]
    existing = [(c.created, c.key) for c in claimants if c.created is not None]
    return min(existing)[1] if existing else None


class Claims:
    def __init__(self, enqueue: Callable[[str], None]) -> None:
        self._enqueue = enqueue  # wakes a resource that may take a name another let go of
        self._name_of: dict[str, str] = {}  # key -> the name its last reconcile found it setting
        self._keys: dict[str, set[str]] = {}  # name -> keys setting it
        self._lock = threading.Lock()

    def claim(self, key: str, name: str | None) -> None:
        """Records that key's spec sets `name` (None: no name worth recording), in place of what it set
        before; those waiting for that one are woken."""
        with self._lock:
            previous = self._name_of.get(key)
            if previous == name:
                return
            self._drop_locked(key)
            if name is not None:
                self._name_of[key] = name
                self._keys.setdefault(name, set()).add(key)
        if previous is not None:
            self._wake(previous, key)

    def name_of(self, key: str) -> str | None:
        with self._lock:
            return self._name_of.get(key)

    def keys(self, name: str) -> set[str]:
        with self._lock:
            return set(self._keys.get(name, ()))

    def contested(self, name: str, key: str) -> bool:
        """Whether another resource's reconcile found it setting `name`."""
        with self._lock:
            return bool(self._keys.get(name, set()) - {key})

    def release(self, key: str, held: str | None) -> None:
        """key is deleted and nothing of it is left on the node: those waiting for what it set, or for
        `held` (the name its placement recorded), are woken."""
        with self._lock:
            names = {self._name_of.get(key), held}
            self._drop_locked(key)
        for name in sorted(n for n in names if n is not None):
            self._wake(name, key)

    def _drop_locked(self, key: str) -> None:
        name = self._name_of.pop(key, None)
        if name is not None:
            keys = self._keys[name]
            keys.discard(key)
            if not keys:
                del self._keys[name]

    def _wake(self, name: str, key: str) -> None:
        for other in sorted(self.keys(name) - {key}):
            self._enqueue(other)
