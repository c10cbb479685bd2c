"""The C heap under Python's objects: free pages given back to the system once a burst of work is over.
glibc malloc keeps what a burst freed (parsing 10,000-object list pages, a pass's node responses) inside
its heap, where it counts in the RSS until reused. Elsewhere (musl has no malloc_trim) it does nothing."""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the process has loaded
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim


_trim = _malloc_trim()


def trim() -> None:
    """Returns the free memory of every malloc arena to the system (a few ms at the agent's heap size)."""
    if _trim is not None:
        _trim(0)
