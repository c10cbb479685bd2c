"""Keeps the values read from Secrets out of every message a reconcile produces.

A reconcile remembers each Secret value it reads; status messages, Events, log lines and error
descriptions pass through redact() before they leave the agent, so a value that the node or the TOML
parser echoes back (an invalid externalJobID, a refused job name, a URL in an error) shows as
REDACTED. The memory is a context variable: each worker thread reconciles one key at a time in its own
scope, and nothing outlives that scope.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REDACTED = "[redacted]"
_values: ContextVar[tuple[str, ...]] = ContextVar("chainlink_agent_secret_values", default=())


@contextmanager
def scope() -> Iterator[None]:
    token = _values.set(())
    try:
        yield
    finally:
        _values.reset(token)


def remember(value: str) -> None:
    """value, and the forms messages quote it in (JSON and Python escapes), are redacted from now on."""
    forms = {value, json.dumps(value)[1:-1], repr(value)[1:-1]}
    known = set(_values.get()) | {f for f in forms if f}
    # Longest first, so a value that contains another is replaced whole.
    _values.set(tuple(sorted(known, key=len, reverse=True)))


def redact(text: str) -> str:
    for value in _values.get():
        text = text.replace(value, REDACTED)
    return text


def is_secret_uuid(text: str) -> bool:
    """Whether text is, as a UUID, one of the values read: an externalJobID taken from a Secret."""
    values = _values.get()
    if not values:
        return False
    wanted = _uuid(text)
    return wanted is not None and any(_uuid(value) == wanted for value in values)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None
