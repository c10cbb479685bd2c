"""values.schema.json checked against values.yaml, which holds both the defaults and their `# --` texts.

    python3 -m tests.chart.values_schema           # list where the two disagree
    python3 -m tests.chart.values_schema --write   # copy the `# --` texts into the schema's descriptions

The schema is written by hand for its types and constraints; values.yaml stays the one source of the keys and
their text. A schema object with `properties` is a group of keys: it names exactly the keys values.yaml has
there and refuses any other (`additionalProperties: false`, so a misspelt key fails the install). An object
without `properties` is a free-form map (resources, probes, labels): its default is data, not keys, and its
`additionalProperties`, if any, types the entries. Each property's description is its key's `# --` text as the
README's table shows it; a group of keys has no comment of its own in values.yaml, so no description either.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from devkit.chart import CHART
from tests.chart import values_table

SCHEMA = CHART / "values.schema.json"
# Helm hands every chart `global`; values.yaml has none of its own.
HELM_OWN = ("global",)
WRITE_HINT = "python3 -m tests.chart.values_schema --write"

_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


@dataclass
class Property:
    key: str
    schema: dict[str, Any]
    default: Any

    @property
    def group(self) -> bool:
        return "properties" in self.schema


def walk(
    schema: dict[str, Any], values: dict[str, Any], found: list[str], group: str = ""
) -> Iterator[Property]:
    """The group's properties that values.yaml also has, depth first; keys on one side only go to found."""
    if schema.get("additionalProperties") is not False:
        where = group or "the top level"
        found.append(
            f"{where}: a group of keys without additionalProperties: false lets a misspelt key through"
        )
    prefix = f"{group}." if group else ""
    props: dict[str, Any] = schema["properties"]
    exempt = () if group else HELM_OWN
    found += [f"{prefix}{k}: in values.yaml, not in the schema" for k in values if k not in props]
    found += [
        f"{prefix}{k}: in the schema, not in values.yaml"
        for k in props
        if k not in values and k not in exempt
    ]
    for key, sub in props.items():
        if key not in values:
            continue
        prop = Property(prefix + key, sub, values[key])
        yield prop
        if not prop.group:
            continue
        if isinstance(prop.default, dict):
            yield from walk(sub, prop.default, found, prop.key)
        else:
            found.append(f"{prop.key}: a group of keys in the schema, but its default is not a map")


def _types(schema: dict[str, Any]) -> set[str] | None:
    """JSON types the schema admits (type, enum, const or oneOf/anyOf branches); None if it says nothing."""
    if "type" in schema:
        kind = schema["type"]
        return {kind} if isinstance(kind, str) else set(kind)
    if "enum" in schema or "const" in schema:
        return {_JSON_TYPES[type(v)] for v in schema.get("enum", [schema.get("const")])}
    branches = [_types(b) for b in schema.get("oneOf", schema.get("anyOf", []))]
    if not branches or None in branches:
        return None
    return set().union(*(b for b in branches if b is not None))


def _type_problem(prop: Property) -> str | None:
    admitted = _types(prop.schema)
    if admitted is None:
        return f"{prop.key}: the schema gives no type (type, enum, const, oneOf or anyOf)"
    actual = _JSON_TYPES[type(prop.default)]
    if actual in admitted or (actual == "integer" and "number" in admitted):
        return None
    default = json.dumps(prop.default)
    return f"{prop.key}: the default {default} is of type {actual}; the schema admits {sorted(admitted)}"


def _description_problem(prop: Property, doc: str | None) -> str | None:
    description = prop.schema.get("description")
    if doc is None and not prop.group:
        return f"{prop.key}: no `# --` comment in values.yaml to describe it"
    if doc is None and description is not None:
        return (
            f"{prop.key}: a description, but values.yaml has no `# --` comment for this group ({WRITE_HINT})"
        )
    if description != doc:
        return f"{prop.key}: the description {description!r} is not its `# --` comment {doc!r} ({WRITE_HINT})"
    return None


def _read(values_text: str) -> tuple[dict[str, Any], dict[str, str]]:
    """values.yaml's defaults, and its `# --` texts by dotted key."""
    return yaml.safe_load(values_text) or {}, {e.key: e.description for e in values_table.parse(values_text)}


def problems(schema: dict[str, Any], values_text: str) -> list[str]:
    """Every disagreement between the schema and values.yaml; empty when they match."""
    values, docs = _read(values_text)
    found: list[str] = []
    for prop in walk(schema, values, found):
        found += [p for p in (_type_problem(prop), _description_problem(prop, docs.get(prop.key))) if p]
    return found


def described(schema: dict[str, Any], values_text: str) -> dict[str, Any]:
    """A copy of the schema whose descriptions are the `# --` texts (none for groups of keys without one)."""
    values, docs = _read(values_text)
    out = copy.deepcopy(schema)
    for prop in walk(out, values, []):
        if prop.key in docs:
            prop.schema["description"] = docs[prop.key]
        elif prop.group:
            prop.schema.pop("description", None)
    return out


def main(argv: list[str]) -> int:
    values_text = (CHART / "values.yaml").read_text(encoding="utf-8")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    if "--write" in argv:
        text = json.dumps(described(schema, values_text), indent=2, ensure_ascii=False) + "\n"
        SCHEMA.write_text(text, encoding="utf-8")
        return 0
    found = problems(schema, values_text)
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
