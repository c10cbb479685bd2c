"""A per-key deduplicating work queue with delayed and rate-limited adds (client-go's workqueue semantics).

A key is never handed to two workers at once; a key added while being processed is queued again when
its worker calls done(). Failures back off exponentially per key until forget().

Two lanes: a periodic resync queues every key in the background lane, which workers take from only when
the main lane is empty, so a real change (a new or edited resource) never waits behind 10,000 resync keys.
A key waiting in the background lane that changes for real moves to the main lane.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Callable

from chainlink_agent.model import retry


class WorkQueue:
    def __init__(
        self,
        base_delay: float = 0.5,
        max_delay: float = 300.0,
        on_depth: Callable[[int], None] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._on_depth = on_depth or (lambda _depth: None)
        self._on_idle = on_idle or (lambda: None)
        self._busy = False  # a key was taken since on_idle last ran
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._background: deque[str] = deque()  # may hold stale entries: a key counts while in _low
        self._low: set[str] = set()  # dirty keys waiting in the background lane
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: list[tuple[float, str]] = []  # heap of (due time, key); may hold stale entries
        self._due: dict[str, float] = {}  # each waiting key's one due time: the earliest asked for
        self._failures: dict[str, int] = {}
        self._shutdown = False

    def __len__(self) -> int:
        with self._cond:
            return self._depth()

    def add(self, key: str) -> None:
        with self._cond:
            self._add_locked(key)

    def add_background(self, key: str) -> None:
        """For periodic resyncs: into the background lane, unless the key is queued already or waiting out
        a failure backoff (it is scheduled, and hurrying it would turn the resync period into the retry
        rate). A real change still goes through add()."""
        with self._cond:
            if key not in self._failures:
                self._add_locked(key, background=True)

    def add_after(self, key: str, delay: float) -> None:
        """Queues the key `delay` seconds from now. A key already waiting waits once, until the earlier of
        the two times (client-go's delaying queue): N adds within a delay are one reconcile."""
        if delay <= 0:
            self.add(key)
            return
        due = time.monotonic() + delay
        with self._cond:
            if self._due.get(key, float("inf")) <= due:
                return
            self._due[key] = due
            heapq.heappush(self._waiting, (due, key))
            self._cond.notify()

    def add_rate_limited(self, key: str) -> float:
        """Queues the key after its next backoff delay and returns that delay."""
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        delay = retry.delay(failures, self._base_delay, self._max_delay)
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def get(self) -> str | None:
        """Blocks until a key is due; None once the queue is shut down. The first worker to find nothing
        queued and nothing processing after some work calls on_idle, once per burst, outside the lock: the
        hook (a heap trim) takes milliseconds that adds and other workers need not wait through."""
        while True:
            with self._cond:
                if self._shutdown:
                    return None
                self._promote_due_locked()
                key = self._next_locked()
                if key is not None:
                    self._dirty.discard(key)
                    self._low.discard(key)
                    self._processing.add(key)
                    self._busy = True
                    self._on_depth(self._depth())
                    return key
                if not self._busy or self._processing:
                    timeout = self._waiting[0][0] - time.monotonic() if self._waiting else None
                    self._cond.wait(timeout)
                    continue
                self._busy = False  # the last key of a burst is done
            self._on_idle()

    def done(self, key: str) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                (self._background if key in self._low else self._queue).append(key)
                self._notify_locked()

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    def _add_locked(self, key: str, background: bool = False) -> None:
        if self._shutdown:
            return
        if key in self._low and not background:  # a real change goes ahead of the resync
            self._low.discard(key)
        elif key in self._dirty:
            return
        self._dirty.add(key)
        if background:
            self._low.add(key)
        if key not in self._processing:
            (self._background if background else self._queue).append(key)
            self._notify_locked()

    def _next_locked(self) -> str | None:
        if self._queue:
            return self._queue.popleft()
        while self._background:
            key = self._background.popleft()
            if key in self._low and key not in self._processing:
                return key
        return None

    def _depth(self) -> int:
        return len(self._queue) + len(self._low)

    def _notify_locked(self) -> None:
        self._on_depth(self._depth())
        self._cond.notify()

    def _promote_due_locked(self) -> None:
        now = time.monotonic()
        while self._waiting and self._waiting[0][0] <= now:
            due, key = heapq.heappop(self._waiting)
            if self._due.get(key) == due:  # else an earlier add_after of it has superseded this entry
                del self._due[key]
                self._add_locked(key)
