"""Draws docs/dashboard.png: the agent's Grafana dashboard
(charts/chainlink-node/dashboards/chainlink-agent.json) in its own grid layout, each panel showing its own
queries as a real Prometheus evaluates them over a real run: the agent against the node double on the light
control plane, with faults injected into the double. Grafana itself cannot be built here, so this is not a
Grafana screenshot; the README says so under the picture.

    python -m bench.dashboard_picture [--out docs/dashboard.png]

Needs the bench's tools (scripts/tools.sh: prometheus among them) and matplotlib (the `bench` extra).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import matplotlib
from kubernetes import client

from tests.cluster.controlplane import ControlPlane
from tests.cluster.prometheus import Prometheus
from tests.integration.harness import AgentProcess, Bridges, Jobs, install_crd, toml
from tests.monitoring import dashboard
from tests.nodedouble.fixtures import NodeDoubleProcess

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

ROOT = Path(__file__).resolve().parents[1]
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


def start_prometheus(workdir: Path, agent_port: int) -> Prometheus:
    config = {
        "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s"},
        "scrape_configs": [
            {
                "job_name": "node-a-chainlink-node-headless",
                "static_configs": [{"targets": [f"127.0.0.1:{agent_port}"], "labels": TARGET_LABELS}],
            }
        ],
    }
    return Prometheus(workdir / "prometheus", config).start()


def query_range(url: str, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    params: dict[str, str | float] = {"query": expr, "start": start, "end": end, "step": SCRAPE_SECONDS}
    response = httpx.get(f"{url}/api/v1/query_range", params=params, timeout=30)
    response.raise_for_status()
    return list(response.json()["data"]["result"])


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


def evaluate(url: str, start: float, end: float) -> dict[str, Any]:
    """Every panel's queries over the run, as Grafana would ask: {panel id: [[legend, values]]}, with NaN
    (null in JSON) where a series has no point."""
    times = [start + i * SCRAPE_SECONDS for i in range(int((end - start) // SCRAPE_SECONDS) + 1)]
    panels: dict[str, list[tuple[str, list[float | None]]]] = {}
    for panel in dashboard.panels(dashboard.load()):
        found = panels.setdefault(str(panel["id"]), [])
        for target in panel["targets"]:
            expr = dashboard.expand(target["expr"], RATE_INTERVAL, namespace=NAMESPACE, pod=POD)
            for result in query_range(url, expr, start, end):
                # Prometheus answers at start + k * step; k, not the float time, says which point it is.
                points = {round((float(t) - start) / SCRAPE_SECONDS): float(v) for t, v in result["values"]}
                values = [points.get(k) for k in range(len(times))]
                found.append((legend(target["legendFormat"], result["metric"]), values))
    return {"minutes": [(t - start) / 60 for t in times], "panels": panels}


def render(run: dict[str, Any], out: Path) -> None:
    board = dashboard.load()
    caption = (
        "Drawn by bench/dashboard_picture.py from the dashboard's own queries, evaluated by Prometheus "
        f"over a {run['minutes'][-1]:.0f}-minute run of the agent against the node double (500s and 429s "
        "injected). Not a Grafana screenshot. The node double has no /metrics: the node's panels are empty."
    )
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
        if not series:
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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument(
        "--series",
        type=Path,
        default=ROOT / "docs" / "dashboard-series.json",
        help="where the run's evaluated queries go (the figures the picture shows)",
    )
    parser.add_argument("--redraw", action="store_true", help="draw from --series again, without a run")
    args = parser.parse_args()
    if args.redraw:
        render(json.loads(args.series.read_text()), args.out)
        return 0
    begun = time.monotonic()

    def log(line: str) -> None:
        print(f"[dashboard {time.monotonic() - begun:5.0f}s] {line}", file=sys.stderr, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="dashboard-picture-"))
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
        prometheus = start_prometheus(workdir, agent.port)
        url = prometheus.url
        try:
            start = time.time()
            agent.start()
            log(f"agent ready; Prometheus at {url}")
            scenario(Jobs(api, NAMESPACE), Bridges(api, NAMESPACE), node, log)
            run = evaluate(url, start, time.time())
            args.series.parent.mkdir(parents=True, exist_ok=True)
            args.series.write_text(json.dumps(run, indent=1) + "\n")
            render(run, args.out)
            log(f"wrote {args.out} and {args.series}")
        finally:
            prometheus.stop()
            agent.stop()
            node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
