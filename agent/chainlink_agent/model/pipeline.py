"""The bridges a job's pipeline calls, read from its TOML. Pure.

The node's pipeline is DOT (observationSource); a task is `name [type=bridge name="x" ...]`, with each
attribute value quoted or bare (gonum's DOT parser, core/services/pipeline/graph.go). The node lowercases
task types (pipeline.TaskType.Normalize) and bridge names (bridges.ParseBridgeName, called by
job ORM.AssertBridgesExist before it stores a job), so both are compared lowercased here.

A bridge name goes into node API paths (GET /v2/bridge_types/:name), so one the node would refuse, or more
names than MAX_BRIDGES, make the job Invalid before any node call.
"""

from __future__ import annotations

import re

from chainlink_agent.model.errors import InvalidSpec
from chainlink_agent.model.spec import parse

# Distinct bridges one job may call. A pipeline calls a handful (a median over a few adapters); the cap
# bounds what one resource has the agent track, wait for and report.
MAX_BRIDGES = 32
# bridges.ParseBridgeName's rule (core/bridges/bridge_type.go bridgeNameRegex ^[a-zA-Z0-9-_]*$), not empty
# and no longer than a ChainlinkBridge's bridgeName may be (crds/chainlinkbridges.yaml): the same for both.
BRIDGE_NAME = re.compile(r"[a-zA-Z0-9_-]{1,255}")
# A DOT token: a quoted string (escapes kept), a bracket, "=", or a run of anything else. A string left open
# runs to the end of the text: otherwise every quote after it would start a new scan to the end, which is
# quadratic in escaped quotes (the fuzz run's finding: 16 s for 64 KB); the node refuses such a pipeline.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]=,;]|[^\s\[\]=,;"]+', re.DOTALL)


def check_bridge_name(name: str) -> None:
    """Raises InvalidSpec unless the node takes `name` as a bridge name: nothing else is ever put into a
    node API path."""
    if not BRIDGE_NAME.fullmatch(name):
        shown = name if len(name) <= 64 else name[:64] + "..."  # a status message, not the whole text
        raise InvalidSpec(
            "InvalidBridgeName",
            f"bridge name {shown!r} may hold only letters, digits, '_' and '-', at most 255 of them",
        )


def bridge_names(toml_text: str) -> list[str]:
    """Bridge names the pipeline uses, lowercased, in order, without repeats. A TOML that does not parse
    has none here: the caller has already refused it. Raises InvalidSpec for a name the node would refuse
    (checked before lowercasing, as the node does) and for more than MAX_BRIDGES names.

    A TOML without the word is not parsed (most jobs call no bridge, and a resync reads every job). Only a
    TOML escape inside the word (`type=\\u0062ridge`) slips past; the node then refuses the job as naming a
    missing bridge, which the reconciler treats as waiting for it."""
    if "bridge" not in toml_text.lower():
        return []
    try:
        source = parse(toml_text).get("observationSource")
    except InvalidSpec:
        return []
    if not isinstance(source, str):
        return []
    names: list[str] = []
    for attributes in _attribute_lists(source):
        if attributes.get("type", "").lower() == "bridge" and attributes.get("name"):
            check_bridge_name(attributes["name"])
            name = attributes["name"].lower()
            if name not in names:
                names.append(name)
            if len(names) > MAX_BRIDGES:
                raise InvalidSpec(
                    "TooManyBridges", f"a job may call at most {MAX_BRIDGES} bridges; its pipeline calls more"
                )
    return names


def _attribute_lists(dot: str) -> list[dict[str, str]]:
    lists: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    tokens = _TOKENS.findall(dot)  # raw: a quoted "[" is a value, not a bracket
    for index, tok in enumerate(tokens):
        if tok == "[":
            current = {}
        elif tok == "]" and current is not None:
            lists.append(current)
            current = None
        elif current is not None and tok == "=" and 0 < index < len(tokens) - 1:
            current[_unquote(tokens[index - 1])] = _unquote(tokens[index + 1])
    return lists


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token
