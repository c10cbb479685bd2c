"""python -m bench: the agent's benchmark on the real apiserver bench, against node double processes.

    python -m bench                       # sizes 100,1000; a few minutes
    python -m bench --full                # sizes 100,1000,10000, 60 s windows, fan-out to 20,50,100 nodes
    python -m bench --sizes 100 --latency-ms 20 --out bench/out

Prints a table, and writes OUT/results.json and OUT/bench.png (matplotlib, optional: `pip install
matplotlib`). The node double runs with --rate-limit off by default: see bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.measure import load
from bench.profile import Profiler
from bench.workloads import RESYNC_SECONDS, Config, fan_out, one_node
from devkit.cluster.controlplane import ControlPlane
from devkit.harness import install_crd


def _latency(text: str) -> list[str]:
    """ "20" -> every call 20 ms; "POST=20,GET=5" -> per method."""
    return [part if "=" in part else f"*={part}" for part in text.split(",") if part]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the issue's sizes and windows")
    parser.add_argument(
        "--sizes", help="comma-separated resource counts (default 100,1000; --full adds 10000)"
    )
    parser.add_argument(
        "--latency-ms", default="20", help="node double latency: MS for every call, or M=MS,..."
    )
    parser.add_argument(
        "--rate-limit",
        default="off",
        help="node double's authenticated rate limit, LIMIT/SECONDS or off (the node's default: 1000/60)",
    )
    parser.add_argument("--probes", type=int, help="paced creates per size (default 50, --full 200)")
    parser.add_argument("--steady-seconds", type=float, help="idle window (default 20, --full 60)")
    parser.add_argument(
        "--fanout",
        help="comma-separated node counts of the fan-out workload (default 20; --full 20,50,100; 0 skips)",
    )
    parser.add_argument(
        "--fanout-spread", type=int, default=1000, help="fan-out: resources each naming one node"
    )
    parser.add_argument("--naive-period", type=float, default=10.0, help="baseline: sleep between passes")
    parser.add_argument(
        "--naive-cap-seconds",
        type=float,
        help="baseline: longest first pass waited for (default 120, --full 300)",
    )
    parser.add_argument("--naive-probes", type=int, default=5, help="baseline: paced creates per size")
    parser.add_argument("--profile", action="store_true", help="py-spy the agent in each phase")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # SIGTERM unwinds like Ctrl-C, so every agent, node double and the control plane are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    full = args.full
    sizes = [int(s) for s in (args.sizes or ("100,1000,10000" if full else "100,1000")).split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="chainlink-bench-"))
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "load_start": load()},
        "settings": {
            "sizes": sizes,
            "latency_ms": _latency(args.latency_ms),
            "rate_limit": args.rate_limit,
            "agent_resync_seconds": RESYNC_SECONDS,
            "agent_concurrency": 4,
        },
        "sizes": [],
        "agent_tree": _agent_tree(),
    }

    def log(line: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')} load {load()}] {line}", file=sys.stderr, flush=True)

    with ControlPlane(workdir / "controlplane") as cluster:
        with cluster.api_client() as api:
            install_crd(api)
        cfg = Config(
            cluster=cluster,
            workdir=workdir,
            latency=_latency(args.latency_ms),
            rate_limit=args.rate_limit,
            probes=args.probes if args.probes is not None else (200 if full else 50),
            steady_seconds=args.steady_seconds or (60.0 if full else 20.0),
            naive_period=args.naive_period,
            naive_cap_seconds=args.naive_cap_seconds or (300.0 if full else 120.0),
            naive_probes=args.naive_probes,
            log=log,
            profiler=Profiler(args.out, args.profile),
        )
        results["settings"].update(probes=cfg.probes, steady_seconds=cfg.steady_seconds)
        results["profiles"] = cfg.profiler.summaries
        for n in sizes:
            log(f"size {n}")
            results["sizes"].append(one_node(cfg, n))
            _write(args.out, results)
        fanout = [int(n) for n in (args.fanout or ("20,50,100" if full else "20")).split(",") if int(n)]
        results["fan_out"] = []
        for nodes in fanout:
            results["fan_out"].append(fan_out(cfg, nodes, args.fanout_spread))
            _write(args.out, results)
    results["machine"]["load_end"] = load()
    results["workdir"] = str(workdir)
    _write(args.out, results)
    print(report.table(results))
    png = report.plot(results, args.out / "bench.png")
    print(
        f"\nwrote {args.out / 'results.json'}"
        + (f" and {png}" if png else " (no plot: pip install matplotlib)")
    )
    return 0


def _write(out: Path, results: dict[str, Any]) -> None:
    (out / "results.json").write_text(json.dumps(results, indent=1))


def _agent_tree() -> dict[str, str]:
    """Which agent was measured: HEAD plus a digest of agent/ as it is on disk (others may be editing it)."""
    digest = hashlib.sha256()
    for path in sorted(Path("agent/chainlink_agent").rglob("*.py")):
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return {"head": head.stdout.strip(), "agent_sources_sha256": digest.hexdigest()[:16]}


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
