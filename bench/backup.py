"""python -m bench.backup [N]: issue 23's figures. Backup time and size at N ChainlinkJobs (default 1000),
restore time to node ready and to all jobs Synced.

The backup drill's flow (tests/drills/test_backup_restore.py), at scale and timed, all as real processes: a
light control plane, the object store (versitygw), a throwaway Postgres and one real node with keys
(`ocr2_config`), its ChainlinkNode and agent (resync 300 s, the node's default rate limit 1000/min and the
agent paced to it). N webhook ChainlinkJobs target the node; once all are Synced, the backup Job's processes
(the chart's dump script + `chainlink-agent backup`, with the placements) upload the dump. Then the volume is
lost: agent killed, node stopped, database dropped; the resources and placements stay (same namespace). The
restore's init containers (`restore-fetch`, the chart's restore-load script) fill a new database, the node
starts on it, and the agent again, until every resource is reconciled and Synced with the same jobs.

Needs the tools of scripts/tools.sh on PATH (helm renders the chart's scripts). Prints one table; the
figures and what they say are in bench/README.md ("Backup and restore").
"""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from chainlink_agent.backups.records import records_key
from chainlink_agent.model import placement
from chainlink_agent.model.resource import GROUP, NODE_PLURAL, PLURAL, VERSION
from kubernetes import client

from bench.measure import counters, load, value
from bench.workloads import RECONCILES, RESYNC_SECONDS, create_burst, targets, wait_ready
from devkit.backupjob import (
    NODE,
    Database,
    age_identity,
    chainlink_node,
    restore_load_script,
    run_backup,
    run_restore,
    store_env,
)
from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.objectstore import ObjectStore
from devkit.harness import AgentProcess, install_crd
from devkit.realnode.fixtures import RealNodes
from devkit.realnode.node import RealNode, node_keys, ocr2_config
from devkit.realnode.postgres import Postgres

NAMESPACE = "bench-backup"
CHAIN_ID = "1337"
RESPONSES = "chainlink_agent_node_api_responses_total"


def log(line: str) -> None:
    print(f"[bench.backup {time.strftime('%H:%M:%S')} load {load()}] {line}", file=sys.stderr, flush=True)


def node_jobs(node: RealNode) -> dict[str, str]:
    """{externalJobID: job ID} of every job on the node (pages of 1000; the bench's calls are few)."""
    with httpx.Client(base_url=node.url, timeout=120) as http:
        http.post("/sessions", json={"email": node.email, "password": node.password}).raise_for_status()
        jobs: dict[str, str] = {}
        for page in range(1, 1000):
            body = http.get("/v2/jobs", params={"page": page, "size": 1000}).raise_for_status().json()
            jobs.update((j["attributes"]["externalJobID"], j["id"]) for j in body["data"])
            if not body["data"] or len(jobs) >= body["meta"]["count"]:
                break
        return jobs


def synced_count(custom: Any) -> tuple[int, int]:
    """(resources whose status shows node-a Synced, placements of node-a Synced)."""
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL)["items"]
    status = sum(
        any(
            e["node"] == NODE and e.get("phase") == "Synced"
            for e in (o.get("status") or {}).get("nodes") or []
        )
        for o in listed
    )
    placements = custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, placement.PLURAL)["items"]
    held = sum(
        (p.get("status") or {}).get("phase") == "Synced" and not placement.released(p) for p in placements
    )
    return status, held


def wait_for(check: Any, timeout: float, what: str) -> None:
    """Polls check every second (each poll lists N resources and N placements)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(1.0)


def node_calls(agent: AgentProcess) -> str:
    """The agent's calls to the node so far: its writes and job-list pages, each; the rest summed."""
    calls = counters(agent.metrics(), RESPONSES, ("method", "route", "code"))
    shown = Counter[str]()
    for (method, route, code), count in calls.items():
        label = f"{method} {route}" if method != "GET" or route == "/v2/jobs" else "other reads"
        shown[label] += int(count)
        shown["not 2xx"] += int(count) if not code.startswith("2") else 0
    for always in ("POST /v2/jobs", "DELETE /v2/jobs/:ID", "not 2xx"):
        shown.setdefault(always, 0)
    return ", ".join(f"{label} {count}" for label, count in sorted(shown.items()))


def expect(ok: object, message: str) -> None:
    if not ok:
        raise RuntimeError(message)


class Bench:
    """One node's life: N jobs made, backed up, the volume lost, restored; `figures` collects the rows."""

    def __init__(self, cluster: ControlPlane, store: ObjectStore, nodes: RealNodes, workdir: Path, n: int):
        self.cluster, self.store, self.nodes, self.workdir, self.n = cluster, store, nodes, workdir, n
        self.figures: list[tuple[str, str]] = []
        self.kubeconfig = str(cluster.kubeconfig)
        self.key_file = workdir / "age-identity.txt"
        self.recipient = age_identity(self.key_file)
        self.config = ocr2_config(CHAIN_ID)  # P2P, ETH and OCR2 keys: a node with an identity

    def add(self, name: str, shown: str) -> None:
        self.figures.append((name, shown))

    def agent_for(self, node: RealNode) -> AgentProcess:
        # The chart's resync period; the agent's pace is its default, the node's own limit (1000/60 s).
        args = (self.workdir, self.kubeconfig, NAMESPACE, NODE, node.url, node.email, node.password)
        return AgentProcess(*args, resync_seconds=RESYNC_SECONDS)

    def run(self, custom: Any) -> None:
        database = self.nodes.new_database("backup")
        began = time.monotonic()
        node = self.nodes.start("backup", self.config, database=database)
        self.add("first node start (makes its keys) -> ready", f"{time.monotonic() - began:.1f} s")
        keys = node_keys(node)
        chainlink_node(custom, NAMESPACE, NODE)
        agent = self.agent_for(node).start()
        try:
            before = self.create(custom, agent, node)
            self.backup(custom, database)
        finally:
            log("lose the volume: agent killed, node stopped, database dropped")
            agent.kill()
            node.stop()
        self.nodes.postgres.drop_database(database)

        began = time.monotonic()
        node = self.restore()
        expect(node_keys(node) == keys, "the restored node's keys differ")
        try:
            self.agent_again(custom, node, began, before)
        finally:
            node.stop()

    def create(self, custom: Any, agent: AgentProcess, node: RealNode) -> dict[str, str]:
        n = self.n
        log(f"creating {n} ChainlinkJobs")
        began = time.monotonic()
        create_burst(self.cluster, NAMESPACE, [f"job-{i:05d}" for i in range(n)], targets(NODE))
        created = time.monotonic() - began
        wait_for(lambda: synced_count(custom) == (n, n), 600 + n, f"{n} Synced; see {agent.log_path}")
        self.add(f"create {n} ChainlinkJobs (4 threads)", f"{created:.1f} s")
        self.add(f"first create -> all {n} Synced (status)", f"{time.monotonic() - began:.1f} s")
        self.add("  agent's node calls", node_calls(agent))
        jobs = node_jobs(node)
        expect(len(jobs) == n, f"{len(jobs)} jobs on the node, not {n}")
        return jobs

    def backup(self, custom: Any, database: str) -> None:
        log("backup")
        env = store_env(
            self.store,
            self.store.bucket,
            CHAINLINK_BACKUP_AGE_RECIPIENTS=self.recipient,
            CHAINLINK_AGENT_NAMESPACE=NAMESPACE,
            CHAINLINK_BACKUP_NODE_VERSION="2.23.0",
            KUBECONFIG=self.kubeconfig,
        )
        ran = run_backup(self.workdir, Database(self.nodes.postgres, database), env)
        status = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, NODE_PLURAL, NODE)["status"]
        backup = status["backup"]
        expect(ran.upload.returncode == 0, ran.text)
        expect(backup["result"] == "Succeeded", str(backup))
        expect(f"with the node's {self.n} placements" in backup["message"], backup["message"])
        placements = self.store.object_path(self.store.bucket, records_key(backup["key"])).stat().st_size
        self.add("backup (dump + encrypt + upload, placements)", f"{ran.seconds:.2f} s")
        self.add("  encrypted dump object", f"{backup['size']:,} bytes")
        self.add(f"  placements object ({self.n})", f"{placements:,} bytes")

    def restore(self) -> RealNode:
        """The restore's init containers into a new, empty database, then the node on it."""
        log("restore")
        began = time.monotonic()
        restored = f"restored_{secrets.token_hex(4)}"
        self.nodes.postgres.create_database(restored)
        directory = self.workdir / "restore"
        directory.mkdir()
        env = store_env(
            self.store,
            self.store.bucket,
            CHAINLINK_AGENT_NAMESPACE=NAMESPACE,
            CHAINLINK_RESTORE_AGE_IDENTITY_FILE=str(self.key_file),
            KUBECONFIG=self.kubeconfig,
        )
        fetched = run_restore(env, directory)
        expect(fetched.returncode == 0, fetched.stderr)
        fetch_s = time.monotonic() - began
        plain = (directory / "dump").stat().st_size  # the load script removes it
        made = re.search(r"\d+ of \d+ placements made again", fetched.stdout + fetched.stderr)
        loaded = subprocess.run(
            ["sh", "-c", restore_load_script(directory)],
            env={**Database(self.nodes.postgres, restored).env(), "HOME": str(self.workdir)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        expect(loaded.returncode == 0, loaded.stderr)
        load_s = time.monotonic() - began - fetch_s
        # The dump holds the old node's database lease (Database.Lock, 10 s by default), taken moments ago
        # here, hours ago in a real loss: the node waits until it expires.
        lease = Database(self.nodes.postgres, restored).sql(
            "SELECT coalesce(max(extract(epoch FROM expires_at - now())), 0) FROM lease_lock"
        )
        node = self.nodes.start("restored", self.config, database=restored)
        ready_s = time.monotonic() - began
        self.add("restore -> node ready", f"{ready_s:.1f} s")
        self.add("  restore-fetch (download, decrypt, placements)", f"{fetch_s:.2f} s")
        self.add("  decrypted dump", f"{plain:,} bytes")
        self.add("  placements made again (all still exist)", made.group(0) if made else "?")
        self.add("  restore-load (the chart's script: pg_restore)", f"{load_s:.2f} s")
        self.add("  node start on the restored database", f"{ready_s - fetch_s - load_s:.1f} s")
        self.add("  its dumped lease still to run at node start", f"{max(0.0, float(lease)):.1f} s")
        return node

    def agent_again(self, custom: Any, node: RealNode, began: float, before: dict[str, str]) -> None:
        log("agent again")
        agent = self.agent_for(node).start(wait_ready=False)
        try:
            self.reconciled(custom, agent, began)
        finally:
            agent.kill()
        after = node_jobs(node)
        same = after == before
        self.add("jobs on the node: same IDs, none made twice", f"{len(after)}, {'yes' if same else 'NO'}")
        expect(same, f"{len(after)} jobs, {len(set(after) ^ set(before))} external IDs differ")

    def reconciled(self, custom: Any, agent: AgentProcess, began: float) -> None:
        n = self.n
        agent_ready_s = wait_ready(agent)
        ready_at = time.monotonic()

        def settled() -> bool:
            text = agent.metrics()
            drained = value(text, RECONCILES) >= n and value(text, "chainlink_agent_queue_depth") == 0
            return drained and synced_count(custom) == (n, n)

        wait_for(settled, 600 + n, f"all {n} reconciled again; see {agent.log_path}")
        done = time.monotonic()
        self.add(f"restore -> all {n} reconciled and Synced", f"{done - began:.1f} s")
        self.add("  agent start -> ready", f"{agent_ready_s:.1f} s")
        self.add("  agent ready -> all reconciled, Synced", f"{done - ready_at:.1f} s")
        self.add("  agent's node calls", node_calls(agent))


def commit() -> str:
    """HEAD when the bench begins (others may commit meanwhile), "+dirty" with uncommitted agent or chart
    edits."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (
        "+dirty" if git("status", "--porcelain", "agent", "charts") else ""
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 1000
    # SIGTERM unwinds like Ctrl-C, so the node, agent, Postgres, store and control plane are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="chainlink-bench-backup-"))
    began = time.monotonic()
    load_start = load()
    head = commit()
    with ControlPlane(workdir / "controlplane") as cluster, ObjectStore(workdir / "objectstore") as store:
        postgres = Postgres.start()
        try:
            bench = Bench(cluster, store, RealNodes(postgres, workdir / "nodes"), workdir, n)
            with cluster.api_client() as api:
                install_crd(api)
                client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
                bench.run(client.CustomObjectsApi(api))
        finally:
            postgres.stop()
    figures = bench.figures
    figures.append(("wall time, whole bench", f"{time.monotonic() - began:.0f} s"))
    figures.append(("load at start / end", f"{load_start} / {load()}"))
    print(f"\n$ python -m bench.backup {n}   # at {head}, workdir {workdir}\n")
    print("| figure | value |\n|---|---|")
    for name, shown in figures:
        print(f"| {'· ' + name[2:] if name.startswith('  ') else name} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
