"""Reconcile decisions against small fakes (tests/unit/fakes.py): crash points, claims, ownership, waits.
The same scenarios against a real apiserver and a real node are in tests/integration."""

import logging

import pytest
from chainlink_agent.control.jobs import settled_invalid
from chainlink_agent.model import placement
from chainlink_agent.model.conditions import Outcome, now, placement_status
from chainlink_agent.model.errors import NodeRejected, NodeUnavailable
from chainlink_agent.model.nodetypes import KeyBundle, NodeBridge, NodeFacts, NodeJob
from chainlink_agent.model.pipeline import MAX_BRIDGES
from chainlink_agent.model.resource import ChainlinkJob
from chainlink_agent.node import snapshot

from tests.unit.fakes import EXT, NODE, TOML, World, phase


def test_a_new_job_is_made_once_and_an_unchanged_one_costs_no_call_and_no_write():
    w = World()
    key = w.add_job("feed", TOML)
    assert not w.reconcile(key)
    assert phase(w, key) == ("Synced", "JobSynced")
    assert w.placements.objects[key]["metadata"]["name"] == f"job.feed.{NODE}"
    assert w.summarized[-1] == key  # the aggregator is told
    assert (w.node.calls, w.kube.events) == (["create_job"], [("feed", "Normal", "JobCreated")])
    writes = w.kube.status_writes
    w.restart()  # a resync pass: a fresh snapshot, the same resource
    assert not w.reconcile(key)
    assert (w.node.calls, w.kube.status_writes) == (["create_job"], writes)


def killed_after_the_create(w, key):
    """The agent dies right after the node made the job, before it writes the job's status."""

    def killed(call):
        if call == "create_job":
            w.kube.fail_status_writes = RuntimeError("killed")

    w.node.after = killed
    with pytest.raises(RuntimeError):
        w.reconcile(key)
    w.kube.fail_status_writes, w.node.after = None, lambda call: None


def test_an_agent_killed_between_the_create_and_the_status_leaves_exactly_one_job():
    w = World()
    key = w.add_job("feed", TOML)
    killed_after_the_create(w, key)
    assert w.entry(key)["phase"] == "Pending"  # the placement written ahead of the create
    w.restart()
    assert not w.reconcile(key)
    assert phase(w, key) == ("Synced", "JobSynced")
    assert len(w.node.jobs) == 1
    assert w.entry(key)["jobID"] in w.node.jobs


def test_a_job_made_under_a_hand_set_id_before_a_crash_is_removed_after_its_resource_went_meanwhile():
    w = World()
    key = w.add_job("feed", f'externalJobID = "{EXT}"\n{TOML}')
    killed_after_the_create(w, key)
    assert w.entry(key)["externalJobID"] == EXT  # in the placement written ahead of the create
    w.delete(key)
    w.restart()
    assert not w.reconcile(key)
    assert w.node.jobs == {}
    assert key not in w.placements.objects


def test_a_create_whose_answer_is_lost_is_adopted_not_made_twice():
    w = World()
    key = w.add_job("feed", TOML)

    def lose_the_answer(call):
        if call == "create_job":
            w.node.after = lambda call: None
            raise NodeUnavailable("read timeout")

    w.node.after = lose_the_answer
    assert w.reconcile(key)  # retried
    assert phase(w, key) == ("Error", "NodeUnavailable")
    assert not w.reconcile(key)
    assert phase(w, key) == ("Synced", "JobSynced")
    assert len(w.node.jobs) == 1
    assert w.node.calls.count("create_job") == 1


def test_a_node_that_is_down_shows_error_and_is_retried(caplog):
    w = World()
    key = w.add_job("feed", TOML)

    def down(call):
        raise NodeUnavailable(f"{call}: 503")

    w.node.before = down  # the create and the recheck after it both fail
    with caplog.at_level(logging.INFO, logger="chainlink_agent.control.reconcile"):
        assert w.reconcile(key)
    assert phase(w, key) == ("Error", "NodeUnavailable")
    assert w.node.calls == ["create_job", "find_job"]
    assert any(r.getMessage() == "could not recheck the node" for r in caplog.records)
    w.node.before = lambda call: None
    assert not w.reconcile(key)
    assert phase(w, key) == ("Synced", "JobSynced")


def test_the_older_of_two_resources_keeps_a_hand_set_external_job_id_and_the_other_takes_over_after():
    w = World()
    older = w.add_job("older", f'externalJobID = "{EXT}"\n{TOML}')
    younger = w.add_job("younger", f'externalJobID = "{EXT}"\n{TOML}')
    assert not w.reconcile(younger)  # reconciled first, yet the older resource wins
    assert phase(w, younger) == ("Invalid", "DuplicateExternalJobID")
    assert "older" in w.entry(younger)["message"]
    assert not w.reconcile(older)
    assert phase(w, older) == ("Synced", "JobSynced")
    w.delete(older)
    assert not w.reconcile(older)  # deletes its job, then its placement
    assert older not in w.placements.objects
    assert not w.node.jobs
    assert younger in w.queued
    assert not w.reconcile(younger)
    assert phase(w, younger) == ("Synced", "JobSynced")
    assert [j.external_job_id for j in w.node.jobs.values()] == [EXT]


def test_jobs_made_by_hand_are_never_touched():
    w = World()
    w.node.jobs["99"] = NodeJob("99", "11111111-1111-4111-8111-111111111111")
    key = w.add_job("feed", TOML)
    assert not w.reconcile(key)
    w.delete(key)
    assert not w.reconcile(key)
    assert list(w.node.jobs) == ["99"]
    assert w.node.calls == ["create_job", "delete_job"]


def test_suspend_removes_the_job_and_resuming_makes_it_again():
    w = World()
    key = w.add_job("feed", TOML, suspend=True)
    assert not w.reconcile(key)
    assert phase(w, key) == ("Suspended", "Suspended")
    assert not w.node.jobs
    w.cache.objects[key]["spec"]["suspend"] = False
    assert not w.reconcile(key)
    assert phase(w, key) == ("Synced", "JobSynced")
    assert len(w.node.jobs) == 1


def test_a_bridge_made_by_hand_is_reported_and_never_touched():
    w = World()
    w.node.bridges["price"] = NodeBridge("price", "http://by-hand")
    w.restart()  # the agent lists the node
    key = w.add_bridge("price", url="http://agent")
    assert not w.reconcile(key)
    assert phase(w, key) == ("Invalid", "BridgeExists")
    assert w.node.bridges["price"].url == "http://by-hand"
    assert not w.node.calls


def test_a_templated_job_waits_for_the_nodes_key_without_calling_the_node_then_uses_it():
    w = World()
    key = w.add_job("ocr", TOML + 'keyBundleID = "{{ node.ocr2KeyBundleID "evm" }}"\n')
    assert w.reconcile(key)  # retried with backoff
    assert phase(w, key) == ("Pending", "UnresolvedReference")
    assert not w.node.calls
    w.node.key_facts = NodeFacts(ocr2_bundles=(KeyBundle("b1", "evm"),))
    w.snapshot.refresh()
    assert not w.reconcile(key)
    assert phase(w, key) == ("Synced", "JobSynced")
    assert 'keyBundleID = "b1"' in w.node.specs[w.entry(key)["jobID"]]


def test_a_job_waits_for_its_bridge_and_is_woken_when_the_agent_makes_it():
    w = World()
    job = w.add_job("priced", TOML.replace('type=memo value="1"', 'type=bridge name="price"'))
    assert w.reconcile(job)
    assert phase(w, job) == ("Pending", "BridgeMissing")
    assert not w.node.calls
    bridge = w.add_bridge("price", url="http://adapter")
    assert not w.reconcile(bridge)
    assert phase(w, bridge) == ("Synced", "BridgeSynced")
    assert job in w.queued
    assert not w.reconcile(job)
    assert phase(w, job) == ("Synced", "JobSynced")


def calling(*names):
    """TOML whose pipeline calls these bridges."""
    tasks = " ".join(f"t{i} [type=bridge name={name}]" for i, name in enumerate(names))
    return TOML.replace('fetch [type=memo value="1"]', tasks)


def test_a_pipeline_bridge_name_that_climbs_out_of_its_path_is_invalid_and_never_reaches_the_node():
    w = World()
    job = w.add_job("climbs", calling('"../../v2/keys/eth"'))
    lists = w.node.bridge_lists
    assert not w.reconcile(job)  # only an edit fixes it
    assert phase(w, job) == ("Invalid", "InvalidBridgeName")
    assert "'../../v2/keys/eth'" in w.entry(job)["conditions"][0]["message"]
    assert (w.node.calls, w.node.bridge_lists) == ([], lists)


def test_a_job_calling_more_bridges_than_a_job_may_is_invalid_without_a_node_call():
    w = World()
    job = w.add_job("greedy", calling(*(f"b{i}" for i in range(200))))
    lists = w.node.bridge_lists
    assert not w.reconcile(job)
    assert phase(w, job) == ("Invalid", "TooManyBridges")
    assert (w.node.calls, w.node.bridge_lists) == ([], lists)


def test_a_job_waiting_for_many_bridges_costs_one_list_per_reconcile_not_a_call_per_name(monkeypatch):
    monkeypatch.setattr(snapshot, "BRIDGE_RELIST_SECONDS", 0.0)  # every retry may list them again
    w = World()
    names = [f"b{i}" for i in range(MAX_BRIDGES)]
    job = w.add_job("waits", calling(*names))
    lists = w.node.bridge_lists
    for _ in range(3):
        assert w.reconcile(job)
    assert phase(w, job) == ("Pending", "BridgeMissing")
    assert (w.node.calls, w.node.bridge_lists - lists) == ([], 3)
    for name in names:  # made by hand: the next retry's one list finds them all
        w.node.bridges[name] = NodeBridge(name, "http://by-hand")
    assert not w.reconcile(job)
    assert phase(w, job) == ("Synced", "JobSynced")
    assert (w.node.calls, w.node.bridge_lists - lists) == (["create_job"], 4)


def test_a_resync_of_an_unchanged_node_passes_over_settled_jobs_but_not_those_reading_objects():
    w = World(config_maps=("specs",))
    w.kube.config_maps["specs"] = {"t": TOML}
    plain = w.add_job("plain", TOML)
    from_cm = w.add_job("from-cm", tomlFrom={"configMapKeyRef": {"name": "specs", "key": "t"}})
    waiting = w.add_job("waiting", tomlFrom={"configMapKeyRef": {"name": "specs", "key": "missing"}})
    for key in (plain, from_cm, waiting):
        w.reconcile(key)
    assert w.snapshot.changed  # the first list: everything needs a look
    w.snapshot.refresh()  # the node as the agent left it
    assert not w.snapshot.changed
    assert [w.jobs.needs_resync(k) for k in (plain, from_cm, waiting)] == [False, True, True]
    w.node.jobs.clear()  # a person deletes the jobs on the node: the next list says so
    w.snapshot.refresh()
    assert w.snapshot.changed


def test_a_resync_of_an_unchanged_node_passes_over_a_job_invalid_for_its_own_text_until_it_is_edited():
    w = World(config_maps=("specs",))
    w.kube.config_maps["specs"] = {"t": "{{ node.peerID }}"}
    inline = w.add_job("inline", "{{ node.peerID }}")
    from_cm = w.add_job("from-cm", tomlFrom={"configMapKeyRef": {"name": "specs", "key": "t"}})
    for key in (inline, from_cm):
        assert not w.reconcile(key)  # not retried either
        assert phase(w, key) == ("Invalid", "InvalidReference")
    w.snapshot.refresh()
    # An edit of the ConfigMap comes through no watch: only a resync finds it.
    assert [w.jobs.needs_resync(k) for k in (inline, from_cm)] == [False, True]
    edited = w.cache.objects[inline]
    edited["spec"]["toml"], edited["metadata"]["generation"] = TOML, 2
    assert w.jobs.needs_resync(inline)
    assert not w.reconcile(inline)
    assert phase(w, inline) == ("Synced", "JobSynced")


@pytest.mark.parametrize(
    ("reason", "generation", "spec", "settled"),
    [
        ("InvalidReference", 1, {"toml": "{{ }}"}, True),
        ("InvalidTOML", 1, {"toml": "x ="}, True),
        ("InvalidReference", 2, {"toml": "{{ }}"}, False),  # edited since: the watch queued it
        ("InvalidReference", 1, {"tomlFrom": {"configMapKeyRef": {"name": "specs", "key": "t"}}}, False),
        ("SecretNotAllowed", 1, {"toml": "x"}, False),  # the Secret's owner may consent
        ("DuplicateExternalJobID", 1, {"toml": "x"}, False),
        ("NodeRejected", 1, {"toml": "x"}, False),
    ],
)
def test_only_an_invalid_of_the_jobs_own_text_at_its_current_generation_is_settled(
    reason, generation, spec, settled
):
    metadata = {"name": "feed", "uid": "u", "generation": generation}
    job = ChainlinkJob.from_dict({"metadata": metadata, "spec": spec})
    status = placement_status(1, Outcome("Invalid", reason, "why"), None, now())
    recorded = placement.record({"spec": {"uid": "u"}, "status": status})
    assert settled_invalid(job, recorded) is settled
    assert not settled_invalid(job, placement.record({"spec": {"uid": "another"}, "status": status}))


def not_started(w):
    """The node commits each job it is sent, then cannot start it (as for a chain it lacks: job/spawner.go
    CreateJob, a 500); returns the message it gives for the job made last."""

    def refused(call):
        if call in ("create_job", "replace_job"):
            raise NodeRejected(500, message())

    def message():
        return f"failed to create services for job: {max(w.node.jobs, key=int)}: chain id does not exist: 999"

    w.node.after = refused
    return message


def test_a_job_the_node_holds_but_would_not_start_is_not_sent_again_until_the_node_or_the_agent_changes():
    w = World()
    key = w.add_job("feed", TOML)
    message = not_started(w)
    assert not w.reconcile(key)  # no retry: the same spec gets the same answer
    entry = w.entry(key)
    assert phase(w, key) == ("Invalid", "JobNotStarted")
    assert (entry["jobID"], entry["conditions"][0]["message"]) == ("1", message())
    assert entry["externalJobID"] == w.node.jobs["1"].external_job_id
    assert w.kube.events[-1] == ("feed", "Warning", "JobNotStarted")
    sent = ["create_job", "find_job"]
    assert w.node.calls == sent
    w.snapshot.refresh()  # the node as the agent left it: a resync passes over it; a reconcile sends nothing
    assert (w.snapshot.changed, w.jobs.needs_resync(key)) == (False, False)
    assert not w.reconcile(key)
    assert (w.node.calls, phase(w, key)) == (sent, ("Invalid", "JobNotStarted"))
    w.restart()  # a new agent has not seen the answer: it sends the spec once more, then holds
    for _ in range(2):
        assert not w.reconcile(key)
    sent += ["replace_job", "find_job"]
    assert (w.node.calls, w.entry(key)["jobID"]) == (sent, "2")
    w.node.after = lambda call: None  # the node restarts with the chain: its keys change, and it is asked
    w.node.key_facts = NodeFacts(ocr2_bundles=(KeyBundle("b1", "evm"),))
    w.snapshot.refresh()
    assert (w.snapshot.changed, w.jobs.needs_resync(key)) == (True, True)
    assert not w.reconcile(key)
    assert w.node.calls == [*sent, "replace_job"]
    assert (phase(w, key), w.entry(key)["jobID"]) == (("Synced", "JobSynced"), "3")
    assert w.entry(key)["specHash"] == entry["specHash"]  # what it recorded was the spec the node held


def test_an_edited_spec_the_node_would_not_start_is_sent_at_once():
    w = World()
    key = w.add_job("feed", TOML)
    not_started(w)
    assert not w.reconcile(key)
    w.cache.objects[key]["spec"]["toml"] = TOML.replace('"1"', '"2"')
    w.cache.objects[key]["metadata"]["generation"] = 2
    w.node.after = lambda call: None
    assert not w.reconcile(key)
    assert w.node.calls == ["create_job", "find_job", "replace_job"]
    assert phase(w, key) == ("Synced", "JobSynced")


def test_a_deleted_resource_asks_the_node_before_letting_go_of_a_job_the_snapshot_lost():
    w = World()
    key = w.add_job("feed", TOML)
    w.reconcile(key)
    job_id = w.entry(key)["jobID"]
    w.snapshot.remove(w.entry(key)["externalJobID"])  # a list that skipped it
    w.delete(key)
    assert not w.reconcile(key)
    assert job_id not in w.node.jobs  # deleted on the node, not left running
    assert "delete_job" in w.node.calls


def released_and_reinstalled(w, *keys):
    """The release is uninstalled (release-node marks the placements released) and installed again on the
    kept database: a new agent over the same node."""
    for key in keys:
        w.kube.mark_released(w.placements.objects[key]["metadata"]["name"], released=True)
    w.restart()


def test_a_reinstall_on_the_kept_database_takes_its_bridge_and_job_back_without_replacing_either():
    w = World()
    job, bridge = w.add_job("feed", TOML), w.add_bridge("price", url="http://ea-1")
    assert not w.reconcile(bridge)
    assert not w.reconcile(job)
    made = w.entry(job)["jobID"]
    released_and_reinstalled(w, job, bridge)
    w.cache.objects[bridge]["spec"]["url"] = "http://ea-2"  # a rotation applied while it was away
    w.cache.objects[bridge]["metadata"]["generation"] = 2
    w.node.calls.clear()
    assert not w.reconcile(bridge)
    assert not w.reconcile(job)
    assert phase(w, bridge) == ("Synced", "BridgeSynced")  # its own, not BridgeExists
    assert w.node.bridges["price"].url == "http://ea-2"
    assert w.node.calls == ["update_bridge"]  # the job, unchanged, is neither replaced nor made again
    assert w.entry(job)["jobID"] == made
    assert not any(placement.released(w.placements.objects[k]) for k in (job, bridge))


def test_a_reinstall_on_the_kept_database_removes_the_jobs_of_resources_deleted_while_it_was_away():
    w = World()
    job, bridge = w.add_job("feed", TOML), w.add_bridge("price", url="http://ea")
    assert not w.reconcile(bridge)
    assert not w.reconcile(job)
    released_and_reinstalled(w, job, bridge)
    w.delete(job)
    w.delete(bridge)
    assert not w.reconcile(job)
    assert not w.reconcile(bridge)
    assert (w.node.jobs, w.node.bridges) == ({}, {})
    assert w.placements.objects == {}
