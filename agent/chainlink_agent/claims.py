"""Who holds a name on the node: an external job ID, a bridge name. Two resources must never drive one
thing on the node; of several claimants the oldest holds it (plan.claim_winner), and the others are
Invalid until it lets go, when they are queued again."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .plan import claim_winner


class Claims:
    def __init__(self, enqueue: Callable[[str], None]) -> None:
        self._enqueue = enqueue  # wakes a resource that may take a name another let go of
        # claimed name -> {resource key: creationTimestamp}
        self._claims: dict[str, dict[str, str]] = {}
        # key -> names it claims: releasing a key's claims costs its own claims, not one pass over all N.
        self._claimed_by: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, created: str, name: str, only_if_contested: bool = False) -> str | None:
        """Claims `name` for `key` (releasing what the key claimed before); returns the winner, or None when
        only_if_contested and nobody else claims it.

        only_if_contested: for a derived name (an external job ID made from the resource's UID), which is
        only claimed once another resource claims it too, by setting it by hand: the table then holds the
        names people write, not one entry per resource (10,000 entries at scale, for nothing)."""
        with self._lock:
            if only_if_contested and name not in self._claims:
                self._release_locked(key, keep=None)
                return None
            self._release_locked(key, keep=name)
            claimants = self._claims.setdefault(name, {})
            claimants[key] = created
            self._claimed_by.setdefault(key, set()).add(name)
            return claim_winner(claimants)

    def seed(self, name: str, key: str, created: str) -> None:
        """Records a claim of another resource, learnt before that resource was reconciled."""
        with self._lock:
            self._claims.setdefault(name, {})[key] = created
            self._claimed_by.setdefault(key, set()).add(name)

    def release(self, key: str) -> None:
        with self._lock:
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
