"""The agent's one retry schedule: base * 2^n seconds after the n-th failure in a row, at most cap (the
backoff library's expo). A key's failed reconciles (workqueue.py), a failed resync (app.py) and a broken
watch (informer.py, with full jitter) all wait by it."""

from __future__ import annotations

import itertools
from collections.abc import Generator
from typing import Any

import backoff


def schedule(base: float, cap: float) -> Generator[Any, Any, None]:
    """The delays as a backoff wait generator (backoff.on_exception primes it with one send)."""
    return backoff.expo(factor=base, max_value=cap)


def delay(failures: int, base: float, cap: float) -> float:
    """The wait after `failures` earlier failures in a row (0: the first retry)."""
    waits = schedule(base, cap)
    next(waits)  # the priming yield
    # Past 64 doublings any cap has long been reached, and the generator then repeats it.
    wait: float = next(itertools.islice(waits, min(failures, 64), None))
    return wait
