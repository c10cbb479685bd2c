"""The chart's Grafana dashboards as data: their panels, their PromQL, and the series that PromQL names.
Shared by their tests and by bench/dashboard_picture.py, which draws them. Two dashboards, each a file under
charts/chainlink-node/dashboards/: the agent's (chainlink-agent) and the nodes' fleet dashboard
(chainlink-nodes)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser

DIRECTORY = Path(__file__).resolve().parents[1] / "charts/chainlink-node/dashboards"
AGENT, NODES = "chainlink-agent", "chainlink-nodes"
NAMES = (AGENT, NODES)
# label_values(SELECTOR, LABEL): Grafana's variable query, not PromQL; its selector is.
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*\w+\)$")


def path(name: str) -> Path:
    return DIRECTORY / f"{name}.json"


def load(name: str) -> dict[str, Any]:
    return json.loads(path(name).read_text(encoding="utf-8"))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def expand(expr: str, rate_interval: str = "1m", range_: str = "6h", **variables: str) -> str:
    """The query as Grafana sends it: $__rate_interval, $__range (the dashboard's time range) and the
    dashboard's variables replaced (a variable left out stays as it is, which parses as a regex matcher's
    text)."""
    expr = expr.replace("$__rate_interval", rate_interval).replace("$__range", range_)
    for name, value in variables.items():
        expr = expr.replace(f"${name}", value)
    return expr


def queries(dashboard: dict[str, Any], **variables: str) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and every variable's selector, with `variables` replaced."""
    for panel in panels(dashboard):
        for target in panel["targets"]:
            yield f"panel {panel['title']!r} {target['refId']}", expand(target["expr"], **variables)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = LABEL_VALUES.match(variable["query"]["query"])
            assert match, f"variable {variable['name']}: not a label_values() query"
            yield f"variable {variable['name']!r}", expand(match["selector"], **variables)


def variables(dashboard: dict[str, Any]) -> list[str]:
    """The names of the dashboard's query variables."""
    return [v["name"] for v in dashboard["templating"]["list"] if v["type"] == "query"]


def metric_names(expr: str) -> set[str]:
    """The metric names of every selector in the expression, by Prometheus's grammar."""
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            # A selector by __name__ alone could match anything: the dashboard names its metrics.
            assert node.name, f"a selector without a metric name in {expr}"
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names
