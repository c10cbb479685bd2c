"""Which series a PromQL expression reads, with the labels its aggregations and matches need, and which of
them a node's /metrics lacks: the alerts and the dashboards must read only what the node exports."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

import promql_parser

from devkit.chainnode import ChainNode, Sample

# What Prometheus and the ServiceMonitor add to every series of the node; the node exports none of them.
TARGET_LABELS = {"namespace", "job", "pod", "endpoint", "service", "instance", "container"}


Read = tuple[promql_parser.VectorSelector, frozenset[str]]


def series_read(expr: str) -> Iterator[Read]:
    """Each selector of the expression, with the labels that the aggregations (`by`) and vector matches
    (`on`) above it need on its series."""

    def walk(node: Any, needed: frozenset[str]) -> Iterator[Read]:
        match node:
            case promql_parser.VectorSelector():
                yield node, needed
            case promql_parser.MatrixSelector():
                yield from walk(node.vector_selector, needed)
            case promql_parser.AggregateExpr():
                group = node.modifier
                by = group.labels if group and group.type == promql_parser.AggModifierType.By else []
                yield from walk(node.expr, needed | set(by))
            case promql_parser.BinaryExpr():
                match_ = node.modifier.matching if node.modifier else None
                on = (
                    match_.labels if match_ and match_.type == promql_parser.LabelModifierType.Include else []
                )
                for side in (node.lhs, node.rhs):
                    yield from walk(side, needed | set(on))
            case promql_parser.Call():
                for arg in node.args:
                    yield from walk(arg, needed)
            case promql_parser.ParenExpr() | promql_parser.UnaryExpr() | promql_parser.SubqueryExpr():
                yield from walk(node.expr, needed)

    yield from walk(promql_parser.parse(expr), frozenset())


def unexported(
    chain_node: ChainNode, read: Sequence[tuple[str, promql_parser.VectorSelector, frozenset[str]]]
) -> list[str]:
    """Each of `read` (where it is read, the selector, the labels the query needs) that the node exports no
    series for within 40 s: it counts its RPC nodes' states every 6.5 s and reports health every 15 s."""

    def missing() -> list[str]:
        samples = chain_node.samples()
        return [
            f"{where}: {selector.prettify()} by {sorted(needed - TARGET_LABELS)}"
            for where, selector, needed in read
            if not any(selects(selector, needed, s) for s in samples)
        ]

    deadline = time.monotonic() + 40
    while (gaps := missing()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return gaps


def selects(selector: promql_parser.VectorSelector, needed: frozenset[str], sample: Sample) -> bool:
    """Whether the selector, but for its target labels, picks the sample, which has every needed label."""
    if sample.name != selector.name or not needed - TARGET_LABELS <= sample.labels.keys():
        return False
    return all(
        matches(m, sample.labels.get(m.name, ""))
        for m in selector.matchers.matchers
        if m.name not in TARGET_LABELS
    )


def matches(matcher: promql_parser.Matcher, value: str) -> bool:
    match matcher.op:
        case promql_parser.MatchOp.Equal:
            return value == matcher.value
        case promql_parser.MatchOp.NotEqual:
            return value != matcher.value
        case promql_parser.MatchOp.Re:
            return re.fullmatch(matcher.value, value) is not None
        case _:
            return re.fullmatch(matcher.value, value) is None
