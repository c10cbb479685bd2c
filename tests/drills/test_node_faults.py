"""The node's API misbehaving: errors, timeouts, dropped connections, expiring sessions, a long outage.
Each ends with exactly one job per resource on the node and the status pointing at it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from chainlink_agent.model.resource import derived_external_job_id

from devkit.harness import eventually, synced, toml
from devkit.nodedouble.fixtures import NodeDoubleProcess

from .helpers import LONG, entry_in, on_node, scale

pytestmark = pytest.mark.drill
NODE = "node-a"
NODE_TIMEOUT = 1.5  # CHAINLINK_AGENT_NODE_TIMEOUT_SECONDS for these drills (default 30)

# name -> (faults on POST /v2/jobs, a phase/reason the status must pass through on the way, or None)
FAULTS: dict[str, tuple[list[dict[str, Any]], tuple[str, str] | None]] = {
    # A 500 carrying the node's own error text is the node refusing the job: reported, then retried.
    "500-with-error": ([{"action": "status", "status": 500, "count": 2}], ("Invalid", "NodeRejected")),
    "503": ([{"action": "status", "status": 503, "count": 3}], ("Error", "NodeUnavailable")),
    # Hang longer than the agent's timeout before the node acts: the agent gives up, the node makes the job
    # later anyway (its insert then fails on the external job ID the retry already used).
    "timeout-before-insert": ([{"action": "hang", "seconds": 4.0}], None),
    # The node makes the job, then holds the answer past the agent's timeout.
    "timeout-after-insert": ([{"action": "hang", "seconds": 4.0, "after": True}], None),
    "drop-before-insert": ([{"action": "drop"}], None),
    "drop-after-insert": ([{"action": "drop", "after": True}], None),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_create_survives(fault, jobs, start_node, start_agent, monkeypatch):
    faults, passes_through = FAULTS[fault]
    monkeypatch.setenv("CHAINLINK_AGENT_NODE_TIMEOUT_SECONDS", str(NODE_TIMEOUT))
    node = start_node()
    person = node.client()
    start_agent(NODE, node)
    for f in faults:
        node.inject({"route": "POST /v2/jobs", **f})
    uid = jobs.create("feed", toml("feed"), targets={"names": [NODE]})["metadata"]["uid"]
    if passes_through:
        entry_in(jobs, "feed", NODE, *passes_through)
    entry = synced(jobs, "feed", NODE)
    time.sleep(5 if "timeout" in fault else 1)  # a hung request finishing late must not add a job
    ext = derived_external_job_id(uid, NODE)
    on = on_node(person)
    assert on is not None
    assert list(on) == [ext]
    assert on[ext].id == entry["jobID"]
    assert jobs.entry("feed", NODE)["jobID"] == entry["jobID"]


def test_session_expires_mid_reconcile(jobs, start_node, start_agent):
    """The session ends while a POST is in flight (the double holds the request before it authenticates
    it), so that very call gets 401: one new login, the call repeated, no error in the status."""
    node = start_node()
    start_agent(NODE, node)
    logins = node.stats().get("POST /sessions", 0)
    node.inject({"route": "POST /v2/jobs", "action": "hang", "seconds": 1.0})
    jobs.create("feed", toml("feed"), targets={"names": [NODE]})
    time.sleep(0.5)
    node.inject({"action": "expire_sessions"})
    entry = synced(jobs, "feed", NODE)
    assert entry["conditions"][0]["reason"] == "JobSynced"
    stats = node.stats()
    assert stats.get("POST /sessions", 0) == logins + 1
    assert stats.get("POST /v2/jobs", 0) == 2  # the 401, then the repeat
    assert not [e for e in jobs.events("feed") if e.type == "Warning"]
    # And for an edit: the session expires between two reconciles.
    node.inject({"action": "expire_sessions"})
    jobs.patch_spec("feed", {"toml": toml("feed-v2")})
    synced(jobs, "feed", NODE, hash_not=entry["specHash"])
    assert node.stats().get("POST /sessions", 0) == logins + 2


def test_node_down_then_back(jobs, start_node, start_agent):
    """The node answers 503 to everything for a while; resources deleted meanwhile are gone at once, their
    placements keep the record, and their jobs are removed when it returns; one created meanwhile is made
    then."""
    down = scale(15.0, 120.0)
    node = start_node()
    person = node.client()
    start_agent(NODE, node)
    uids = {}
    for name in ("keep", "drop-1", "drop-2"):
        uids[name] = jobs.create(name, toml(name), targets={"names": [NODE]})["metadata"]["uid"]
    for name in uids:
        synced(jobs, name, NODE)
    node.inject({"route": "*", "action": "status", "status": 503, "count": 1_000_000})
    jobs.delete("drop-1")
    jobs.delete("drop-2")
    uids["late"] = jobs.create("late", toml("late"), targets={"names": [NODE]})["metadata"]["uid"]
    time.sleep(down)
    assert jobs.get("drop-1") is None
    assert jobs.placement("drop-1", NODE)["status"]["phase"] == "Error"  # the record of a job to remove
    late = jobs.entry("late", NODE)
    assert late is not None
    assert late["phase"] == "Error"
    node.process.clear_faults()
    back = time.monotonic()

    def recovered():
        on = on_node(person)
        want = {derived_external_job_id(uids[n], NODE) for n in ("keep", "late")}
        gone = jobs.cleaned("drop-1") and jobs.cleaned("drop-2")
        return on is not None and set(on) == want and gone

    # Each key waits out its own backoff (0.5 s doubling, at most 300 s): recovery takes up to the
    # backoff reached during the outage, not one resync.
    eventually(recovered, down * 2 + 30, "the node's jobs to match after it came back")
    synced(jobs, "late", NODE)
    print(f"\nnode down {down:.0f}s; recovered {time.monotonic() - back:.1f}s after it came back")


def test_hung_list_during_resync_does_not_block_reconciles(jobs, start_node, start_agent, monkeypatch):
    """A resync's job list that hangs past the timeout only delays that resync: new resources still sync."""
    monkeypatch.setenv("CHAINLINK_AGENT_NODE_TIMEOUT_SECONDS", str(NODE_TIMEOUT))
    node = start_node()
    start_agent(NODE, node)
    node.inject({"route": "GET /v2/jobs", "action": "hang", "seconds": 5.0, "count": 3 if not LONG else 10})
    for i in range(3):
        jobs.create(f"feed-{i}", toml(f"feed-{i}"), targets={"names": [NODE]})
    for i in range(3):
        synced(jobs, f"feed-{i}", NODE)


def test_a_node_refusing_connections_leaves_every_thread_alive(jobs, start_node, start_agent, tmp_path):
    """The node's process gone (its port refuses connections) while resyncs, reconciles and reports are due;
    then a node on the same port and password, with none of the jobs (a fresh double): every thread lived,
    the jobs come back, and one applied afterwards is Synced within 30 s."""
    node = start_node()
    agent = start_agent(NODE, node)
    jobs.create("before", toml("before"), targets={"names": [NODE]})
    synced(jobs, "before", NODE)
    old: Any = node.process
    node.process.stop()
    jobs.create("meanwhile", toml("meanwhile"), targets={"names": [NODE]})
    time.sleep(scale(12.0, 60.0))  # resyncs every 2 s, a report, and the new resource's retries
    assert agent.healthz().startswith("200"), agent.healthz()
    assert entry_in(jobs, "meanwhile", NODE, "Error", "NodeUnavailable")
    port = old.url.rsplit(":", 1)[1]
    again = NodeDoubleProcess.start(
        tmp_path, "--port", port, "--password-file", str(old.log.parent / "node-double-password")
    )
    try:
        for name in ("before", "meanwhile"):
            entry_in(jobs, name, NODE, "Synced", timeout=60)  # missing from the node's list: made again
        jobs.create("after", toml("after"), targets={"names": [NODE]})
        synced(jobs, "after", NODE)
        assert agent.healthz().startswith("200"), agent.healthz()
    finally:
        again.stop()
