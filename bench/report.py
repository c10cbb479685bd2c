"""The printed table and the PNG plot of a results.json."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = tuple[str, Callable[[dict[str, Any]], Any]]


def _q(
    part: str, metric: str, qs: tuple[str, ...] = ("p50", "p95", "p99")
) -> Callable[[dict[str, Any]], str]:
    def get(size: dict[str, Any]) -> str:
        s = (size.get(part) or {}).get(metric)
        return "/".join(_num(s[q]) for q in qs) if s else "-"

    return get


def _num(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        return f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"
    return str(x)


def _calls(calls: dict[str, int], skip: tuple[str, ...] = ()) -> str:
    rest = {k: v for k, v in calls.items() if k not in skip}
    return ", ".join(f"{k} {v}" for k, v in rest.items()) or "none"


def _ratio(a: Any, b: Any) -> str:
    try:
        return f"{a / b:.1f}x" if b else "inf"
    except TypeError:
        return "-"


def _writes(reqs: dict[str, int]) -> int:
    return sum(v for k, v in reqs.items() if not k.startswith(("GET", "LIST", "WATCH")))


def _get(size: dict[str, Any], part: str, metric: str) -> Any:
    """A figure of a phase that older results.json files lack."""
    return (size.get(part) or {}).get(metric, "-")


def _throttled(phase: dict[str, Any]) -> str:
    return f"{phase.get('node_429s', '-')} / {phase.get('throttled_s', '-')}"


def _naive_live(s: dict[str, Any]) -> Any:
    return ((s["naive"].get("apply_to_live_ms")) or {}).get("p50", math.nan)


ROWS: list[Row | str] = [
    "Apply -> live, burst: all N created at once from 4 threads (queueing included)",
    ("resources created in (s)", lambda s: s["burst"]["created_in_s"]),
    ("sync time: first create -> last job on node (s)", lambda s: s["burst"]["sync_s"]),
    ("  -> last status Synced (s)", lambda s: s["burst"]["status_sync_s"]),
    ("apply->live p50/p95/p99 (ms)", _q("burst", "apply_to_live_ms")),
    ("  watch delivery p50/p95/p99 (ms)", _q("burst", "watch_delivery_ms")),
    ("  node API: POST /v2/jobs mean (ms)", lambda s: s["burst"]["node_api_post_mean_ms"]),
    ("  agent incl. queue wait p50/p95/p99 (ms)", _q("burst", "agent_incl_queue_ms")),
    (
        "jobs on node / POSTs (expect N / N)",
        lambda s: f"{s['burst']['jobs_on_node']} / {s['burst']['node_posts']}",
    ),
    ("429 answers / seconds waiting for the node's rate limit window", lambda s: _throttled(s["burst"])),
    ("resources that ever showed Error [target 0]", lambda s: s["burst"].get("ever_error", "-")),
    ("  placements that ever showed Error [target 0]", lambda s: _get(s, "burst", "ever_error_placements")),
    "Apply -> live, paced probes: one create at a time, N resources present",
    ("apply->live p50/p95/p99 (ms)", _q("probes", "apply_to_live_ms")),
    ("  watch delivery p50/p95/p99 (ms)", _q("probes", "watch_delivery_ms")),
    ("  node API (POST) p50/p95/p99 (ms)", _q("probes", "node_api_ms")),
    ("  agent overhead p50/p95/p99 (ms) [target p99<=5]", _q("probes", "agent_overhead_ms")),
    ("  event->placement seen (1 kube write + 1 delivery)", _q("probes", "event_to_placement_seen_ms")),
    ("apply->status Synced p50/p95/p99 (ms)", _q("probes", "apply_to_synced_status_ms")),
    ("  placement Synced->status Synced (aggregator)", _q("probes", "placement_to_status_synced_ms")),
    "Cold start: agent restarted, N resources and N jobs present",
    ("time to /readyz (s)", lambda s: s["cold_start"]["ready_s"]),
    ("time to queue drained (s)", lambda s: s["cold_start"]["drained_s"]),
    ("creates [target 0]", lambda s: s["cold_start"]["creates"]),
    (
        "GET /v2/jobs pages (one list = ceil(N/100))",
        lambda s: f"{s['cold_start']['job_list_pages']} ({s['cold_start']['job_list_pages_per_list']})",
    ),
    ("other node calls", lambda s: _calls(s["cold_start"]["node_calls"], ("GET /v2/jobs", "POST /v2/jobs"))),
    ("apiserver writes", lambda s: _writes(s["cold_start"]["apiserver_requests"])),
    ("CPU s, process start -> drained", lambda s: s["cold_start"]["cpu_s"]),
    "Steady state: no changes (resync 300 s, none inside the window)",
    ("window (s)", lambda s: s["steady"]["window_s"]),
    ("CPU % of a core [target <=0.5]", lambda s: s["steady"]["cpu_pct_core"]),
    ("  + one resync pass every 300 s", lambda s: s["steady"].get("cpu_pct_core_with_resync", "-")),
    ("RSS (MiB) [target <=64 at 10k]", lambda s: s["steady"]["rss_mib"]),
    (
        "  anonymous / mapped files (shared libraries)",
        lambda s: "/".join(map(str, s["steady"]["rss_anon_file_mib"])),
    ),
    (
        "peak RSS, burst agent / restarted (MiB)",
        lambda s: f"{s['agent_peak_rss_mib']} / {s['steady']['peak_rss_mib']}",
    ),
    ("node API calls", lambda s: _calls(s["steady"]["node_calls"])),
    ("apiserver requests", lambda s: _calls(s["steady"]["apiserver_requests"])),
    "Resync pass: the periodic level-triggered pass over N unchanged resources",
    ("CPU s [target <=1 at 10k]", lambda s: _get(s, "resync", "cpu_s")),
    ("node calls", lambda s: _calls(_get(s, "resync", "node_calls") or {})),
    "Delete burst: every resource deleted at once",
    ("deletes issued in (s)", lambda s: _get(s, "delete", "deleted_in_s")),
    ("first delete -> last resource gone (s)", lambda s: _get(s, "delete", "resources_gone_s")),
    ("first delete -> jobs and placements all gone (s)", lambda s: _get(s, "delete", "all_gone_s")),
    (
        "jobs left on node / node DELETEs (expect 0 / N)",
        lambda s: f"{_get(s, 'delete', 'jobs_left_on_node')} / {_get(s, 'delete', 'node_deletes')}",
    ),
    ("429 answers / seconds waiting for the window", lambda s: _throttled(s.get("delete") or {})),
    ("placements that ever showed Error [target 0]", lambda s: _get(s, "delete", "ever_error")),
    "Naive baseline (bench/naive.py: re-list + DELETE/POST every job every pass), ratio naive/agent",
    (
        "sync time on an empty node (s)",
        lambda s: (
            f"{s['naive']['sync_s']}{'' if s['naive']['sync_measured'] else ' (extrap.)'}"
            f" = {_ratio(s['naive']['sync_s'], s['burst']['sync_s'])}"
        ),
    ),
    (
        "apply->live p50 (ms)",
        lambda s: (
            f"{_num(_naive_live(s))} = {_ratio(_naive_live(s), s['probes']['apply_to_live_ms']['p50'])}"
        ),
    ),
    (
        "node calls/min when idle",
        lambda s: (
            f"{s['naive']['steady_node_calls_per_min']} vs "
            f"{round(sum(s['steady']['node_calls'].values()) * 60 / s['steady']['window_s'])}"
        ),
    ),
    (
        "CPU % of a core when idle",
        lambda s: (
            f"{s['naive']['steady_cpu_pct_core']} = "
            f"{_ratio(s['naive']['steady_cpu_pct_core'], s['steady']['cpu_pct_core'])}"
        ),
    ),
    ("RSS (MiB)", lambda s: f"{s['naive']['rss_mib']} vs {s['steady']['rss_mib']}"),
]


def _fan(workload: str | None, *metrics: str) -> Callable[[dict[str, Any]], str]:
    """Figures of one fan-out workload (None: of the fan-out itself), joined by " / "."""

    def cell(phase: dict[str, Any], metric: str) -> str:
        figure = phase.get(metric, "-")
        if metric == "apiserver_requests":
            return str(_writes(figure))
        if isinstance(figure, dict) and metric.endswith("_by_resource"):  # {plural: figure}
            return " / ".join(_num(figure.get(p, "-")) for p in ("chainlinkjobs", "chainlinkplacements"))
        if isinstance(figure, dict):  # a latency summary
            return "/".join(_num(figure[q]) for q in ("p50", "p99"))
        return _num(figure)

    def get(fan: dict[str, Any]) -> str:
        phase = fan if workload is None else fan.get(workload) or {}
        return " / ".join(cell(phase, m) for m in metrics)

    return get


FAN_ROWS: list[Row] = [
    ("agents ready (s)", _fan(None, "agents_ready_s")),
    ("RSS per agent, idle (MiB)", _fan(None, "rss_mib_per_agent")),
    *(
        row
        for workload, title in (
            ("one_to_all", "1 resource selecting all nodes"),
            ("one_each", "spread: resources naming 1 node each"),
        )
        for row in (
            (f"{title}: create -> all Synced (s)", _fan(workload, "all_synced_s")),
            ("  per (resource, node) Synced p50/p99 (ms)", _fan(workload, "per_pair_synced_ms")),
            ("  watch events / MiB sent (jobs + placements)", _fan(workload, "watch_events", "watch_mib")),
            (
                "  events: jobs / placements / bench's own",
                _fan(workload, "watch_events_by_resource", "watch_events_bench"),
            ),
            (
                "  agent CPU s: all agents / the busiest",
                _fan(workload, "agent_cpu_s_total", "agent_cpu_s_max"),
            ),
            ("  apiserver writes", _fan(workload, "apiserver_requests")),
            ("  reconciles / errors", _fan(workload, "reconciles", "reconcile_errors")),
        )
    ),
]


def table(results: dict[str, Any]) -> str:
    sizes = results["sizes"]
    width = 52
    machine, settings, tree = results["machine"], results["settings"], results.get("agent_tree", {})
    lines = [
        f"chainlink-agent benchmark, {results['started']}, {machine['cpus']} CPUs, "
        f"load (uptime) {machine['load_start']} -> {machine.get('load_end', '?')}",
        f"node double latency {','.join(settings['latency_ms'])} ms, rate limit "
        f"{settings['rate_limit']}, agent resync {settings['agent_resync_seconds']:.0f}s, agent sources "
        f"{tree.get('agent_sources_sha256', '?')} on {tree.get('head', '?')}",
        "",
        " " * width + "".join(f"{'N=' + str(s['n']):>28}" for s in sizes),
        " " * width + "".join(f"{'load ' + s['load_start']:>28}" for s in sizes),
    ]
    for row in ROWS:
        if isinstance(row, str):
            lines.append(f"-- {row}")
            continue
        label, get = row
        cells = []
        for s in sizes:
            try:
                cells.append(_num(get(s)))
            except (KeyError, TypeError):
                cells.append("-")
        lines.append(f"{label:<{width}}" + "".join(f"{c:>28}" for c in cells))
    fans = results.get("fan_out") or []
    if isinstance(fans, dict):  # results.json of before 2026-12-01: one fan-out, one workload
        fans = []
    if fans:
        lines.append(
            "-- Fan-out: N agents (each with a node double) on one namespace; the apiserver's watch events"
            " and bytes for ChainlinkJobs and ChainlinkPlacements (every watcher's copy), every agent's CPU"
        )
        lines.append(f"{'':<{width}}" + "".join(f"{'nodes=' + str(f['nodes']):>28}" for f in fans))
        lines += [f"{label:<{width}}" + "".join(f"{get(f):>28}" for f in fans) for label, get in FAN_ROWS]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib  # noqa: PLC0415 - optional: `pip install matplotlib`

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return None
    fig, (dist, sync) = plt.subplots(1, 2, figsize=(13, 5))
    for s in results["sizes"]:
        for part, style in (("probes", "-"), ("burst", ":")):
            raw = sorted(x * 1000 for x in s[part]["raw_apply_to_live_s"])
            if raw:
                ys = [(i + 1) / len(raw) for i in range(len(raw))]
                label = f"N={s['n']} {'paced' if part == 'probes' else 'burst'}"
                dist.plot(raw, ys, style, label=label)
        naive = sorted(x * 1000 for x in s["naive"].get("raw_apply_to_live_s") or [])
        if naive:
            dist.plot(
                naive, [(i + 1) / len(naive) for i in range(len(naive))], "x--", label=f"N={s['n']} naive"
            )
    _style(dist, "apply -> job on node (ms, log)", "fraction of resources", "Apply->live latency (CDF)")
    ns = [s["n"] for s in results["sizes"]]
    sync.plot(ns, [s["burst"]["sync_s"] for s in results["sizes"]], "o-", label="agent (burst)")
    sync.plot(ns, [s["naive"]["sync_s"] for s in results["sizes"]], "s--", label="naive loop (first pass)")
    sync.plot(ns, [s["cold_start"]["drained_s"] for s in results["sizes"]], "^-", label="agent cold start")
    sync.set_yscale("log")
    _style(sync, "N resources", "seconds", "Sync time against N")
    latency = ",".join(results["settings"]["latency_ms"])
    fig.suptitle(
        f"chainlink-agent bench {results['started']} (latency {latency} ms,"
        f" load {results['machine']['load_start']})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _style(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
