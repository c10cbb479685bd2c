"""values.schema.json agrees with values.yaml (tests/chart/values_schema.py): the same keys, the defaults'
types, the `# --` texts as descriptions; and each kind of drift is caught."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from devkit.chart import CHART
from tests.chart import values_schema

SCHEMA: dict[str, Any] = json.loads(values_schema.SCHEMA.read_text(encoding="utf-8"))
VALUES = (CHART / "values.yaml").read_text(encoding="utf-8")


def test_values_schema_matches_values_yaml() -> None:
    found = values_schema.problems(SCHEMA, VALUES)
    assert found == [], "values.schema.json drifted from values.yaml:\n" + "\n".join(found)


def _prop(schema: dict[str, Any], key: str) -> dict[str, Any]:
    for part in key.split("."):
        schema = schema["properties"][part]
    return schema


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, f"values.yaml no longer holds {old!r}: update this test"
    return text.replace(old, new, 1)


def _set(key: str, field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda schema: _prop(schema, key).__setitem__(field, value)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    parent, _, name = key.rpartition(".")
    return lambda schema: _prop(schema, parent)["properties"].pop(name)


def _add(key: str) -> Callable[[dict[str, Any]], None]:
    parent, _, name = key.rpartition(".")
    return lambda schema: _prop(schema, parent)["properties"].__setitem__(name, {"type": "string"})


@pytest.mark.parametrize(
    ("schema_edit", "values_edit", "expected"),
    [
        pytest.param(
            _drop("node.api.port"),
            None,
            "node.api.port: in values.yaml, not in the schema",
            id="key-not-in-schema",
        ),
        pytest.param(
            _add("tests.image.registry"),
            None,
            "tests.image.registry: in the schema, not in values.yaml",
            id="key-not-in-values",
        ),
        pytest.param(
            None,
            ("  # -- Image pull policy.\n  pullPolicy: IfNotPresent\n", ""),
            "image.pullPolicy: in the schema, not in values.yaml",
            id="key-removed-from-values",
        ),
        pytest.param(
            lambda s: _prop(s, "node.p2p").pop("additionalProperties"),
            None,
            "node.p2p: a group of keys without additionalProperties: false",
            id="group-open-to-typos",
        ),
        pytest.param(
            _set("agent.port", "type", "string"),
            None,
            "agent.port: the default 8080 is of type integer; the schema admits ['string']",
            id="type",
        ),
        pytest.param(
            _set("p2pService.nodePort", "type", "integer"),
            None,
            "p2pService.nodePort: the default null is of type null; the schema admits ['integer']",
            id="null-default-not-admitted",
        ),
        pytest.param(
            _set("agent.nativeSidecar", "enum", [True, False]),
            None,
            "agent.nativeSidecar: the default \"auto\" is of type string; the schema admits ['boolean']",
            id="enum-type",
        ),
        pytest.param(
            lambda s: _prop(s, "agent.concurrency").pop("type"),
            None,
            "agent.concurrency: the schema gives no type",
            id="no-type",
        ),
        pytest.param(
            None,
            ("# -- Scrape interval.", "# -- Scrape interval of both ServiceMonitors."),
            "metrics.serviceMonitor.interval: the description 'Scrape interval.' is not its `# --` comment",
            id="comment-changed",
        ),
        pytest.param(
            _set("node.api.secureCookies", "description", "WebServer.SecureCookies."),
            None,
            "node.api.secureCookies: the description 'WebServer.SecureCookies.' is not its `# --` comment",
            id="description-changed",
        ),
        pytest.param(
            _set("image", "description", "The node image."),
            None,
            "image: a description, but values.yaml has no `# --` comment for this group",
            id="group-description",
        ),
    ],
)
def test_values_schema_drift_is_reported(
    schema_edit: Callable[[dict[str, Any]], None] | None, values_edit: tuple[str, str] | None, expected: str
) -> None:
    schema = copy.deepcopy(SCHEMA)
    if schema_edit:
        schema_edit(schema)
    values = _edit(VALUES, *values_edit) if values_edit else VALUES
    found = values_schema.problems(schema, values)
    assert any(p.startswith(expected) for p in found), "\n".join(found)


@pytest.mark.parametrize(
    "values_edit",
    [
        pytest.param(
            ("  nodeEndpoint: {}", "  nodeEndpoint: {bearerTokenSecret: {name: m, key: t}}"), id="free-form"
        ),
        pytest.param(("  nodePort: null", "  nodePort: 30690"), id="nullable"),
        pytest.param(("  nativeSidecar: auto", "  nativeSidecar: false"), id="enum"),
    ],
)
def test_values_schema_accepts_what_it_admits(values_edit: tuple[str, str]) -> None:
    # A free-form map's default is data, not keys; a nullable or enum property takes any of its types.
    assert values_schema.problems(SCHEMA, _edit(VALUES, *values_edit)) == []


def test_values_schema_write_makes_descriptions_match() -> None:
    schema = copy.deepcopy(SCHEMA)
    _set("node.importKeys", "description", "Keys the node imports at start from existing Secrets.")(schema)
    _set("credentials", "description", "Generated credentials.")(schema)
    assert values_schema.problems(values_schema.described(schema, VALUES), VALUES) == []
