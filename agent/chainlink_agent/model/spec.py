"""Turns a ChainlinkJob's TOML into the exact spec sent to one node. Pure.

specHash, which status shows every reader of the resource, is the SHA-256 of that spec, unless it holds
values read from Secrets: then of `hashed_as`, a stand-in the caller builds without them (jobs.py: the spec
with each Secret reference replaced by the Secret's name, key and resourceVersion). A hash over a Secret value
would let anyone who reads the status test guesses at it offline; the stand-in still changes whenever the
spec or a Secret it reads does, across agent restarts too, which is what replaces the node's job.
"""

from __future__ import annotations

import hashlib
import tomllib
import uuid
from dataclasses import dataclass
from typing import Any

from chainlink_agent.model.errors import InvalidSpec


@dataclass(frozen=True)
class RenderedSpec:
    toml: str
    external_job_id: str
    spec_hash: str


def _with_id(toml_text: str, external_id: str) -> str:
    # A top-level key must come before any [table]; the first line is always top level.
    return f'externalJobID = "{external_id}"\n{toml_text}'


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def rendered_before(
    toml_text: str,
    derived_external_id: str,
    external_id: str | None,
    spec_hash: str | None,
    hashed_as: str | None = None,
) -> RenderedSpec | None:
    """What render() returns for toml_text (and hashed_as), when a status entry recorded it (its external ID
    and spec hash), without parsing the TOML: render() is deterministic, so a text that hashes to the
    recorded hash, with or without the derived ID line, rendered to it before. None when the text is not
    the recorded one. A resync of 10,000 unchanged resources then costs 10,000 hashes instead of 10,000
    TOML parses."""
    if external_id is None or spec_hash is None:
        return None
    shown = toml_text if hashed_as is None else hashed_as
    if external_id == derived_external_id and _hash(_with_id(shown, external_id)) == spec_hash:
        return RenderedSpec(_with_id(toml_text, external_id), external_id, spec_hash)
    if _hash(shown) == spec_hash:
        return RenderedSpec(toml_text, external_id, spec_hash)
    return None


def parse(toml_text: str) -> dict[str, Any]:
    """toml_text parsed, or InvalidSpec. tomllib recurses once per nested array or inline table, so a few
    hundred `[` raise RecursionError rather than a TOMLDecodeError (the fuzz run's finding): invalid too."""
    try:
        return tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSpec("InvalidTOML", f"the job TOML does not parse: {exc}") from exc
    except RecursionError:
        raise InvalidSpec("InvalidTOML", "the job TOML nests arrays or tables too deeply to read") from None


def render(toml_text: str, derived_external_id: str, hashed_as: str | None = None) -> RenderedSpec:
    """Adds the derived externalJobID unless the TOML sets its own; the hash is of the result, or of
    hashed_as (given when toml_text holds Secret values) with the same ID line.

    The node accepts any TOML its parser reads, so only what the agent itself needs is checked here: that
    the TOML parses and that an externalJobID it carries is a UUID. The node judges the rest.
    """
    own = parse(toml_text).get("externalJobID")
    shown = toml_text if hashed_as is None else hashed_as
    if own is None:
        toml_text = _with_id(toml_text, derived_external_id)
        shown = _with_id(shown, derived_external_id)
        external_id = derived_external_id
    else:
        try:
            external_id = str(uuid.UUID(str(own)))
        except ValueError:
            raise InvalidSpec(
                "InvalidExternalJobID", f"externalJobID {own!r} in the job TOML is not a UUID"
            ) from None
    return RenderedSpec(toml_text, external_id, _hash(shown))


# What an agent caches of a TOML its node does not run (resource.slim_for_node). NOT_KEPT does not mention
# externalJobID, so jobs._name derives the ID without a parse; UNPARSEABLE does and does not parse, so
# jobs._name falls back on the claims table: each as it did for the original.
NOT_KEPT = "# not kept here: this job's TOML is cached only by the agents of the nodes it targets\n"
UNPARSEABLE = "externalJobID = # not kept here: this job's TOML does not parse\n"
# Longer than any spelling of a UUID worth keeping; a longer value that is not one is replaced by this.
MAX_KEPT_ID = 100
NOT_A_UUID = "(a value too long to keep, and not a UUID)"


def external_id_only(toml_text: str) -> str:
    """A TOML of a few bytes whose external job ID, as jobs._name reads it, is toml_text's: the same
    derived, hand-set or invalid one (a job's name is all an agent reads of a job its node does not run,
    and 62 KB specs cost every agent of the namespace). A hand-set UUID is kept in its canonical form, the
    one the claims scan (reconcile._winner) looks for in the cache."""
    if not toml_text:
        return toml_text
    if "externaljobid" not in toml_text.lower():
        return NOT_KEPT
    try:
        own = parse(toml_text).get("externalJobID")
    except InvalidSpec:
        return UNPARSEABLE
    if own is None:
        return NOT_KEPT
    try:
        value = str(uuid.UUID(str(own)))
    except ValueError:
        value = str(own) if len(str(own)) <= MAX_KEPT_ID else NOT_A_UUID
    return f"externalJobID = {_toml_string(value)}\n"


def _toml_string(text: str) -> str:
    """text as a TOML basic string: quote, backslash and control characters escaped."""
    escaped = ("\\" + c if c in '"\\' else f"\\u{ord(c):04X}" if c < " " or c == "\x7f" else c for c in text)
    return '"' + "".join(escaped) + '"'
