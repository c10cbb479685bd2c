"""The bridges a job's pipeline calls, read from its TOML. Pure.

The node's pipeline is DOT (observationSource); a task is `name [type=bridge name="x" ...]`, with each
attribute value quoted or bare (gonum's DOT parser, core/services/pipeline/graph.go). The node lowercases
task types (pipeline.TaskType.Normalize) and bridge names (bridges.ParseBridgeName, called by
job ORM.AssertBridgesExist before it stores a job), so both are compared lowercased here.
"""

from __future__ import annotations

import re
import tomllib

# A DOT token: a quoted string (escapes kept), a bracket, "=", or a run of anything else.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]=,;]|[^\s\[\]=,;"]+')


def bridge_names(toml_text: str) -> list[str]:
    """Bridge names the pipeline uses, lowercased, in order, without repeats. A TOML that does not parse
    has none here: the caller has already refused it.

    A TOML without the word is not parsed (most jobs call no bridge, and a resync reads every job). Only a
    TOML escape inside the word (`type=\\u0062ridge`) slips past; the node then refuses the job as naming a
    missing bridge, which the reconciler treats as waiting for it."""
    if "bridge" not in toml_text.lower():
        return []
    try:
        source = tomllib.loads(toml_text).get("observationSource")
    except tomllib.TOMLDecodeError:
        return []
    if not isinstance(source, str):
        return []
    names: list[str] = []
    for attributes in _attribute_lists(source):
        if attributes.get("type", "").lower() == "bridge" and attributes.get("name"):
            name = attributes["name"].lower()
            if name not in names:
                names.append(name)
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
