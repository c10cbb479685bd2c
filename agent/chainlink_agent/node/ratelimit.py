"""Pacing of every call to the node, with the node's own limiter figures.

The node limits each client to WebServer.RateLimit.Authenticated requests per AuthenticatedPeriod (1000 a
minute by default; core/web/router.go rateLimiter, ulule/limiter's memory store: a fixed window that opens
with the first request and answers X-RateLimit-Reset, the window's end in unix seconds). It counts refused
requests too, so a client that retries on 429 only digs deeper. The agent keeps one such window for all its
workers and waits for the next one instead of sending a request the node would refuse; if a 429 comes
anyway (another client of the same API, a window out of step), every caller waits for the node's reset.
Every answer also carries the node's count (X-RateLimit-Remaining, -Reset), which the window follows: a
restarted agent starts counting where its predecessor left the node's window, not at zero.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# The node's window opens when the request arrives, ours when it leaves, and its reset has a resolution
# of one second: a window this much longer never ends before the node's.
WINDOW_MARGIN_SECONDS = 1.0
# Once the answer to the request that opened the node's window is in, its end is known to within that
# request's round trip: the window then ends this long after the answer, which is never before the node's.
OPENER_MARGIN_SECONDS = 0.1


class RateLimit:
    def __init__(
        self,
        limit: int,
        period: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.period = limit, period
        self._clock, self._wall, self._sleep = clock, wall, sleep
        self._lock = threading.Lock()
        self._window_end = 0.0
        self._count = 0
        self._in_flight = 0  # acquired, not yet answered: the node may not have counted them yet

    def acquire(self) -> float:
        """Takes one request of the current window, waiting for the next window when it is used up;
        returns the seconds waited. Every acquire is followed by one finished()."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                if now >= self._window_end:
                    self._window_end, self._count = now + self.period + WINDOW_MARGIN_SECONDS, 0
                if self._count < self.limit:
                    self._count += 1
                    self._in_flight += 1
                    return waited
                wait = self._window_end - now
            self._sleep(wait)
            waited += wait

    def finished(
        self, limit: str | None = None, remaining: str | None = None, reset: str | None = None
    ) -> None:
        """A request is answered (or failed), with the node's count from the answer's headers
        (X-RateLimit-Limit, -Remaining, -Reset) when it has them. A node window ending apart from ours (it
        opened before this process did, or with another client's request) becomes ours, with the node's
        count plus the requests still on their way; within the same window the higher count holds, since
        answers overtake each other. The answer to the request that opened the node's window (Remaining
        one below the limit) ends ours a period after it arrives: the node's opened before that, so the
        second of margin a whole-second reset needs is spent once, not every window (10 s over 10,000
        creates). Another limiter's figures (POST /sessions has its own, 5 per 20 s) say nothing of this
        window."""
        with self._lock:
            self._in_flight -= 1
            if limit != str(self.limit):
                return
            try:
                used, seconds = self.limit - int(remaining or ""), float(reset or "") - self._wall()
            except ValueError:
                return
            now = self._clock()
            end = now + max(seconds, 0.0) + WINDOW_MARGIN_SECONDS
            if abs(end - self._window_end) > 2 * WINDOW_MARGIN_SECONDS:
                self._window_end, self._count = end, max(used, 0) + self._in_flight
            else:
                self._count = max(self._count, used)
                if used == 1:
                    self._window_end = min(self._window_end, now + self.period + OPENER_MARGIN_SECONDS)

    def refused(self, reset: str | None) -> None:
        """The node answered 429: nothing more until its reset (X-RateLimit-Reset, unix seconds), or a
        whole period when it gave none."""
        try:
            seconds = float(reset) - self._wall() + WINDOW_MARGIN_SECONDS if reset else self.period
        except ValueError:
            seconds = self.period
        with self._lock:
            # The node's window is the one that counts: ours now ends with it, used up.
            self._window_end = self._clock() + max(seconds, WINDOW_MARGIN_SECONDS)
            self._count = self.limit
