"""The agent's Grafana dashboard names only series that exist: the agent's, as a real agent's /metrics
exposes them after reconciling a job and a bridge, and the node's, as its source declares them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.harness import eventually, synced, toml

from . import dashboard
from .conftest import node_source

# The node's metrics the dashboard reads, and the file of smartcontractkit/chainlink v2.23.0 (the node
# scripts/tools.sh builds) that declares each.
NODE_METRICS = {
    "pipeline_run_errors": "core/services/pipeline/runner.go",
    "bridge_errors_total": "core/services/pipeline/task.bridge.go",
}
# The series each metric type exposes (the exposition declares a labelled metric before its first use).
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def exposed_series(text: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def queried() -> dict[str, set[str]]:
    """Each metric name the dashboard queries → where."""
    found: dict[str, set[str]] = {}
    for where, expr in dashboard.queries(dashboard.load()):
        for name in dashboard.metric_names(expr):
            found.setdefault(name, set()).add(where)
    return found


def test_every_panel_reads_the_agent_or_a_cited_node_metric() -> None:
    names = set(queried())
    assert names - set(NODE_METRICS) == {n for n in names if n.startswith("chainlink_agent_")}
    assert set(NODE_METRICS) <= names, "a node metric listed here is no longer on the dashboard"


def test_node_metrics_are_declared_in_the_node_source() -> None:
    source = node_source()
    for name, path in NODE_METRICS.items():
        assert f'Name: "{name}"' in (source / path).read_text(), f"{name} is not declared in {path}"


def test_dashboard_queries_only_series_a_real_agent_exposes(jobs, bridges, start_node, start_agent) -> None:
    agent = start_agent("node-a", start_node())
    jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})
    bridges.create("price", "https://ea.example", targets={"names": ["node-a"]})
    synced(jobs, "feed", "node-a")
    # synced() waits for a job ID too, which bridges do not have.
    eventually(lambda: (bridges.entry("price", "node-a") or {}).get("phase") == "Synced", 30, "price Synced")

    exposed = exposed_series(agent.metrics())
    missing = {
        name: sorted(where) for name, where in queried().items() if name not in {*NODE_METRICS, *exposed}
    }
    assert not missing, f"the dashboard queries series the agent does not expose: {missing}"
