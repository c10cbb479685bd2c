"""The agent's one retry schedule: base * 2^n seconds after the n-th failure in a row, at most cap (the
backoff library's expo, as the agent used it). A key's failed reconciles (workqueue.py), a failed resync
(app.py), the admission self-test (admission.py) and a broken watch (informer.py, with full jitter) all wait
by it."""

from __future__ import annotations

# Past 64 doublings any cap has long been reached; the bound keeps 2**n within a float.
MAX_DOUBLINGS = 64


def delay(failures: int, base: float, cap: float) -> float:
    """The wait after `failures` earlier failures in a row (0: the first retry)."""
    return min(base * 2.0 ** min(failures, MAX_DOUBLINGS), cap)
