"""The chart README's values tables, generated from the `# --` comments of values.yaml (helm-docs style).

    python3 -m tests.chart.values_table           # print the tables
    python3 -m tests.chart.values_table --write   # rewrite them in charts/chainlink-node/README.md

helm-docs is not available here; this covers the subset the chart uses: `# -- description` (continued by
plain `#` lines) right above a key, an optional `(type)` after `# --`, and `# @default -- text`. A line
`## @section Title` at the start of a line (the Bitnami readme-generator's marker) opens a section: the keys
below it, up to the next such line, make one table under a `### Title` heading, in file order.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import yaml

from devkit.chart import CHART

BEGIN = "<!-- values-table:begin (python3 -m tests.chart.values_table --write) -->"
END = "<!-- values-table:end -->"

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?:\s|$)")
_DOC = re.compile(r"^\s*# -- ?(?:\((?P<type>[a-z]+)\) ?)?(?P<text>.*)$")
_DEFAULT = re.compile(r"^\s*# @default -- (?P<text>.*)$")
_SECTION = re.compile(r"^## @section (?P<title>.*\S)\s*$")
_TABLE_HEAD = ("| Key | Type | Default | Description |", "|-----|------|---------|-------------|")


@dataclass
class Entry:
    key: str
    type: str
    default: str
    description: str
    section: str  # the title of the `## @section` above it; "" before the first


def _type_of(value: Any) -> str:
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"), (list, "list")):
        if isinstance(value, kind):
            return name
    return "object" if isinstance(value, dict) else "string"


def parse(text: str) -> list[Entry]:
    """Documented keys in file order, with their defaults from the parsed YAML."""
    values = yaml.safe_load(text) or {}
    entries: list[Entry] = []
    stack: list[tuple[int, str]] = []  # (indent, key) of the enclosing mappings
    doc: list[str] | None = None
    doc_type = default = None
    section = ""
    for line in text.splitlines():
        if m := _SECTION.match(line):
            section, doc = m["title"], None
        elif m := _DOC.match(line):
            doc, doc_type, default = [m["text"]], m["type"], None
        elif m := _DEFAULT.match(line):
            default = m["text"]
        elif line.lstrip().startswith("#"):
            if doc is not None:
                doc.append(line.lstrip()[1:].strip())
        elif m := _KEY.match(line):
            indent = len(m["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            path = [k for _, k in stack] + [m["key"]]
            if doc is not None:
                value: Any = values
                for part in path:
                    value = value[part]
                entries.append(
                    Entry(
                        key=".".join(path),
                        type=doc_type or _type_of(value),
                        default=default or f"`{json.dumps(value, separators=(',', ':'))}`",
                        description=" ".join(doc).strip(),
                        section=section,
                    )
                )
            doc = None
            stack.append((indent, m["key"]))
        elif not line.strip():
            doc = None
    return entries


def undocumented(text: str) -> list[str]:
    """Leaf values (scalars, lists, empty maps) with no `# --` comment on themselves or an enclosing key."""
    documented = {e.key for e in parse(text)}
    missing: list[str] = []

    def walk(node: Any, path: list[str]) -> None:
        key = ".".join(path)
        if path and any(".".join(path[:i]) in documented for i in range(1, len(path) + 1)):
            return
        if isinstance(node, dict) and node:
            for k, v in node.items():
                walk(v, [*path, str(k)])
        elif path:
            missing.append(key)

    walk(yaml.safe_load(text) or {}, [])
    return missing


def section_titles(text: str) -> list[str]:
    """The titles of the `## @section` lines, in file order."""
    return [m["title"] for line in text.splitlines() if (m := _SECTION.match(line))]


def sections(text: str) -> dict[str, list[Entry]]:
    """The documented keys by section, sections in file order; keys above the first section under ""."""
    grouped: dict[str, list[Entry]] = {}
    for e in parse(text):
        grouped.setdefault(e.section, []).append(e)
    return grouped


def table(text: str) -> str:
    """One table per section, each under a `### Title` heading."""
    grouped = sections(text)
    if "" in grouped:
        raise ValueError(f"values.yaml: {grouped[''][0].key} comes before the first `## @section` line")
    parts = []
    for title, entries in grouped.items():
        rows = [f"### {title}", "", *_TABLE_HEAD]
        for e in entries:
            cells = (e.key, e.type, e.default, e.description)
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def render_readme(readme: str, values_text: str) -> str:
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table(values_text)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    values_text = (CHART / "values.yaml").read_text(encoding="utf-8")
    if "--write" not in argv:
        print(table(values_text))
        return 0
    readme = CHART / "README.md"
    readme.write_text(render_readme(readme.read_text(encoding="utf-8"), values_text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
