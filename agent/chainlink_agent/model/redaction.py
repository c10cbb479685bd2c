"""Keeps the values read from Secrets out of every message a reconcile produces.

A reconcile remembers each Secret value it reads; status messages, Events, log lines and error
descriptions pass through redact() before they leave the agent, so a value that the node or the TOML
parser echoes back (an invalid externalJobID, a refused job name, a URL in an error) shows as
REDACTED. The memory is a context variable: each worker thread reconciles one key at a time in its own
scope, and nothing outlives that scope.

Matching ignores case: the node lowercases some values it echoes (a bridge name), and could print others in
another case (a checksummed address). Each remembered form and the text are folded to one case, char for
char, and each form is found with str.find: the cost is linear in the text for each form (values are few
and short), never a regex alternation retried at every position. No value is too short to redact (the
empty one aside): a one-character Secret blanks that letter, in either case, from every message, which
costs readability, not secrecy.
"""

from __future__ import annotations

import functools
import json
import tomllib
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
    """value, and the forms messages quote it in (JSON and Python escapes, and what a TOML string holding
    it decodes to), in any case, are redacted from now on."""
    forms = {value, json.dumps(value)[1:-1], repr(value)[1:-1], _toml_decoded(value)}
    known = set(_values.get()) | {_fold(f) for f in forms if f}
    _values.set(tuple(sorted(known)))


def redact(text: str) -> str:
    """text with every remembered form, in any case, replaced by REDACTED; overlapping, touching or nested
    matches (a value that contains another) become one."""
    values = _values.get()
    if not values:
        return text
    folded = _fold(text)
    spans = [span for value in values for span in _found(folded, value)]
    if not spans:
        return text
    parts: list[str] = []
    done = 0
    for start, end in sorted(spans):
        if end <= done:
            continue  # inside a span already redacted
        if start > done or not parts:
            parts += (text[done:start], REDACTED)
        done = end  # a match overlapping or touching the last one extends it: one REDACTED, not how many
    parts.append(text[done:])
    return "".join(parts)


def _found(text: str, value: str) -> Iterator[tuple[int, int]]:
    """The spans of text that value covers, overlapping matches joined. Only a value with a period shorter
    than itself ("abab") overlaps itself; a run of matches a period apart is followed a period at a time,
    not found again from each match's second character, which costs the value's length per match."""
    period = _period(value)
    tail = value[len(value) - period :]
    start = text.find(value)
    while start != -1:
        end = start + len(value)
        while period < len(value) and text.startswith(tail, end):
            end += period  # text[end - len(value):end] is value again
        yield start, end
        start = text.find(value, end - len(value) + 1)


@functools.lru_cache(maxsize=256)
def _period(value: str) -> int:
    """The shortest p with value[i] == value[i + p] throughout (Knuth-Morris-Pratt's failure function)."""
    border = [0] * len(value)
    for i in range(1, len(value)):
        k = border[i - 1]
        while k and value[i] != value[k]:
            k = border[k - 1]
        border[i] = k + (value[i] == value[k])
    return len(value) - border[-1]


def _fold(text: str) -> str:
    """text in one case, one char for each of text's, so a match's position in it is its position in text."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(char) for char in text)


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    upper = char.upper()  # "ß".upper() is "SS": then its own lower case
    lower = (upper if len(upper) == 1 else char).lower()
    return lower[0]  # "İ".lower() is "i" and a combining dot


def _toml_decoded(value: str) -> str:
    """value as a TOML basic string holding it decodes to (escapes resolved), or "" when it does not."""
    if "\\" not in value:
        return ""  # no escape: the same text
    try:
        decoded = tomllib.loads(f'v = "{value}"').get("v")
    except tomllib.TOMLDecodeError:
        return ""
    return decoded if isinstance(decoded, str) else ""
