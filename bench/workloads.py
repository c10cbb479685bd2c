"""The benchmark's workloads, each against real processes: the apiserver bench, node double processes, the
agent (tests/integration/harness.AgentProcess) and the naive baseline (bench/naive.py)."""

from __future__ import annotations

import json
import math
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from chainlink_agent.model.placement import PLURAL as PLACEMENTS
from chainlink_agent.model.resource import PLURAL, derived_external_job_id
from kubernetes import client

from bench.measure import (
    MIB,
    Recorder,
    apiserver_metrics,
    apiserver_requests,
    diff,
    load,
    parse_time,
    sample,
    summary_ms,
    value,
)
from bench.profile import Profiler
from devkit.cluster.controlplane import ControlPlane
from devkit.harness import AgentProcess, Jobs, eventually, toml
from devkit.nodedouble.fixtures import NodeDoubleProcess

NODE = "node-a"
RESYNC_SECONDS = 300.0  # the chart's default (charts/chainlink-node/values.yaml agent.resyncSeconds)
CREATORS = 4  # threads creating resources in a burst
PAGE = 1000  # page size the benchmark lists the node's jobs with


RESPONSES = "chainlink_agent_node_api_responses_total"
RECONCILES = "chainlink_agent_reconciles_total"
THROTTLED = "chainlink_agent_node_api_throttled_seconds_total"
LAST_RESYNC = "chainlink_agent_last_resync_timestamp_seconds"


@dataclass
class Config:
    cluster: ControlPlane
    workdir: Path
    latency: list[str]  # METHOD=MS for the node double's --latency-ms
    rate_limit: str
    probes: int
    steady_seconds: float
    naive_period: float
    naive_cap_seconds: float
    naive_probes: int
    log: Callable[[str], None]
    profiler: Profiler

    def double(self, name: str) -> NodeDoubleProcess:
        workdir = self.workdir / name
        workdir.mkdir(parents=True, exist_ok=True)
        args = [a for ms in self.latency for a in ("--latency-ms", ms)]
        return NodeDoubleProcess.start(workdir, *args, "--rate-limit", self.rate_limit)

    def namespace(self, api: Any, prefix: str) -> str:
        name = f"{prefix}-{secrets.token_hex(3)}"
        client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
        return name

    def agent(
        self, ns: str, node: NodeDoubleProcess, name: str = NODE, labels: dict[str, str] | None = None
    ) -> AgentProcess:
        return AgentProcess(
            self.workdir,
            str(self.cluster.kubeconfig),
            ns,
            name,
            node.url,
            node.email,
            node.password,
            labels,
            RESYNC_SECONDS,
            self.agent_pace(),
            in_pod=True,  # the sidecar's in-cluster configuration: a kubeconfig's loader costs 6.6 MiB more
        )

    def agent_pace(self) -> dict[str, str]:
        """The agent paces itself to the double's limit, as the chart sets both from one value; with the
        double's limit off, the agent's pace is off too (a limit no run reaches)."""
        limit, _, period = (
            self.rate_limit.partition("/") if self.rate_limit != "off" else ("1000000000", "", "1")
        )
        return {"CHAINLINK_AGENT_NODE_RATE_LIMIT": limit, "CHAINLINK_AGENT_NODE_RATE_PERIOD_SECONDS": period}


# ------------------------------------------------------------------------------------------- helpers


def node_jobs(node: NodeDoubleProcess) -> dict[str, dict[str, Any]]:
    """Every job on the node by external job ID, with its createdAt (webhook jobs carry it), in one
    logged-in list: a read after the fact, so no polling distorts the timings."""
    with httpx.Client(base_url=node.url, timeout=120) as http:
        http.post("/sessions", json={"email": node.email, "password": node.password}).raise_for_status()
        jobs: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            body = http.get("/v2/jobs", params={"page": page, "size": PAGE}).raise_for_status().json()
            for item in body["data"]:
                attrs = item["attributes"]
                created = (attrs.get("webhookSpec") or {}).get("createdAt")
                jobs[attrs["externalJobID"]] = {
                    "id": item["id"],
                    "name": attrs.get("name"),
                    "created": parse_time(created) if created else math.nan,
                }
            if not body["data"] or len(jobs) >= body["meta"]["count"]:
                return jobs
            page += 1


def agent_metrics(agent: AgentProcess) -> str:
    return agent.metrics()


def post_seconds(text: str) -> tuple[float, float]:
    """(sum, count) of the agent's POST /v2/jobs histogram."""
    labels = {"method": "POST", "route": "/v2/jobs"}
    return (
        value(text, "chainlink_agent_node_api_seconds_sum", **labels),
        value(text, "chainlink_agent_node_api_seconds_count", **labels),
    )


def wait_ready(agent: AgentProcess, timeout: float = 600) -> float:
    """Seconds until /readyz answers 200, polled every 20 ms."""
    began = time.time()
    url = f"http://127.0.0.1:{agent.port}/readyz"
    while time.time() - began < timeout:
        if agent.proc is None or agent.proc.poll() is not None:
            raise RuntimeError(f"agent exited\n{agent.log_tail()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.time() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"agent not ready in {timeout}s\n{agent.log_tail()}")


def create_burst(cluster: ControlPlane, ns: str, names: list[str], spec: Callable[[str], dict[str, Any]]):
    """Creates every resource from CREATORS threads as fast as the apiserver takes them; returns
    {name: (call started, call returned, uid)}."""
    out: dict[str, tuple[float, float, str]] = {}
    lock = threading.Lock()

    def create(jobs: Jobs, name: str) -> None:
        t0 = time.time()
        made = jobs.create(name, toml(name), **spec(name))
        t1 = time.time()
        with lock:
            out[name] = (t0, t1, made["metadata"]["uid"])

    _in_threads(cluster, ns, names, create)
    return out


def _in_threads(
    cluster: ControlPlane, ns: str, names: list[str], call: Callable[[Jobs, str], object]
) -> None:
    """call(jobs, name) for every name, from CREATORS threads with a client each."""

    def chunk(part: list[str]) -> None:
        with cluster.api_client() as api:
            jobs = Jobs(api, ns)
            for name in part:
                call(jobs, name)

    with ThreadPoolExecutor(CREATORS) as pool:
        for f in [pool.submit(chunk, names[i::CREATORS]) for i in range(CREATORS)]:
            f.result()


def targets(node: str) -> Callable[[str], dict[str, Any]]:
    return lambda _name: {"targets": {"names": [node]}}


# ------------------------------------------------------------------------------- 1-3: one node, size N


def one_node(cfg: Config, n: int) -> dict[str, Any]:
    """Apply->live (burst and paced probes), then cold start and steady state, for N resources."""
    result: dict[str, Any] = {"n": n, "load_start": load()}
    with cfg.cluster.api_client() as api:
        ns = cfg.namespace(api, f"bench-n{n}")
        node = cfg.double(f"node-n{n}")
        recorder = Recorder(api, ns)
        agent = cfg.agent(ns, node)
        timeline = Timeline(agent)
        try:
            agent.start(wait_ready=False)
            result["agent_first_ready_s"] = round(wait_ready(agent, 120), 2)
            timeline.start()
            with cfg.profiler.phase(f"burst-{n}", _pid(agent)):
                result["burst"] = _burst(cfg, agent, node, recorder, ns, n)
            began = time.time()
            eventually(timeline.idle, max(120.0, n * 0.2), "the agent's queue to empty after the burst")
            result["burst"]["queue_empty_after_synced_s"] = round(time.time() - began, 1)
            with cfg.profiler.phase(f"probes-{n}", _pid(agent)):
                result["probes"] = _probes(cfg, agent, node, recorder, ns)
            result["agent_peak_rss_mib"] = round(sample(_pid(agent)).peak_rss_bytes / MIB, 1)
            timeline.stop()
            result["timeline"] = timeline.rows
            result["naive"] = _naive(cfg, api, ns, n + cfg.probes)
            result["cold_start"], result["steady"] = _cold_and_steady(cfg, agent, node, n + cfg.probes)
            result["resync"] = _resync_pass(cfg, agent, node, result["cold_start"]["drained_s"])
            result["steady"]["cpu_pct_core_with_resync"] = round(
                result["steady"]["cpu_pct_core"] + 100 * result["resync"]["cpu_s"] / RESYNC_SECONDS, 3
            )
            with cfg.profiler.phase(f"delete-{n}", _pid(agent)):
                result["delete"] = _delete_burst(cfg, agent, node, recorder, ns)
        finally:
            recorder.stop()
            agent.kill()
            node.stop()
    result["load_end"] = load()
    return result


class Timeline:
    """Every 2 s: the agent's queue depth, reconciles so far, CPU seconds and RSS (shows a backlog)."""

    def __init__(self, agent: AgentProcess) -> None:
        self.agent = agent
        self.rows: list[tuple[float, float, float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timeline", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def idle(self) -> bool:
        """The last two samples show an empty queue and no reconcile in between."""
        last = self.rows[-2:]
        return len(last) == 2 and last[0][1] == last[1][1] == 0 and last[0][2] == last[1][2]

    def _run(self) -> None:
        began = time.time()
        while not self._stop.wait(2.0):
            try:
                text = agent_metrics(self.agent)
                proc = sample(_pid(self.agent))
            except (httpx.HTTPError, OSError, RuntimeError):
                continue
            depth = value(text, "chainlink_agent_queue_depth")
            done = value(text, RECONCILES)
            self.rows.append(
                (round(time.time() - began, 1), depth, done, proc.cpu_seconds, round(proc.rss_bytes / MIB, 1))
            )


def _pid(agent: AgentProcess) -> int:
    if agent.proc is None:
        raise RuntimeError("agent not started")
    return agent.proc.pid


def _burst(
    cfg: Config, agent: AgentProcess, node: NodeDoubleProcess, recorder: Recorder, ns: str, n: int
) -> dict[str, Any]:
    names = [f"r{i:05d}" for i in range(n)]
    before = agent_metrics(agent)
    cfg.log(f"  burst: creating {n} resources")
    made = create_burst(cfg.cluster, ns, names, targets(NODE))
    created_in = max(t1 for _, t1, _ in made.values()) - min(t0 for t0, _, _ in made.values())
    eventually(
        lambda: all(recorder.synced(name, NODE) for name in names),
        max(120.0, n * 0.5),
        f"{n} resources Synced",
    )
    after = agent_metrics(agent)
    on_node = node_jobs(node)
    post_sum = post_seconds(after)[0] - post_seconds(before)[0]
    post_count = post_seconds(after)[1] - post_seconds(before)[1]
    mean_post = post_sum / post_count if post_count else math.nan
    live, watch, status, rest = [], [], [], []
    for name in names:
        t0, _, uid = made[name]
        job = on_node[derived_external_job_id(uid, NODE)]
        seen = recorder.get(name)
        if seen.added is None:
            raise RuntimeError(f"the recorder never saw {name} added")
        live.append(job["created"] - t0)
        watch.append(seen.added - t0)
        status.append(seen.synced[NODE] - t0)
        rest.append(job["created"] - seen.added - mean_post)
    first = min(t0 for t0, _, _ in made.values())
    stats = node.stats()
    throttling = _throttling(before, after)
    return {
        "created_in_s": round(created_in, 2),
        "sync_s": round(max(j["created"] for j in on_node.values()) - first, 2),
        "status_sync_s": round(max(status), 2),
        "apply_to_live_ms": summary_ms(live),
        "watch_delivery_ms": summary_ms(watch),
        "node_api_post_mean_ms": round(mean_post * 1000, 2),
        "agent_incl_queue_ms": summary_ms(rest),
        "apply_to_synced_status_ms": summary_ms(status),
        "jobs_on_node": len(on_node),
        "node_posts": stats.get("POST /v2/jobs", 0),
        "reconcile_errors": value(after, RECONCILES, result="error"),
        "ever_error": recorder.ever_error(first),
        "ever_error_placements": recorder.ever_error_placements(first),
        **throttling,
        "raw_apply_to_live_s": [round(x, 4) for x in live],
    }


def _probes(
    cfg: Config, agent: AgentProcess, node: NodeDoubleProcess, recorder: Recorder, ns: str
) -> dict[str, Any]:
    """One resource at a time with N already present, each waited for (no queueing), so the split into
    watch delivery, node API time and the agent's own time is per resource."""
    cfg.log(f"  probes: {cfg.probes} paced creates")
    made: dict[str, tuple[float, str, float]] = {}
    with cfg.cluster.api_client() as api:
        jobs = Jobs(api, ns)
        for i in range(cfg.probes):
            name = f"probe-{i:04d}"
            before = post_seconds(agent_metrics(agent))
            t0 = time.time()
            uid = jobs.create(name, toml(name), targets={"names": [NODE]})["metadata"]["uid"]
            eventually(partial(recorder.synced, name, NODE), 300, f"{name} Synced")
            after = post_seconds(agent_metrics(agent))
            if after[1] - before[1] != 1:
                raise RuntimeError(f"{name}: {after[1] - before[1]} POSTs, expected exactly one")
            made[name] = (t0, uid, after[0] - before[0])
            time.sleep(0.05)
    on_node = node_jobs(node)
    live, watch, node_api, agent_own, to_placement, status, aggregated = [], [], [], [], [], [], []
    for name, (t0, uid, post) in made.items():
        created = on_node[derived_external_job_id(uid, NODE)]["created"]
        seen = recorder.get(name)
        if seen.added is None:
            raise RuntimeError(f"the recorder never saw {name} added")
        live.append(created - t0)
        watch.append(seen.added - t0)
        node_api.append(post)
        agent_own.append(created - seen.added - post)
        to_placement.append(seen.placed[NODE] - seen.added)
        status.append(seen.synced[NODE] - t0)
        aggregated.append(seen.synced[NODE] - seen.placement_synced[NODE])
    return {
        "apply_to_live_ms": summary_ms(live),
        "watch_delivery_ms": summary_ms(watch),
        "node_api_ms": summary_ms(node_api),
        "agent_overhead_ms": summary_ms(agent_own),
        "event_to_placement_seen_ms": summary_ms(to_placement),
        "apply_to_synced_status_ms": summary_ms(status),
        "placement_to_status_synced_ms": summary_ms(aggregated),
        "raw_apply_to_live_s": [round(x, 4) for x in live],
        "raw_agent_overhead_s": [round(x, 4) for x in agent_own],
    }


def _cold_and_steady(
    cfg: Config, agent: AgentProcess, node: NodeDoubleProcess, n: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    cfg.log("  cold start")
    agent.stop()
    calls_before = node.stats()
    api_before = apiserver_requests(apiserver_metrics(cfg.cluster))
    agent.start(wait_ready=False)
    with cfg.profiler.phase(f"cold-start-{n}", _pid(agent)):
        ready_s = wait_ready(agent)
        began = time.time() - ready_s

        def drained() -> bool:
            text = agent_metrics(agent)
            done = value(text, RECONCILES)
            return done >= n and value(text, "chainlink_agent_queue_depth") == 0

        eventually(drained, max(120.0, n * 0.1), "the cold-start queue to drain")
        drained_s = time.time() - began
    time.sleep(2)
    text = agent_metrics(agent)
    calls = diff(_counter(node.stats()), _counter(calls_before))
    cold_cpu = sample(_pid(agent))
    cold = {
        "ready_s": round(ready_s, 2),
        "drained_s": round(drained_s, 2),
        "node_calls": calls,
        "creates": calls.get("POST /v2/jobs", 0),
        "job_list_pages": calls.get("GET /v2/jobs", 0),
        "job_list_pages_per_list": math.ceil(n / 100),  # the agent's PAGE_SIZE
        "apiserver_requests": diff(apiserver_requests(apiserver_metrics(cfg.cluster)), api_before),
        "reconciles": value(text, RECONCILES),
        "cpu_s": round(cold_cpu.cpu_seconds, 2),
        "rss_mib": round(cold_cpu.rss_bytes / MIB, 1),
    }
    cfg.log(f"  steady: {cfg.steady_seconds:.0f}s idle")
    calls_before, api_before = node.stats(), apiserver_requests(apiserver_metrics(cfg.cluster))
    start = sample(_pid(agent))
    time.sleep(cfg.steady_seconds)
    end = sample(_pid(agent))
    window = end.at - start.at
    steady = {
        "window_s": round(window, 1),
        "cpu_s": round(end.cpu_seconds - start.cpu_seconds, 3),
        "cpu_pct_core": round(100 * (end.cpu_seconds - start.cpu_seconds) / window, 3),
        "cpu_pct_core_amortised_resync": round(
            100 * ((end.cpu_seconds - start.cpu_seconds) / window + cold_cpu.cpu_seconds / RESYNC_SECONDS), 3
        ),
        "rss_mib": round(end.rss_bytes / MIB, 1),
        "rss_anon_file_mib": [round(end.rss_anon_bytes / MIB, 1), round(end.rss_file_bytes / MIB, 1)],
        "peak_rss_mib": round(end.peak_rss_bytes / MIB, 1),
        "node_calls": diff(_counter(node.stats()), _counter(calls_before)),
        "apiserver_requests": diff(apiserver_requests(apiserver_metrics(cfg.cluster)), api_before),
        "load": load(),
    }
    return cold, steady


def _resync_pass(
    cfg: Config, agent: AgentProcess, node: NodeDoubleProcess, drained_s: float
) -> dict[str, Any]:
    """One periodic resync pass, measured alone: the agent restarts with a short period, and the CPU from
    the end of its cold-start pass to the end of the next pass is that pass's cost (idle costs ~0)."""
    period = max(30.0, 3 * drained_s)
    cfg.log(f"  resync pass (period {period:.0f} s)")
    agent.stop()
    default_period = agent.env["CHAINLINK_AGENT_RESYNC_SECONDS"]
    agent.env["CHAINLINK_AGENT_RESYNC_SECONDS"] = str(period)
    try:
        agent.start(wait_ready=False)
        wait_ready(agent)
        text = _quiet([agent], period, at_least=1)[0]
        first, listed = value(text, RECONCILES), value(text, LAST_RESYNC)
        calls_before, start = node.stats(), sample(_pid(agent))
        with cfg.profiler.phase("resync", _pid(agent)):
            # A pass over an unchanged node may reconcile nothing: its end is the resync gauge moving on
            # (the report right after the list), then the queue going quiet. Polled every 2 s: each
            # scrape of /metrics costs the agent about 3 ms of CPU, which polling at eventually's 0.2 s
            # added to the pass (about 0.5 s over a 40 s period).
            deadline = time.monotonic() + period * 2
            while value(agent_metrics(agent), LAST_RESYNC) <= listed:
                if time.monotonic() > deadline:
                    raise RuntimeError("no resync within two periods")
                time.sleep(2.0)
            _quiet([agent], period, at_least=first)
        end, calls, text = sample(_pid(agent)), node.stats(), agent_metrics(agent)
    finally:
        agent.stop()
        agent.env["CHAINLINK_AGENT_RESYNC_SECONDS"] = default_period
    agent.start()
    return {
        "period_s": period,
        "cpu_s": round(end.cpu_seconds - start.cpu_seconds, 3),
        "reconciles": value(text, RECONCILES) - first,
        "node_calls": diff(_counter(calls), _counter(calls_before)),
    }


def _delete_burst(
    cfg: Config, agent: AgentProcess, node: NodeDoubleProcess, recorder: Recorder, ns: str
) -> dict[str, Any]:
    """Deletes every resource at once from CREATORS threads. Each resource is gone at once (no finalizer);
    the agent then deletes its job on the node and, that done, its placement. All gone: the node's jobs
    are gone and no placement of these resources remains."""
    names = recorder.present()
    cfg.log(f"  delete: {len(names)} resources")
    before, calls_before = agent_metrics(agent), node.stats()
    first = time.time()
    _in_threads(cfg.cluster, ns, names, lambda jobs, name: jobs.delete(name))
    deleted_in = time.time() - first
    timeout = max(120.0, len(names) * 0.5)
    eventually(
        lambda: all(recorder.gone(name) for name in names),
        timeout,
        f"{len(names)} resources and their placements gone",
    )
    placements_gone = max(recorder.gone(name) or 0 for name in names)
    jobs_left = len(node_jobs(node))
    jobs_gone = placements_gone
    if jobs_left:  # the placements went before the jobs (they should not): time the jobs' going too
        eventually(lambda: not node_jobs(node), timeout, "the node's jobs gone")
        jobs_gone = time.time()
    after = agent_metrics(agent)
    calls = diff(_counter(node.stats()), _counter(calls_before))
    return {
        "n": len(names),
        "deleted_in_s": round(deleted_in, 2),
        "resources_gone_s": round(max(recorder.get(name).deleted or 0 for name in names) - first, 2),
        "all_gone_s": round(max(placements_gone, jobs_gone) - first, 2),
        "placements_gone_s": round(placements_gone - first, 2),
        "jobs_left_on_node": jobs_left,  # when the last placement went [expect 0]
        "node_deletes": calls.get("DELETE /v2/jobs/:ID", 0),
        "node_calls": calls,
        # The resources are gone at once: an Error met deleting a job shows only in its placement.
        "ever_error": recorder.ever_error_placements(first),
        **_throttling(before, after),
    }


def _throttling(before: str, after: str) -> dict[str, Any]:
    """429s the node answered and seconds the agent waited for its window, between two /metrics reads."""
    return {
        "node_429s": value(after, RESPONSES, code="429") - value(before, RESPONSES, code="429"),
        "throttled_s": round(value(after, THROTTLED) - value(before, THROTTLED), 1),
    }


def _counter(stats: dict[str, int]) -> Counter[str]:
    return Counter(stats)


# ------------------------------------------------------------------------------------- 5: the baseline


def _naive(cfg: Config, api: Any, ns: str, n: int) -> dict[str, Any]:
    """The naive loop on a node of its own, over the same N resources (the agent is stopped by now)."""
    cfg.log("  naive baseline")
    node = cfg.double(f"naive-n{n}")
    credentials = cfg.workdir / f"naive-n{n}.api"
    credentials.write_text(f"{node.email}\n{node.password}\n")
    log_path = cfg.workdir / f"naive-n{n}.jsonl"
    argv = [sys.executable, "-m", "bench.naive", "--namespace", ns, "--node-name", NODE]
    argv += ["--node-url", node.url, "--credentials-file", str(credentials)]
    argv += ["--period", str(cfg.naive_period)]
    env = cfg.cluster.env()
    with log_path.open("w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)

    def passes() -> list[dict[str, Any]]:
        lines = log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    result: dict[str, Any] = {"period_s": cfg.naive_period}
    try:
        began = time.time()
        deadline = began + cfg.naive_cap_seconds
        while not passes() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        done = passes()
        if done:
            first = done[0]
            result["first_pass_s"] = round(first["ended"] - first["started"], 2)
            result["sync_s"] = result["first_pass_s"]
            result["sync_measured"] = True
        else:
            posted = node.stats().get("POST /v2/jobs", 0)
            result["sync_s"] = round(n * (time.time() - began) / max(posted, 1), 1)
            result["sync_measured"] = False  # extrapolated from the POST rate over the cap
        result["first_pass_calls"] = node.stats()
        # The steady window, with paced probes as for the agent where a pass is short enough.
        calls_before = node.stats()
        start = sample(proc.pid)
        probes = _naive_probes(cfg, api, ns, node, result["sync_s"])
        rest = cfg.steady_seconds - (time.time() - start.at)
        if rest > 0:
            time.sleep(rest)
        end = sample(proc.pid)
        window = end.at - start.at
        result.update(
            steady_window_s=round(window, 1),
            steady_cpu_pct_core=round(100 * (end.cpu_seconds - start.cpu_seconds) / window, 3),
            steady_node_calls_per_min=round(
                sum(diff(_counter(node.stats()), _counter(calls_before)).values()) * 60 / window
            ),
            rss_mib=round(end.rss_bytes / MIB, 1),
            peak_rss_mib=round(end.peak_rss_bytes / MIB, 1),
            apply_to_live_ms=summary_ms(probes) if probes else None,
            raw_apply_to_live_s=[round(x, 4) for x in probes],
            passes=len(passes()),
        )
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        node.stop()
    return result


def _naive_probes(cfg: Config, api: Any, ns: str, node: NodeDoubleProcess, pass_s: float) -> list[float]:
    """Apply->live under the naive loop: a new resource waits for the next pass to reach it. The probes are
    created spread over one cycle (pass + period); each one's first appearance is polled every 50 ms by
    external ID (cheap, and small against a cycle of seconds) and its createdAt read from the node."""
    if cfg.naive_probes == 0 or pass_s * 2 > cfg.naive_cap_seconds:
        return []
    jobs = Jobs(api, ns)
    cycle = pass_s + cfg.naive_period
    pending: dict[str, float] = {}  # external ID -> create call started
    found: dict[str, float] = {}
    with httpx.Client(base_url=node.url, timeout=30) as http:
        http.post("/sessions", json={"email": node.email, "password": node.password}).raise_for_status()
        next_at, made = time.time(), 0
        deadline = time.time() + cycle * 3 + 60
        while (made < cfg.naive_probes or len(found) < len(pending)) and time.time() < deadline:
            if made < cfg.naive_probes and time.time() >= next_at:
                name = f"naive-probe-{made:03d}"
                t0 = time.time()
                uid = jobs.create(name, toml(name), targets={"names": [NODE]})["metadata"]["uid"]
                pending[derived_external_job_id(uid, NODE)] = t0
                made += 1
                next_at += cycle / cfg.naive_probes
            for ext, t0 in pending.items():
                if ext in found:
                    continue
                response = http.get(f"/v2/jobs/{ext}")
                if response.status_code == 200:
                    created = response.json()["data"]["attributes"]["webhookSpec"]["createdAt"]
                    found[ext] = parse_time(created) - t0
            time.sleep(0.05)
    return list(found.values())


# ---------------------------------------------------------------------------------------- 4: fan-out


FANOUT_LABEL = "bench.chainlink-k8s.github.io/fanout"


def fan_out(cfg: Config, nodes: int, spread: int) -> dict[str, Any]:
    """`nodes` agents (each with its node double) on one namespace, two workloads: one resource selecting
    every node, then `spread` resources each naming one node. Each node writes its own placements, each a
    watch event for that node's agent and for the elected aggregator; the aggregator's status writes are a
    watch event for every agent. This shows how the cost grows with the nodes."""
    cfg.log(f"fan-out: {nodes} nodes")
    result: dict[str, Any] = {"nodes": nodes, "load_start": load()}
    doubles: list[NodeDoubleProcess] = []
    agents: list[AgentProcess] = []
    with cfg.cluster.api_client() as api:
        ns = cfg.namespace(api, f"bench-fanout{nodes}")
        recorder = Recorder(api, ns)
        try:
            for i in range(nodes):
                doubles.append(cfg.double(f"fan{nodes}-{i:03d}"))
                agent = cfg.agent(ns, doubles[-1], f"fan-{i:03d}", {FANOUT_LABEL: "yes"})
                agents.append(agent.start(wait_ready=False))
            began = time.time()
            for agent in agents:
                wait_ready(agent)
            result["agents_ready_s"] = round(time.time() - began, 2)
            result["rss_mib_per_agent"] = round(
                sum(sample(_pid(a)).rss_bytes for a in agents) / nodes / MIB, 1
            )
            names = [a.node_name for a in agents]
            everywhere = {"selector": {"matchLabels": {FANOUT_LABEL: "yes"}}}
            result["one_to_all"] = _fan_phase(
                cfg, recorder, agents, ns, {"everywhere": everywhere}, {("everywhere", n) for n in names}
            )
            spread_targets = {f"s{i:05d}": {"names": [names[i % nodes]]} for i in range(spread)}
            result["one_each"] = _fan_phase(
                cfg,
                recorder,
                agents,
                ns,
                spread_targets,
                {(name, t["names"][0]) for name, t in spread_targets.items()},
            )
            result["jobs_per_node"] = sorted({len(node_jobs(d)) for d in doubles})
            result["load_end"] = load()
        finally:
            recorder.stop()
            for agent in agents:
                agent.kill()
            for double in doubles:
                double.stop()
    return result


def _fan_phase(
    cfg: Config,
    recorder: Recorder,
    agents: list[AgentProcess],
    ns: str,
    resources: dict[str, dict[str, Any]],
    expected: set[tuple[str, str]],
) -> dict[str, Any]:
    """Creates `resources` (name -> targets) and waits until every (resource, node) pair is Synced in the
    resource's status and every agent is idle; the watch events and bytes the apiserver sent for
    ChainlinkJobs and ChainlinkPlacements, every agent's CPU."""
    cfg.log(f"  {len(resources)} resources, {len(expected)} (resource, node) pairs")
    before_text, cpu_before = apiserver_metrics(cfg.cluster), [sample(_pid(a)).cpu_seconds for a in agents]
    reconciles_before = sum(value(agent_metrics(a), RECONCILES) for a in agents)
    bench_events_before = recorder.event_count()
    t0 = time.time()
    _in_threads(
        cfg.cluster,
        ns,
        list(resources),
        lambda jobs, name: jobs.create(name, toml(name), targets=resources[name]),
    )
    eventually(
        lambda: all(recorder.synced(name, node) for name, node in expected),
        max(900.0, len(expected) * 0.5),  # one resource on N nodes grows faster than N: see bench/README.md
        "every (resource, node) Synced",
    )
    synced = [recorder.synced(name, node) or math.nan for name, node in expected]
    texts = _quiet(agents)
    after_text = apiserver_metrics(cfg.cluster)
    bench_events = recorder.event_count() - bench_events_before
    cpu = [sample(_pid(a)).cpu_seconds - b for a, b in zip(agents, cpu_before, strict=True)]
    events, sent = {}, {}
    for plural in WATCHED:
        events[plural] = round(_grew(before_text, after_text, "apiserver_watch_events_total", plural))
        sent[plural] = _grew(before_text, after_text, "apiserver_watch_events_sizes_sum", plural) / MIB
    return {
        "resources": len(resources),
        "pairs": len(expected),
        "all_synced_s": round(max(synced) - t0, 2),
        "per_pair_synced_ms": summary_ms([t - t0 for t in synced]),
        # Every watcher's copy, the bench's own Recorder's included: it watches every ChainlinkJob (as each
        # agent does) and every node's placements (each agent watches its own node's, the aggregator the
        # others'), so it gets a copy of every placement write: watch_events_bench.
        "watch_events": sum(events.values()),
        "watch_mib": round(sum(sent.values()), 2),
        "watch_events_by_resource": events,
        "watch_mib_by_resource": {plural: round(mib, 2) for plural, mib in sent.items()},
        "watch_events_bench": bench_events,
        "agent_cpu_s_total": round(sum(cpu), 2),
        "agent_cpu_s_max": round(max(cpu), 3),
        "reconciles": sum(value(t, RECONCILES) for t in texts) - reconciles_before,
        "reconcile_errors": sum(value(t, RECONCILES, result="error") for t in texts),
        "apiserver_requests": diff(apiserver_requests(after_text), apiserver_requests(before_text)),
    }


WATCHED = (PLURAL, PLACEMENTS)


def _grew(before: str, after: str, metric: str, resource: str) -> float:
    """How much the apiserver's `metric` for `resource` grew between two /metrics reads."""
    return value(after, metric, resource=resource) - value(before, metric, resource=resource)


def _quiet(agents: list[AgentProcess], timeout: float = 600.0, at_least: float = 0.0) -> list[str]:
    """Every agent's /metrics once the agents made `at_least` reconciles in all, none for 2 s, and every
    queue is empty: a phase's trailing watch events (the last status writes reaching every agent) are then
    in the figures."""
    deadline, last = time.monotonic() + timeout, [-1.0]
    while time.monotonic() < deadline:
        texts = [agent_metrics(a) for a in agents]
        done = [value(t, RECONCILES) for t in texts]
        idle = not any(value(t, "chainlink_agent_queue_depth") for t in texts)
        if done == last and idle and sum(done) >= at_least:
            return texts
        last = done
        time.sleep(2.0)
    raise RuntimeError(f"the agents did not go quiet within {timeout:.0f} s (reconciles {last})")
