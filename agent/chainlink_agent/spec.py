"""Turns a ChainlinkJob's TOML into the exact spec sent to one node. Pure."""

from __future__ import annotations

import hashlib
import tomllib
import uuid
from dataclasses import dataclass

from .errors import InvalidSpec


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
    toml_text: str, derived_external_id: str, external_id: str | None, spec_hash: str | None
) -> RenderedSpec | None:
    """What render() returns for toml_text, when a status entry recorded it (its external ID and spec
    hash), without parsing the TOML: render() is deterministic, so a text that hashes to the recorded hash,
    with or without the derived ID line, rendered to it before. None when the text is not the recorded one.
    A resync of 10,000 unchanged resources then costs 10,000 hashes instead of 10,000 TOML parses."""
    if external_id is None or spec_hash is None:
        return None
    if external_id == derived_external_id:
        text = _with_id(toml_text, external_id)
        if _hash(text) == spec_hash:
            return RenderedSpec(text, external_id, spec_hash)
    if _hash(toml_text) == spec_hash:
        return RenderedSpec(toml_text, external_id, spec_hash)
    return None


def render(toml_text: str, derived_external_id: str) -> RenderedSpec:
    """Adds the derived externalJobID unless the TOML sets its own.

    The node accepts any TOML its parser reads, so only what the agent itself needs is checked here: that
    the TOML parses and that an externalJobID it carries is a UUID. The node judges the rest.
    """
    try:
        doc = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSpec("InvalidTOML", f"the job TOML does not parse: {exc}") from exc
    own = doc.get("externalJobID")
    if own is None:
        toml_text = _with_id(toml_text, derived_external_id)
        external_id = derived_external_id
    else:
        try:
            external_id = str(uuid.UUID(str(own)))
        except ValueError:
            raise InvalidSpec(
                "InvalidExternalJobID", f"externalJobID {own!r} in the job TOML is not a UUID"
            ) from None
    return RenderedSpec(toml_text, external_id, _hash(toml_text))
