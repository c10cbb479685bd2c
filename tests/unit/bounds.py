"""The CRDs' size bounds on status (maxLength, maxItems, maxProperties), read from the CRDs themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CRDS = Path(__file__).resolve().parents[2] / "crds"


def status_schema(name: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / f"{name}.yaml").read_text(encoding="utf-8"))
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]


def violations(schema: dict[str, Any], value: Any, path: str = "status") -> list[str]:
    """Where value breaks the schema's size bounds (maxLength, maxItems, maxProperties), as the apiserver
    counts them (characters, items, keys)."""
    found = []
    if isinstance(value, str) and len(value) > schema.get("maxLength", len(value)):
        found.append(f"{path}: {len(value)} characters > {schema['maxLength']}")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            found.append(f"{path}: {len(value)} items > {schema['maxItems']}")
        for i, item in enumerate(value):
            found += violations(schema.get("items", {}), item, f"{path}[{i}]")
    if isinstance(value, dict):
        if len(value) > schema.get("maxProperties", len(value)):
            found.append(f"{path}: {len(value)} keys > {schema['maxProperties']}")
        for key, item in value.items():
            inner = schema.get("properties", {}).get(key) or schema.get("additionalProperties") or {}
            found += violations(inner if isinstance(inner, dict) else {}, item, f"{path}.{key}")
    return found
