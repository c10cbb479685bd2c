"""Draws the chart's Grafana dashboards (charts/chainlink-node/dashboards/), each in its own grid layout, each
panel showing its own queries as a real Prometheus evaluates them over a real run. Grafana itself cannot be
built here, so these are not Grafana screenshots; the READMEs say so under the pictures.

- docs/dashboard.png, the agent's dashboard (chainlink-agent.json): the agent against the node double on the
  light control plane, with faults injected into the double (about 6 minutes).
- docs/fleet-dashboard.png, the nodes' fleet dashboard (chainlink-nodes.json): three real nodes (v2.23.0) on
  one dev chain (geth --dev), scraped as the chart's ServiceMonitor labels their targets: one whose key is
  funded during the run, one with an unreachable second RPC node, one whose job fails its runs (about 2
  minutes).

    python -m bench.dashboard_picture [--dashboard chainlink-nodes] [--out PNG] [--series JSON] [--redraw]

Needs the bench's tools (scripts/tools.sh: prometheus and geth among them, and the real node for the fleet
dashboard) and matplotlib (the `bench` extra).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import matplotlib
from kubernetes import client

from devkit import dashboard
from devkit.chainnode import failing_job
from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.devchain import DevChain
from devkit.cluster.prometheus import Prometheus
from devkit.harness import AgentProcess, Bridges, Jobs, install_crd, toml
from devkit.nodedouble.fixtures import NodeDoubleProcess
from devkit.realnode.fixtures import RealNodes
from devkit.realnode.node import UNREACHABLE_RPC, RealNode, evm_config, node_keys
from devkit.realnode.postgres import Postgres

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

ROOT = Path(__file__).resolve().parents[1]
Log = Callable[[str], None]
NAMESPACE, POD, NODE = "chainlink", "node-a-chainlink-node-0", "node-a"
# The labels a ServiceMonitor gives the agent's target (templates/servicemonitor.yaml).
TARGET_LABELS = {"namespace": NAMESPACE, "pod": POD, "endpoint": "agent-http"}
SCRAPE_SECONDS = 5
# Grafana's $__rate_interval at this scrape interval: four scrapes.
RATE_INTERVAL = f"{4 * SCRAPE_SECONDS}s"
# Grafana's dark theme.
BACKGROUND, PANEL, TEXT, GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"
COLORS = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0", "#37872d"]


def scenario(jobs: Jobs, bridges: Bridges, node: NodeDoubleProcess, log: Callable[[str], None]) -> None:
    """About six minutes of what a node sees: jobs and bridges arrive, some are edited, one is invalid and
    one suspended; then the node answers 500 for a while, then 429, then more jobs arrive and all settles."""
    targets = {"names": [NODE]}
    log("6 jobs, 2 bridges, an invalid job and a suspended one")
    for i in range(6):
        jobs.create(f"feed-{i}", toml(f"feed-{i}"), targets=targets)
    bridges.create("price", "https://ea.example/price", targets=targets)
    bridges.create("volume", "https://ea.example/volume", targets=targets)
    jobs.create("not-a-job", 'type = "nope"\nschemaVersion = 1\n', targets=targets)
    jobs.create("paused", toml("paused"), targets=targets, suspend=True)
    time.sleep(60)
    log("3 jobs edited")
    for i in range(3):
        jobs.patch_spec(f"feed-{i}", {"toml": toml(f"feed-{i}-v2")})
    time.sleep(30)
    log("the node answers 500 to the next 20 calls")
    node.inject({"action": "status", "status": 500, "count": 20})
    jobs.patch_spec("feed-3", {"toml": toml("feed-3-v2")})
    time.sleep(70)
    log("the node answers 429 to the next 5 calls")
    node.inject({"action": "status", "status": 429, "count": 5})
    time.sleep(40)
    log("4 more jobs")
    for i in range(6, 10):
        jobs.create(f"feed-{i}", toml(f"feed-{i}"), targets=targets)
    time.sleep(90)


def scrape_job(job: str, target: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"job_name": job, "static_configs": [{"targets": [target], "labels": labels}]}


def start_prometheus(workdir: Path, *jobs: dict[str, Any]) -> Prometheus:
    config = {
        "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s"},
        "scrape_configs": list(jobs),
    }
    return Prometheus(workdir / "prometheus", config).start()


def legend(fmt: str, labels: dict[str, str]) -> str:
    """Grafana's legendFormat: {{label}} replaced by the series' label."""
    for key, value in labels.items():
        fmt = fmt.replace("{{" + key + "}}", value)
    return fmt


def formatted(value: float, unit: str | None) -> str:
    if math.isnan(value):
        return "NaN"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.3g} s" if value < 120 else f"{value / 60:.1f} min"
    suffix = {"ops": " ops/s", "reqps": " req/s"}.get(unit or "", "")
    return f"{value:.3g}{suffix}"


def mapped(value: float, defaults: dict[str, Any]) -> tuple[str | None, str | None]:
    """Grafana's value mappings and thresholds: (text, colour) for a stat panel's value."""
    text = color = None
    for mapping in defaults.get("mappings", []):
        option = mapping["options"].get(str(int(value))) if value.is_integer() else None
        if option:
            text, color = option.get("text"), option.get("color")
    if color is None and "thresholds" in defaults:
        for step in defaults["thresholds"]["steps"]:
            if step["value"] is None or value >= step["value"]:
                color = step["color"]
    return text, color


GRAFANA_COLORS = {"red": "#f2495c", "green": "#73bf69", "orange": "#ff9830", "blue": "#5794f2"}


def draw_stat(ax: Any, panel: dict[str, Any], series: list[tuple[str, list[float]]]) -> None:
    defaults = panel["fieldConfig"]["defaults"]
    fixed = defaults.get("color", {}).get("fixedColor")
    names_only = panel["options"]["textMode"] == "name"
    width = 1 / max(len(series), 1)
    for i, (name, values) in enumerate(series):
        last = next((v for v in reversed(values) if not math.isnan(v)), math.nan)
        text, color = mapped(last, defaults)
        color = GRAFANA_COLORS.get(color or fixed or "", color or fixed or "#5794f2")
        ax.add_patch(Rectangle((i * width + 0.01, 0.02), width - 0.02, 0.78, color=color, alpha=0.85))
        shown = name if names_only else text or formatted(last, defaults.get("unit"))
        ax.text(
            i * width + width / 2,
            0.38,
            shown,
            ha="center",
            va="center",
            color="white",
            fontsize=9 if names_only else 15,
            weight="bold",
            wrap=True,
        )
        if not names_only and len(series) > 1:
            ax.text(i * width + width / 2, 0.1, name, ha="center", color="white", fontsize=7)


def draw_timeseries(
    ax: Any, panel: dict[str, Any], series: list[tuple[str, list[float]]], minutes: list[float]
) -> None:
    unit = panel["fieldConfig"]["defaults"].get("unit")
    for i, (name, values) in enumerate(series):
        ax.plot(minutes, values, color=COLORS[i % len(COLORS)], linewidth=1.4, label=name)
    ax.set_facecolor(PANEL)
    ax.tick_params(colors=TEXT, labelsize=7)
    ax.grid(color=GRID, linewidth=0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("minutes into the run", color=TEXT, fontsize=7)
    ax.yaxis.set_major_formatter(lambda v, _pos: formatted(v, unit))
    if series:
        ax.legend(fontsize=6.5, loc="upper left", facecolor=PANEL, edgecolor=GRID, labelcolor=TEXT, ncol=2)


def decimals(value: float, places: int | None) -> str:
    return f"{value:.{places}f}" if places is not None else f"{value:.3g}"


def table_columns(panel: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target's column, as its field override names, formats and colours it:
    {refId, name, unit, decimals, thresholds}."""
    columns = []
    for target in panel["targets"]:
        found = {"refId": target["refId"], "name": f"Value #{target['refId']}"}
        for override in panel["fieldConfig"]["overrides"]:
            if override["matcher"]["options"] == found["name"]:
                found |= {p["id"].replace("displayName", "name"): p["value"] for p in override["properties"]}
        columns.append(found)
    return columns


def draw_table(ax: Any, panel: dict[str, Any], cells: list[dict[str, Any]]) -> None:
    """Grafana's table of instant queries merged by their labels (the merge transformation): one row per
    node (namespace, pod), one coloured column per query."""
    columns = table_columns(panel)
    rows = sorted({(c["labels"].get("namespace", ""), c["labels"].get("pod", "")) for c in cells})
    values = {
        (c["labels"].get("namespace", ""), c["labels"].get("pod", ""), c["refId"]): c["value"] for c in cells
    }
    widths = [0.1, 0.24] + [0.66 / len(columns)] * len(columns)
    lefts = [sum(widths[:i]) for i in range(len(widths))]
    high = min(0.16, 0.92 / (len(rows) + 1))
    for i, header in enumerate(["Namespace", "Pod", *(c["name"] for c in columns)]):
        ax.text(lefts[i] + 0.006, 0.93 - high / 2, header, color=TEXT, fontsize=8, weight="bold", va="center")
    for r, (namespace, pod) in enumerate(rows):
        y = 0.93 - (r + 2) * high
        ax.plot([0, 1], [y + high, y + high], color=GRID, linewidth=0.6)
        ax.text(lefts[0] + 0.006, y + high / 2, namespace, color=TEXT, fontsize=8, va="center")
        ax.text(lefts[1] + 0.006, y + high / 2, pod, color=TEXT, fontsize=8, va="center")
        for i, column in enumerate(columns, start=2):
            value = values.get((namespace, pod, column["refId"]))
            if value is None:
                continue
            _text, color = mapped(
                value, {"thresholds": column["thresholds"]} if "thresholds" in column else {}
            )
            ax.add_patch(
                Rectangle(
                    (lefts[i] + 0.002, y + 0.01),
                    widths[i] - 0.004,
                    high - 0.02,
                    color=GRAFANA_COLORS.get(color or "", color or PANEL),
                    alpha=0.85,
                )
            )
            unit = column.get("unit")
            shown = formatted(value, unit) if unit == "s" else decimals(value, column.get("decimals"))
            ax.text(
                lefts[i] + 0.006, y + high / 2, shown, color="white", fontsize=8, weight="bold", va="center"
            )


@dataclass(frozen=True)
class Picture:
    """One dashboard's picture: the run that feeds it, and what its panels' variables are set to."""

    dashboard: str
    out: Path
    series: Path
    variables: dict[str, str]
    # The run: its Prometheus, still running (stopped after the evaluation), and its start and end.
    run: Callable[[Path, Log], tuple[Prometheus, float, float]]
    caption: Callable[[float], str]  # the run's length in minutes → the caption


def evaluate(picture: Picture, prometheus: Prometheus, start: float, end: float) -> dict[str, Any]:
    """Every panel's queries over the run, as Grafana would ask: {panel id: [[legend, values]]}, with NaN
    (null in JSON) where a series has no point; a table panel's instant queries at the run's end, over the
    run ($__range), each result one cell: {panel id: [{refId, labels, value}]}."""
    times = [start + i * SCRAPE_SECONDS for i in range(int((end - start) // SCRAPE_SECONDS) + 1)]
    panels: dict[str, list[tuple[str, list[float | None]]]] = {}
    tables: dict[str, list[dict[str, Any]]] = {}
    span = f"{int(end - start)}s"
    for panel in dashboard.panels(dashboard.load(picture.dashboard)):
        found = panels.setdefault(str(panel["id"]), [])
        for target in panel["targets"]:
            expr = dashboard.expand(target["expr"], RATE_INTERVAL, span, **picture.variables)
            if target.get("instant"):
                tables.setdefault(str(panel["id"]), []).extend(
                    {"refId": target["refId"], "labels": r["metric"], "value": float(r["value"][1])}
                    for r in prometheus.get("/api/v1/query", query=expr, time=end)["result"]
                )
                continue
            ranged = prometheus.get(
                "/api/v1/query_range", query=expr, start=start, end=end, step=SCRAPE_SECONDS
            )
            for result in ranged["result"]:
                # Prometheus answers at start + k * step; k, not the float time, says which point it is.
                points = {round((float(t) - start) / SCRAPE_SECONDS): float(v) for t, v in result["values"]}
                values = [points.get(k) for k in range(len(times))]
                found.append((legend(target["legendFormat"], result["metric"]), values))
    return {"minutes": [(t - start) / 60 for t in times], "panels": panels, "tables": tables}


def render(picture: Picture, run: dict[str, Any], out: Path) -> None:
    board = dashboard.load(picture.dashboard)
    caption = picture.caption(run["minutes"][-1])
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    unit_w, unit_h = 0.8, 0.33  # inches per grid column and per grid row
    top = 0.9  # inches for the title
    fig = plt.figure(figsize=(24 * unit_w, height * unit_h + top + 0.3), facecolor=BACKGROUND)
    fig_w, fig_h = fig.get_size_inches()
    fig.text(0.01, 1 - 0.35 / fig_h, board["title"], color=TEXT, fontsize=16, weight="bold", va="top")
    fig.text(0.01, 1 - 0.7 / fig_h, caption, color="#8e8e8e", fontsize=9, va="top")

    def box(
        grid: dict[str, int], pads: tuple[float, float, float, float]
    ) -> tuple[float, float, float, float]:
        """The grid cell as a figure rectangle, less (left, bottom, right, top) inches."""
        x, y, w, h = (grid[k] for k in ("x", "y", "w", "h"))
        left, bottom = x * unit_w + pads[0], fig_h - top - (y + h) * unit_h + pads[1]
        width, high = w * unit_w - pads[0] - pads[2], h * unit_h - pads[1] - pads[3]
        return (left / fig_w, bottom / fig_h, width / fig_w, high / fig_h)

    for panel in board["panels"]:
        if panel["type"] == "row":
            left, bottom, _width, _height = box(panel["gridPos"], (0.05, 0.05, 0.05, 0.05))
            fig.text(
                left,
                bottom,
                panel["title"],
                color=TEXT,
                fontsize=12,
                weight="bold",
            )
            continue
        series = [
            (name, [math.nan if v is None else v for v in values])
            for name, values in run["panels"][str(panel["id"])]
        ]
        frame = fig.add_axes(box(panel["gridPos"], (0.04, 0.04, 0.04, 0.3)))
        frame.set_facecolor(PANEL)
        frame.set_xticks([])
        frame.set_yticks([])
        for spine in frame.spines.values():
            spine.set_color(GRID)
        frame.set_title(panel["title"], color=TEXT, fontsize=9, loc="left", pad=3)
        if panel["type"] == "table":
            frame.set_xlim(0, 1)
            frame.set_ylim(0, 1)
            draw_table(frame, panel, run.get("tables", {}).get(str(panel["id"]), []))
        elif not series:
            frame.text(0.5, 0.5, "No data", ha="center", va="center", color="#8e8e8e", fontsize=11)
        elif panel["type"] == "stat":
            frame.set_xlim(0, 1)
            frame.set_ylim(0, 1)
            draw_stat(frame, panel, series)
        else:
            draw_timeseries(
                fig.add_axes(box(panel["gridPos"], (0.75, 0.45, 0.15, 0.4))),
                panel,
                series,
                run["minutes"],
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=BACKGROUND)


def agent_run(workdir: Path, log: Log) -> tuple[Prometheus, float, float]:
    with ControlPlane(workdir / "controlplane") as cluster, cluster.api_client() as api:
        install_crd(api)
        client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
        node = NodeDoubleProcess.start(workdir)
        agent = AgentProcess(
            workdir,
            str(cluster.kubeconfig),
            NAMESPACE,
            NODE,
            node.url,
            node.email,
            node.password,
            {"chain": "sepolia"},
            resync_seconds=15.0,
        )
        job = scrape_job("node-a-chainlink-node-headless", f"127.0.0.1:{agent.port}", TARGET_LABELS)
        prometheus = start_prometheus(workdir, job)
        try:
            start = time.time()
            agent.start()
            log(f"agent ready; Prometheus at {prometheus.url}")
            scenario(Jobs(api, NAMESPACE), Bridges(api, NAMESPACE), node, log)
            return prometheus, start, time.time()
        except BaseException:
            prometheus.stop()
            raise
        finally:
            agent.stop()
            node.stop()


# The fleet: (namespace, release) of each node; a release's one pod is RELEASE-chainlink-node-0.
FLEET = [("oracles", "feeds-a"), ("oracles", "feeds-b"), ("vrf", "vrf-a")]
FUNDS = 10**18  # one ether, for feeds-a's key
FLEET_SECONDS = 100  # of the run, once the nodes are up


def fleet_target(namespace: str, release: str) -> dict[str, str]:
    """The labels the chart's ServiceMonitor gives a node's /metrics target (templates/servicemonitor.yaml:
    the headless Service's port api; the Prometheus Operator adds namespace, service, pod and container, and
    names the job after the Service)."""
    service = f"{release}-chainlink-node-headless"
    pod = f"{release}-chainlink-node-0"
    return {"namespace": namespace, "service": service, "pod": pod, "container": "node", "endpoint": "api"}


def fail_runs(node: RealNode, stop_at: float) -> None:
    """A webhook job whose every run fails, run every 5 s until stop_at (as test_node_on_dev_chain.py does
    once)."""
    with failing_job(node) as run:
        while time.time() < stop_at:
            run()
            time.sleep(5)


def fleet_run(workdir: Path, log: Log) -> tuple[Prometheus, float, float]:
    postgres = Postgres.start()
    nodes: list[RealNode] = []
    try:
        real_nodes = RealNodes(postgres, workdir / "nodes")
        with DevChain(workdir / "chain") as chain:
            chain_id = str(chain.chain_id)
            dev_rpc = (chain.ws_url, chain.http_url)
            rpcs = {"feeds-a": [dev_rpc], "feeds-b": [dev_rpc, UNREACHABLE_RPC], "vrf-a": [dev_rpc]}
            # In this thread, one after another: a bench process gets SIGTERM when the thread that started
            # it ends (PR_SET_PDEATHSIG, devkit/cluster/process.py).
            nodes.extend(real_nodes.start(r, evm_config(chain_id, *rpcs[r])) for _, r in FLEET)
            by_release = {release: node for (_, release), node in zip(FLEET, nodes, strict=True)}
            log(f"{len(nodes)} nodes ready on chain {chain_id}")
            jobs = [
                scrape_job(labels["service"], urlsplit(node.url).netloc, labels)
                for (namespace, release), node in zip(FLEET, nodes, strict=True)
                for labels in [fleet_target(namespace, release)]
            ]
            prometheus = start_prometheus(workdir, *jobs)
            try:
                start = time.time()
                end = start + FLEET_SECONDS
                log(f"Prometheus at {prometheus.url}; vrf-a's job fails its runs every 5 s")
                with ThreadPoolExecutor(1) as pool:
                    failing = pool.submit(fail_runs, by_release["vrf-a"], end)
                    time.sleep(30)
                    key = node_keys(by_release["feeds-a"])["eth"][0]
                    chain.fund(key, FUNDS)
                    log(f"funded feeds-a's key {key}")
                    failing.result()
                time.sleep(max(0.0, end - time.time()))
                return prometheus, start, time.time()
            except BaseException:
                prometheus.stop()
                raise
    finally:
        for node in nodes:
            node.stop()
        postgres.stop()


def agent_caption(minutes: float) -> str:
    return (
        "Drawn by bench/dashboard_picture.py from the dashboard's own queries, evaluated by Prometheus "
        f"over a {minutes:.0f}-minute run of the agent against the node double (500s and 429s "
        "injected). Not a Grafana screenshot. The node double has no /metrics: the node's panels are empty."
    )


def fleet_caption(minutes: float) -> str:
    return (
        "Drawn by bench/dashboard_picture.py from the dashboard's own queries, evaluated by Prometheus "
        f"over a {minutes * 60:.0f}-second run of three real nodes on one dev chain: feeds-a's key funded "
        "30 s in, feeds-b's second RPC node unreachable, vrf-a's job failing. Not a Grafana screenshot."
    )


PICTURES = {
    dashboard.AGENT: Picture(
        dashboard.AGENT,
        ROOT / "docs" / "dashboard.png",
        ROOT / "docs" / "dashboard-series.json",
        {"namespace": NAMESPACE, "pod": POD},
        agent_run,
        agent_caption,
    ),
    dashboard.NODES: Picture(
        dashboard.NODES,
        ROOT / "docs" / "fleet-dashboard.png",
        ROOT / "docs" / "fleet-dashboard-series.json",
        {"namespace": ".*", "pod": ".*", "chain": ".*"},
        fleet_run,
        fleet_caption,
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dashboard", choices=sorted(PICTURES), default=dashboard.AGENT)
    parser.add_argument("--out", type=Path, help="the picture (default: the dashboard's under docs/)")
    parser.add_argument(
        "--series",
        type=Path,
        help="where the run's evaluated queries go (the figures the picture shows; default: under docs/)",
    )
    parser.add_argument("--redraw", action="store_true", help="draw from --series again, without a run")
    args = parser.parse_args()
    picture = PICTURES[args.dashboard]
    out, series = args.out or picture.out, args.series or picture.series
    if args.redraw:
        render(picture, json.loads(series.read_text()), out)
        return 0
    begun = time.monotonic()

    def log(line: str) -> None:
        print(f"[dashboard {time.monotonic() - begun:5.0f}s] {line}", file=sys.stderr, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="dashboard-picture-"))
    prometheus, start, end = picture.run(workdir, log)
    try:
        run = evaluate(picture, prometheus, start, end)
    finally:
        prometheus.stop()
    series.parent.mkdir(parents=True, exist_ok=True)
    series.write_text(json.dumps(run, indent=1) + "\n")
    render(picture, run, out)
    log(f"wrote {out} and {series}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
