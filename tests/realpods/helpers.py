"""What the real-pods modules share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from devkit.harness import eventually

T = TypeVar("T")


def waiting(check: Callable[[], T | None], timeout: float, what: str, evidence: Callable[[], str]) -> T:
    """eventually(), failing with `evidence()`: what the module's namespace shows (pods, objects, logs)."""
    try:
        return eventually(check, timeout, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{evidence()}") from None
