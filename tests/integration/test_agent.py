"""The agent as a real process, on the real apiserver bench, against the node double process."""

from __future__ import annotations

import time

import pytest
from chainlink_agent.model.resource import derived_external_job_id

from devkit.harness import allow, eventually, synced, toml
from devkit.specs import DIRECT_REQUEST

# Scenarios whose every check goes through the node's API run against the double and a real node alike.
BOTH_NODES = pytest.mark.parametrize("start_node", ["double", "real"], indirect=True)


def node_jobs_by_ext(node):
    return {j.external_job_id: j for j in node.client().list_jobs()}


@BOTH_NODES
def test_apply_edit_delete(jobs, start_node, start_agent):
    node = start_node()
    start_agent("node-a", node)
    created = jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})

    entry = synced(jobs, "feed", "node-a")
    ext = derived_external_job_id(created["metadata"]["uid"], "node-a")
    assert entry["externalJobID"] == ext
    on_node = node_jobs_by_ext(node)
    assert on_node[ext].id == entry["jobID"]
    assert jobs.placement("feed", "node-a")["status"]["jobID"] == entry["jobID"]
    assert not jobs.get("feed")["metadata"].get("finalizers")  # a delete never waits on an agent
    assert eventually(lambda: [e for e in jobs.events("feed") if e.reason == "JobCreated"], 10, "JobCreated")

    # The node's PUT /v2/jobs/:ID deletes and re-adds the job under the same ID.
    jobs.patch_spec("feed", {"toml": toml("feed-v2")})
    replaced = synced(jobs, "feed", "node-a", hash_not=entry["specHash"])
    on_node = node_jobs_by_ext(node)
    assert on_node[ext].id == replaced["jobID"]
    assert on_node[ext].name == "feed-v2"
    assert list(on_node) == [ext]
    assert replaced["observedGeneration"] == 2
    assert eventually(
        lambda: [e for e in jobs.events("feed") if e.reason == "JobReplaced"], 10, "JobReplaced"
    )

    jobs.delete("feed")
    eventually(lambda: jobs.cleaned("feed"), 30, "the resource to be gone")
    assert node_jobs_by_ext(node) == {}


@BOTH_NODES
def test_drift_is_restored_and_hand_made_jobs_are_untouched(jobs, start_node, start_agent):
    node = start_node()
    person = node.client()
    hand_made = person.create_job(toml("made-by-hand"))
    start_agent("node-a", node)
    jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})
    entry = synced(jobs, "feed", "node-a")

    person.delete_job(entry["jobID"])
    restored = synced(jobs, "feed", "node-a", job_id_not=entry["jobID"])
    assert eventually(
        lambda: [e for e in jobs.events("feed") if e.reason == "JobRestored"], 10, "JobRestored"
    )

    jobs.delete("feed")
    eventually(lambda: jobs.cleaned("feed"), 30, "the resource to be gone")
    remaining = node_jobs_by_ext(node)
    assert restored["externalJobID"] not in remaining
    assert remaining[hand_made.external_job_id].id == hand_made.id


@BOTH_NODES
def test_one_resource_selecting_two_nodes(jobs, start_node, start_agent):
    nodes = {name: start_node() for name in ("node-a", "node-b")}
    for name, node in nodes.items():
        start_agent(name, node, labels={"chain": "sepolia", "role": name})
    created = jobs.create("both", toml("both"), targets={"selector": {"matchLabels": {"chain": "sepolia"}}})
    for name, node in nodes.items():
        entry = synced(jobs, "both", name)
        ext = derived_external_job_id(created["metadata"]["uid"], name)
        assert entry["externalJobID"] == ext
        assert node_jobs_by_ext(node)[ext].id == entry["jobID"]
    status = jobs.get("both")["status"]
    assert sorted(e["node"] for e in status["nodes"]) == ["node-a", "node-b"]
    assert status["phases"] == {"node-a": "Synced", "node-b": "Synced"}
    assert sorted(status["jobIDs"]) == ["node-a", "node-b"]

    jobs.patch_spec("both", {"targets": {"names": ["node-b"], "selector": None}})  # merge patch
    eventually(lambda: jobs.entry("both", "node-a") is None, 30, "node-a's entry to go")
    assert jobs.get("both")["status"]["phases"] == {"node-b": "Synced"}
    assert node_jobs_by_ext(nodes["node-a"]) == {}
    assert len(node_jobs_by_ext(nodes["node-b"])) == 1
    assert jobs.placement("both", "node-a") is None


def test_sigkill_between_create_and_status_leaves_exactly_one_job(jobs, start_node, start_agent):
    node = start_node()
    # The node makes the job, then holds its answer: the agent never learns the job ID.
    node.inject({"route": "POST /v2/jobs", "action": "hang", "seconds": 30, "after": True})
    agent = start_agent("node-a", node)
    jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})
    eventually(lambda: len(node_jobs_by_ext(node)) == 1, 30, "the node to make the job")
    agent.kill()
    assert jobs.placement("feed", "node-a")["status"]["phase"] == "Pending"  # written ahead

    node.process.clear_faults()
    agent.start()
    entry = synced(jobs, "feed", "node-a")
    on_node = node_jobs_by_ext(node)
    assert list(on_node) == [entry["externalJobID"]]
    assert on_node[entry["externalJobID"]].id == entry["jobID"]


def test_invalid_toml_is_reported_without_calling_the_node(jobs, start_node, start_agent):
    node = start_node()
    start_agent("node-a", node)
    jobs.create("broken", 'type = "webhook\n', targets={"names": ["node-a"]})
    entry = eventually(lambda: jobs.entry("broken", "node-a"), 30, "a status entry")
    assert entry["phase"] == "Invalid"
    (cond,) = entry["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Synced", "False", "InvalidTOML")
    assert eventually(lambda: [e for e in jobs.events("broken") if e.reason == "InvalidTOML"], 10, "an Event")
    assert node.stats().get("POST /v2/jobs", 0) == 0


def refused_unknown_type(jobs) -> None:
    """A job of an unknown type ends Invalid with the node's own words."""
    jobs.create("unknown", 'type = "no-such-type"\nschemaVersion = 1\n', targets={"names": ["node-a"]})
    entry = eventually(
        lambda: (e := jobs.entry("unknown", "node-a")) and e["phase"] == "Invalid" and e, 30, "Invalid"
    )
    (cond,) = entry["conditions"]
    assert (cond["reason"], cond["message"]) == ("NodeRejected", "failed to parse TOML: invalid job type")


@BOTH_NODES
def test_a_spec_the_node_refuses_is_invalid_in_the_nodes_words(jobs, start_node, start_agent):
    node = start_node()
    start_agent("node-a", node)
    refused_unknown_type(jobs)
    assert node_jobs_by_ext(node) == {}


def test_node_rejection_is_reported_and_retried_with_bounded_calls(jobs, start_node, start_agent):
    node = start_node()
    start_agent("node-a", node)
    refused_unknown_type(jobs)
    warnings = [e for e in jobs.events("unknown") if e.type == "Warning"]
    assert warnings
    assert warnings[0].reason == "NodeRejected"
    time.sleep(20)
    # Backoff from 0.5 s doubling: 0.5 + 1 + 2 + 4 + 8 s, so about 6 tries in 20 s, never a hot loop.
    assert node.stats().get("POST /v2/jobs", 0) <= 7
    assert len([e for e in jobs.events("unknown") if e.type == "Warning"]) == 1


@BOTH_NODES
def test_a_job_the_node_holds_but_cannot_start_is_recorded_and_not_sent_again(jobs, start_node, start_agent):
    node = start_node()
    start_agent("node-a", node)  # resyncs every 2 s
    jobs.create(
        "elsewhere", DIRECT_REQUEST.format(name="elsewhere", chain="999"), targets={"names": ["node-a"]}
    )
    entry = eventually(
        lambda: (e := jobs.entry("elsewhere", "node-a")) and e["phase"] == "Invalid" and e, 30, "Invalid"
    )
    (cond,) = entry["conditions"]
    assert cond["reason"] == "JobNotStarted"
    assert (
        cond["message"]
        == f"failed to create services for job: {entry['jobID']}: chain id does not exist: 999"
    )
    assert node_jobs_by_ext(node)[entry["externalJobID"]].id == entry["jobID"]

    def pipeline_spec() -> int:  # a new one each time the node takes the spec (PUT deletes, then inserts)
        return int(node.api("GET", f"/v2/jobs/{entry['jobID']}")["data"]["attributes"]["pipelineSpec"]["id"])

    taken = pipeline_spec()
    time.sleep(6)  # three resyncs
    assert (pipeline_spec(), jobs.entry("elsewhere", "node-a")) == (taken, entry)


@BOTH_NODES
def test_suspend_removes_and_restores(jobs, start_node, start_agent):
    node = start_node()
    start_agent("node-a", node)
    jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})
    synced(jobs, "feed", "node-a")
    jobs.patch_spec("feed", {"suspend": True})
    eventually(lambda: (jobs.entry("feed", "node-a") or {}).get("phase") == "Suspended", 30, "Suspended")
    assert node_jobs_by_ext(node) == {}
    jobs.patch_spec("feed", {"suspend": False})
    synced(jobs, "feed", "node-a")
    assert len(node_jobs_by_ext(node)) == 1


def test_toml_from_a_configmap_created_later(jobs, start_node, start_agent):
    node = start_node()
    start_agent("node-a", node, env=allow(config_maps=("specs",)))
    jobs.create(
        "from-cm",
        targets={"names": ["node-a"]},
        tomlFrom={"configMapKeyRef": {"name": "specs", "key": "job.toml"}},
    )
    entry = eventually(lambda: jobs.entry("from-cm", "node-a"), 30, "a status entry")
    assert (entry["phase"], entry["conditions"][0]["reason"]) == ("Pending", "ConfigMapMissing")
    jobs.core.create_namespaced_config_map(
        jobs.namespace, {"metadata": {"name": "specs"}, "data": {"job.toml": toml("from-cm")}}
    )
    synced(jobs, "from-cm", "node-a")


def test_agent_exits_cleanly_on_sigterm_and_serves_metrics(jobs, start_node, start_agent):
    node = start_node()
    agent = start_agent("node-a", node)
    jobs.create("feed", toml("feed"), targets={"names": ["node-a"]})
    synced(jobs, "feed", "node-a")
    metrics = agent.metrics()
    for name in (
        "chainlink_agent_reconciles_total",
        "chainlink_agent_queue_depth",
        "chainlink_agent_node_api_seconds_bucket",
    ):
        assert name in metrics
    assert agent.stop() == 0
    log = agent.log_path.read_text()
    assert node.password not in log
    assert "clsession" not in log
