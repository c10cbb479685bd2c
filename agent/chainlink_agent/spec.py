"""Turns a ChainlinkJob's TOML into the exact spec sent to one node. Pure."""

from __future__ import annotations

import hashlib
import tomllib
import uuid
from dataclasses import dataclass


class InvalidSpec(Exception):
    """The spec cannot be sent to the node; only a spec change can fix it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class RenderedSpec:
    toml: str
    external_job_id: str
    spec_hash: str


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
        # A top-level key must come before any [table]; the first line is always top level.
        toml_text = f'externalJobID = "{derived_external_id}"\n{toml_text}'
        external_id = derived_external_id
    else:
        try:
            external_id = str(uuid.UUID(str(own)))
        except ValueError:
            raise InvalidSpec(
                "InvalidExternalJobID", f"externalJobID {own!r} in the job TOML is not a UUID"
            ) from None
    return RenderedSpec(toml_text, external_id, hashlib.sha256(toml_text.encode()).hexdigest())
