"""Every thread the agent starts, in one place that /healthz reads: a thread that ended while the agent runs
shows, and so does one that is alive but stuck (blocked for good on a call, or its loop wedged).

A loop that runs periodically is started with its `period` and beats (the callable its target is given) once
per iteration; it counts as stuck once its last beat is older than bound(period) = MISSED_PERIODS x period +
GRACE_SECONDS. The grace is one iteration that meets every timeout on its way: a Kubernetes call (5 s to
connect, 30 s to read) that urllib3 tries up to 4 times, about 140 s; a node call (30 s by default) behind a
rate-limit window (60 s) and a login. A loop that blocks on a queue by design (a worker, the aggregator's
writer) has no period: only its being alive counts.

The periods app.py gives, and their bounds by default: the role poll 1 s (303 s), the rollout poll and the
aggregator's election 5 s (315 s), the ChainlinkNode report report_seconds (30 s: 390 s), the resync
resync_seconds (300 s: 1200 s), the admission self-test CHECK_SECONDS (300 s: 1200 s), each watch
WATCH_SECONDS (300 s: 1200 s). A watch beats on each (re)connect, event and bookmark. A quiet healthy one has
a bookmark about once a minute, and without any the server still ends it by WATCH_SECONDS (the client's 90 s
read timeout sooner) and it connects again within the 30 s backoff cap; against an apiserver that accepts
connections and never answers, a reconnect takes 4 tries of 10 + 90 s at most. So about 430 s is the longest
a watch that is not stuck goes without a beat, well within its 1200 s.

A thread started with its own `stop` ends on purpose once that is set (the aggregator's other-placements
watch when it steps down): from then on it is neither watched nor reported, and it is forgotten when it ends.
Once the agent's stop is set nothing is reported: every thread is on its way out."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
MISSED_PERIODS = 3
GRACE_SECONDS = 300.0

Beat = Callable[[], None]
Target = Callable[[Beat], None]  # a thread's body, given its beat


def bound(period: float) -> float:
    """How long a periodic thread may go without a beat before it counts as stuck."""
    return MISSED_PERIODS * period + GRACE_SECONDS


@dataclass(eq=False)
class _Watched:
    name: str
    period: float | None  # None: only liveness counts
    stop: threading.Event | None  # the thread's own stop, besides the agent's
    beaten: float  # the clock at its last beat (at its start until it beats)
    logged_stuck: bool = False  # its being stuck is logged once, until it beats again
    thread: threading.Thread = field(init=False)

    @property
    def retiring(self) -> bool:
        return self.stop is not None and self.stop.is_set()


class Supervisor:
    def __init__(self, stop: threading.Event, clock: Callable[[], float] = time.monotonic) -> None:
        self._stop = stop
        self._clock = clock
        self._lock = threading.Lock()
        self._watched: list[_Watched] = []

    def start(
        self,
        name: str,
        target: Target,
        period: float | None = None,
        stop: threading.Event | None = None,
    ) -> threading.Thread:
        """Runs `target(beat)` in a daemon thread named `name`, watched from now on. With a `period`, the
        target calls beat() once per iteration; without one it may ignore it."""
        with self._lock:
            if any(w.name == name and not w.retiring for w in self._watched if w.thread.is_alive()):
                raise ValueError(f"a thread named {name} is running already")
            watched = _Watched(name, period, stop, self._clock())
            watched.thread = threading.Thread(
                target=self._run, args=(watched, target), name=name, daemon=True
            )
            self._watched.append(watched)
            watched.thread.start()  # under the lock: never seen as not alive before it started
        return watched.thread

    def beat(self, name: str) -> None:
        """The thread of this name (the one not ending on purpose) is making progress."""
        with self._lock:
            for watched in self._watched:
                if watched.name == name and not watched.retiring:
                    self._beat_locked(watched)

    def threads(self) -> list[threading.Thread]:
        with self._lock:
            return [w.thread for w in self._watched]

    def problem(self) -> str | None:
        """Why the agent is not healthy (for /healthz), or None: the threads that ended while the agent runs,
        and the periodic ones that have not beaten within their bound."""
        if self._stop.is_set():
            return None
        now = self._clock()
        stopped: list[str] = []
        stuck: list[tuple[_Watched, float, float]] = []  # (thread, seconds since its beat, its bound)
        with self._lock:
            for watched in self._watched:
                if watched.retiring:
                    continue
                if not watched.thread.is_alive():
                    stopped.append(watched.name)
                elif watched.period is not None and now - watched.beaten > bound(watched.period):
                    stuck.append((watched, now - watched.beaten, bound(watched.period)))
            newly = [entry for entry in stuck if not entry[0].logged_stuck]
            for watched, _, _ in newly:
                watched.logged_stuck = True
        for watched, since, limit in newly:
            log.error(
                "a thread has made no progress within its bound: /healthz fails",
                extra={
                    "thread_name": watched.name,
                    "seconds_since_beat": round(since),
                    "bound_seconds": limit,
                    "stack": _stack(watched.thread),
                },
            )
        reasons = []
        if stopped:
            reasons.append(f"threads stopped: {', '.join(stopped)}")
        if stuck:
            described = (
                f"{w.name} (no beat for {since:.0f} s, bound {limit:.0f} s)" for w, since, limit in stuck
            )
            reasons.append(f"threads stuck: {', '.join(described)}")
        return "; ".join(reasons) or None

    def _beat_locked(self, watched: _Watched) -> None:
        watched.beaten = self._clock()
        watched.logged_stuck = False

    def _beat(self, watched: _Watched) -> None:
        with self._lock:
            self._beat_locked(watched)

    def _run(self, watched: _Watched, target: Target) -> None:
        failed = False
        try:
            target(lambda: self._beat(watched))
        except Exception:
            failed = True
            log.exception("a thread failed", extra={"thread_name": watched.name})
        with self._lock:
            on_purpose = self._stop.is_set() or watched.retiring
            if on_purpose:
                self._watched.remove(watched)
        if not on_purpose and not failed:
            log.error("a thread ended while the agent runs", extra={"thread_name": watched.name})


def _stack(thread: threading.Thread) -> str:
    """Where a thread is now, for the log line that reports it stuck: file, line and code, no values."""
    frame = sys._current_frames().get(thread.ident or -1)
    return "" if frame is None else "".join(traceback.format_stack(frame))
