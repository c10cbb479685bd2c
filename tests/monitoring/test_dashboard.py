"""The chart's Grafana dashboards (the agent's and the nodes' fleet dashboard) name only series that exist:
the agent's, as a real agent's /metrics exposes them after reconciling a job and a bridge, and the node's, as
its source declares them and as a real node following the dev chain exports them, with the labels the
queries aggregate and match on. Each check runs on both dashboards that it applies to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devkit import dashboard
from devkit.chainnode import ChainNode
from devkit.harness import eventually, synced, toml

from .rendering import NODE_MODULE, node_source
from .series import series_read, unexported

EVM = "github.com/smartcontractkit/chainlink-evm"
MULTINODE = "github.com/smartcontractkit/chainlink-framework/multinode"
HEADS = "github.com/smartcontractkit/chainlink-framework/chains"


@dataclass(frozen=True)
class Board:
    name: str
    # The node's metrics the dashboard reads: the module of the node v2.23.0 (scripts/tools.sh builds it)
    # or of its dependencies at the versions its go.mod requires, and the file that declares each.
    node_metrics: dict[str, tuple[str, str]]
    # Those a node following the dev chain does not export (it makes no such event): why.
    not_on_the_dev_chain_node: dict[str, str] = field(default_factory=dict)


BOARDS = [
    Board(
        dashboard.AGENT,
        {
            "pipeline_run_errors": (NODE_MODULE, "core/services/pipeline/runner.go"),
            "bridge_errors_total": (NODE_MODULE, "core/services/pipeline/task.bridge.go"),
        },
        {"bridge_errors_total": "the node runs no bridge task"},
    ),
    Board(
        dashboard.NODES,
        {
            "head_tracker_current_head": (HEADS, "heads/tracker.go"),
            "eth_balance": (EVM, "pkg/monitor/balance.go"),
            "multi_node_states": (MULTINODE, "multi_node.go"),
            "evm_pool_rpc_node_dials_failed": (EVM, "pkg/client/rpc_client.go"),
            "pipeline_run_errors": (NODE_MODULE, "core/services/pipeline/runner.go"),
        },
    ),
]
BY_NAME = pytest.mark.parametrize("board", BOARDS, ids=lambda b: b.name)
# The series each metric type exposes (the exposition declares a labelled metric before its first use).
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def exposed_series(text: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def queried(name: str) -> dict[str, set[str]]:
    """Each metric name the dashboard queries → where."""
    found: dict[str, set[str]] = {}
    for where, expr in dashboard.queries(dashboard.load(name)):
        for metric in dashboard.metric_names(expr):
            found.setdefault(metric, set()).add(where)
    return found


def test_both_dashboards_are_tested() -> None:
    assert sorted(b.name for b in BOARDS) == sorted(dashboard.NAMES)
    assert sorted(p.stem for p in dashboard.DIRECTORY.glob("*.json")) == sorted(dashboard.NAMES)


@BY_NAME
def test_every_panel_reads_the_agent_or_a_cited_node_metric(board: Board) -> None:
    names = set(queried(board.name))
    assert names - set(board.node_metrics) == {n for n in names if n.startswith("chainlink_agent_")}
    assert set(board.node_metrics) <= names, "a node metric listed here is no longer on the dashboard"


@BY_NAME
def test_node_metrics_are_declared_in_the_node_source(board: Board) -> None:
    for name, (module, path) in board.node_metrics.items():
        declared = re.search(rf'Name:\s+"{name}"', (node_source(module) / path).read_text())
        assert declared, f"{name} is not declared in {module} {path}"


@BY_NAME
def test_panels_have_unique_ids_and_do_not_overlap_in_the_grid(board: Board) -> None:
    board_json = dashboard.load(board.name)
    ids = [p["id"] for p in board_json["panels"]]
    assert len(ids) == len(set(ids)), f"panel ids repeat: {ids}"
    cells: dict[tuple[int, int], str] = {}
    for panel in board_json["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']} is wider than the grid"
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[x, y]}"
                cells[x, y] = panel["title"]


@BY_NAME
def test_table_columns_are_the_panels_queries(board: Board) -> None:
    """A table panel's targets are instant tables, merged into one row per node: each has an override that
    names its column, and no override names a column that no target makes."""
    for panel in dashboard.panels(dashboard.load(board.name)):
        if panel["type"] != "table":
            continue
        refs = {t["refId"] for t in panel["targets"]}
        assert all(t["format"] == "table" and t["instant"] for t in panel["targets"]), panel["title"]
        named = {o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]}
        assert named == {f"Value #{ref}" for ref in refs}, panel["title"]


@pytest.mark.parametrize("board", [b for b in BOARDS if b.name == dashboard.AGENT], ids=lambda b: b.name)
def test_dashboard_queries_only_series_a_real_agent_exposes(
    board: Board, jobs, bridges, start_node, start_agent
) -> None:
    agent = start_agent("node-a", start_node())
    jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})
    bridges.create("price", "https://ea.example", targets={"names": ["node-a"]})
    synced(jobs, "feed", "node-a")
    # synced() waits for a job ID too, which bridges do not have.
    eventually(lambda: (bridges.entry("price", "node-a") or {}).get("phase") == "Synced", 30, "price Synced")

    exposed = exposed_series(agent.metrics())
    missing = {
        name: sorted(where)
        for name, where in queried(board.name).items()
        if name not in {*board.node_metrics, *exposed}
    }
    assert not missing, f"the dashboard queries series the agent does not expose: {missing}"


@BY_NAME
def test_a_real_node_on_the_dev_chain_exports_every_node_series_the_dashboard_reads(
    board: Board, chain_node: ChainNode
) -> None:
    """Every selector of the node's metrics, its variables set to match all, picks a sample of the real
    node's /metrics that has each label the query aggregates or matches on (but the target's labels, which
    Prometheus adds): the node has a funded key, an unreachable second RPC node and a job whose run failed."""
    every = dict.fromkeys(dashboard.variables(dashboard.load(board.name)), ".*")
    read = [
        (where, selector, needed)
        for where, expr in dashboard.queries(dashboard.load(board.name), **every)
        for selector, needed in series_read(expr)
        if selector.name in board.node_metrics and selector.name not in board.not_on_the_dev_chain_node
    ]
    assert read, "the dashboard reads none of the node's series"

    gaps = unexported(chain_node, read)
    assert not gaps, f"the node exports no series for: {gaps}"
