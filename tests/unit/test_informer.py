"""The informer's list+watch loop against canned streams: 410 relists, bookmarks move the
resourceVersion, status-only changes queue nothing, failures reconnect."""

from __future__ import annotations

import random
import threading
from typing import Any

from chainlink_agent.k8s.informer import Informer, own_placements, resources
from chainlink_agent.model import placement
from chainlink_agent.model.errors import Gone
from chainlink_agent.model.resource import slim_for_node, status_digest
from chainlink_agent.runtime.metrics import Metrics

from tests.unit.fakes import EXT, NODE, TOML, FakeCache, World, phase

JOBS = resources("chainlinkjobs", "mine", {})


def obj(name, rv, generation=1, status=None):
    return {
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv), "generation": generation},
        "status": status or {},
    }


class CannedKube:
    """Plays scripted list and watch answers; the informer is stopped once the script runs out."""

    node = "mine"

    def __init__(self, stop, lists, watches):
        self.stop, self.lists, self.watches = stop, list(lists), list(watches)
        self.watched_from: list[str] = []

    def list_objects(self, plural, transform, label_selector=None):
        assert plural == "chainlinkjobs"
        items, version = self.lists.pop(0)
        return [transform(o) for o in items], version

    def watch_objects(self, plural, resource_version, timeout_seconds, label_selector=None, opened=None):
        assert plural == "chainlinkjobs"
        self.watched_from.append(resource_version)
        if not self.watches:
            self.stop.set()
            return
        script = self.watches.pop(0)
        if isinstance(script, Exception):
            raise script
        yield from script


def run(lists, watches):
    stop = threading.Event()
    kube = CannedKube(stop, lists, watches)
    changed: list[str] = []
    informer = Informer(kube, changed.append, Metrics(), stop, JOBS)  # type: ignore[arg-type]
    thread = threading.Thread(target=informer.run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return informer, kube, changed


def test_list_then_watch_from_the_list_version_and_follow_bookmarks():
    informer, kube, changed = run(
        [([obj("a", 5)], "10")],
        [
            [{"type": "ADDED", "object": obj("b", 11)}, {"type": "BOOKMARK", "object": obj("", 15)}],
            [],
        ],
    )
    assert kube.watched_from == ["10", "15", "15"]
    assert changed == ["chainlinkjobs/ns/a", "chainlinkjobs/ns/b"]
    assert informer.synced.is_set()


def test_gone_lists_again_and_reports_vanished_keys():
    informer, kube, changed = run(
        [([obj("a", 5), obj("b", 6)], "10"), ([obj("a", 20)], "21")],
        [Gone(410, "too old"), []],
    )
    assert kube.watched_from == ["10", "21", "21"]
    assert informer.get("chainlinkjobs/ns/b") is None
    assert sorted(changed) == [
        "chainlinkjobs/ns/a",
        "chainlinkjobs/ns/a",
        "chainlinkjobs/ns/b",
        "chainlinkjobs/ns/b",
    ]


def test_status_only_change_queues_nothing_but_is_cached():
    informer, _, changed = run(
        [([obj("a", 5)], "10")],
        [[{"type": "MODIFIED", "object": obj("a", 11, status={"nodes": [{"node": "mine"}]})}]],
    )
    assert changed == ["chainlinkjobs/ns/a"]
    assert informer.get("chainlinkjobs/ns/a")["statusDigest"] == status_digest({"nodes": [{"node": "mine"}]})


def test_spec_change_and_delete_queue_the_key():
    _, _, changed = run(
        [([obj("a", 5)], "10")],
        [
            [
                {"type": "MODIFIED", "object": obj("a", 11, generation=2)},
                {"type": "DELETED", "object": obj("a", 12)},
            ]
        ],
    )
    assert changed == ["chainlinkjobs/ns/a", "chainlinkjobs/ns/a", "chainlinkjobs/ns/a"]


def test_older_event_never_overwrites_the_agents_own_newer_write():
    stop = threading.Event()
    informer = Informer(CannedKube(stop, [], []), lambda key: None, Metrics(), stop, JOBS)  # type: ignore[arg-type]
    informer.store(obj("a", 30, status={"nodes": [{"node": "mine"}]}))
    informer.store(obj("a", 29))
    assert (informer.get("chainlinkjobs/ns/a") or {})["statusDigest"] == status_digest(
        {"nodes": [{"node": "mine"}]}
    )


def test_connection_failure_reconnects_from_the_same_version():
    _, kube, _ = run([([], "10")], [ConnectionError("reset"), []])
    assert kube.watched_from == ["10", "10", "10"]


def test_watch_failures_wait_a_full_jitter_of_the_doubling_that_a_clean_pass_resets(monkeypatch):
    spans: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        spans.append((low, high))
        return 0.0  # no wait

    monkeypatch.setattr(random, "uniform", uniform)  # the jitter
    failure = ConnectionError("reset")
    run([([], "10")], [failure, failure, failure, [], failure, []])
    # 1 s doubling, at most 30 s; the watch that ended normally (the server's timeout) started again at 1 s.
    assert spans == [(0, 1.0), (0, 2.0), (0, 4.0), (0, 1.0)]


def test_keys_carry_the_kind():
    stop = threading.Event()
    kube: Any = CannedKube(stop, [], [])
    informer = Informer(kube, lambda key: None, Metrics(), stop, resources("chainlinkbridges", "mine", {}))
    informer.store(obj("a", 3))
    assert informer.cached_keys() == ["chainlinkbridges/ns/a"]


def test_the_cache_keeps_what_the_reconcile_and_the_aggregator_read():
    stop = threading.Event()
    informer = Informer(CannedKube(stop, [], []), lambda key: None, Metrics(), stop, JOBS)  # type: ignore[arg-type]
    status = {"nodes": [{"node": "other", "phase": "Synced"}, {"node": "mine", "phase": "Error"}]}
    full = obj("a", 7, status=status)
    full["metadata"].update(
        uid="u1",
        finalizers=["argocd.argoproj.io/resources-finalizer"],
        managedFields=[{"manager": "chainlink-agent-other", "fieldsV1": {"f:status": {}}}],
        annotations={"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
        labels={"team": "feeds"},
    )
    full["spec"] = {"toml": "type = 'webhook'", "targets": {"names": ["mine"]}}
    informer.store(full)
    assert informer.get("chainlinkjobs/ns/a") == {
        "apiVersion": None,
        "kind": None,
        "metadata": {
            "name": "a",
            "namespace": "ns",
            "uid": "u1",
            "generation": 1,
            "resourceVersion": "7",
        },
        "spec": {"toml": "type = 'webhook'", "targets": {"names": ["mine"]}},
        "statusDigest": status_digest(status),
    }


def test_values_are_only_the_objects_that_name_the_text():
    stop = threading.Event()
    informer = Informer(CannedKube(stop, [], []), lambda key: None, Metrics(), stop, JOBS)  # type: ignore[arg-type]
    for name, toml in (("a", 'externalJobID = "0B9F2A8E-4D0C"'), ("b", "type = 'webhook'")):
        full = obj(name, 3)
        full["spec"] = {"toml": toml}
        informer.store(full)
    assert [o["metadata"]["name"] for o in informer.cached_claiming("0b9f2a8e-4d0c")] == ["a"]


# A job of the shape (issue 28 item 8): a webhook TOML of 60 KB, with an ID set by hand.
BIG = f'externalJobID = "{EXT}"\n' + TOML.replace('value="1"', 'value="' + "1" * 60_000 + '"')


def job(rv, generation=1, toml=BIG, targets=None):
    full = obj("a", rv, generation)
    full["spec"] = {"toml": toml, "targets": targets or {"names": ["elsewhere"]}}
    return full


def test_an_untargeted_jobs_cached_spec_has_no_pipeline_text_but_its_pinned_id_is_found():
    stop = threading.Event()
    informer = Informer(CannedKube(stop, [], []), lambda key: None, Metrics(), stop, JOBS)  # type: ignore[arg-type]
    informer.store(job(3))
    cached = informer.get("chainlinkjobs/ns/a") or {}
    assert cached["spec"] == {"toml": f'externalJobID = "{EXT}"\n', "targets": {"names": ["elsewhere"]}}
    assert [o["metadata"]["name"] for o in informer.cached_claiming(EXT)] == ["a"]


def test_a_job_that_comes_to_target_this_node_is_cached_whole_and_queued():
    targeted = job(11, generation=2, targets={"names": ["mine"]})
    informer, _, changed = run([([job(5)], "10")], [[{"type": "MODIFIED", "object": targeted}]])
    assert changed == ["chainlinkjobs/ns/a", "chainlinkjobs/ns/a"]
    assert (informer.get("chainlinkjobs/ns/a") or {})["spec"] == targeted["spec"]


def test_an_untargeted_jobs_toml_edit_updates_what_is_cached_of_it():
    informer, _, _ = run(
        [([job(5, toml=TOML)], "10")],
        [[{"type": "MODIFIED", "object": job(11, generation=2)}]],
    )
    assert [o["metadata"]["name"] for o in informer.cached_claiming(EXT)] == ["a"]


class NodesCache(FakeCache):
    """FakeCache holding what the informers of World's node hold: resources slimmed for that node."""

    def store(self, obj):
        super().store(
            obj if obj["kind"] == placement.KIND else slim_for_node(obj, NODE, {"chain": "sepolia"})
        )


def world_of_slimmed_resources():
    w = World()
    w.cache = NodesCache()
    w.restart()
    return w


def test_an_untargeted_owner_cached_slim_keeps_its_external_job_id_and_takes_it_once_it_targets_the_node():
    w = world_of_slimmed_resources()
    owner = w.add_job("owner", BIG, targets={"names": ["node-b"]})
    assert len(w.cache.objects[owner]["spec"]["toml"]) < 100
    squatter = w.add_job("squatter", TOML.replace("type", f'externalJobID = "{EXT}"\ntype'))
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateExternalJobID")
    assert not w.node.jobs
    retargeted = {**w.cache.objects[owner], "spec": {"toml": BIG, "targets": {"names": [NODE]}}}
    retargeted["metadata"] = {**retargeted["metadata"], "generation": 2, "resourceVersion": "2"}
    w.cache.store(retargeted)
    assert not w.reconcile(owner)
    assert phase(w, owner) == ("Synced", "JobSynced")
    assert [w.node.specs[j.id] for j in w.node.jobs.values()] == [BIG]


def test_an_untargeted_bridges_cached_slim_keeps_its_name_from_a_younger_one():
    w = world_of_slimmed_resources()
    w.add_bridge("price", url="http://owner", targets={"names": ["node-b"]})
    squatter = w.add_bridge("squatter", bridgeName="price", url="http://attacker")
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateBridgeName")
    assert "price" not in w.node.bridges


def an_informer(view):
    stop = threading.Event()
    return Informer(CannedKube(stop, [], []), lambda key: None, Metrics(), stop, view)  # type: ignore[arg-type]


def a_placement(rv, external_job_id=None):
    status = {"phase": "Synced", "externalJobID": external_job_id} if external_job_id else {}
    return {
        "metadata": {"name": "job.a.mine", "namespace": "ns", "resourceVersion": str(rv)},
        "spec": {"kind": "ChainlinkJob", "name": "a", "uid": "u-a", "node": "mine"},
        "status": status,
    }


def test_a_placement_is_found_by_the_id_it_records_and_no_longer_once_it_records_none_or_is_gone():
    informer = an_informer(own_placements("mine"))
    informer.store(a_placement(3, EXT.upper()))
    assert [placement.resource_key(o) for o in informer.cached_claiming(EXT)] == ["chainlinkjobs/ns/a"]
    informer.store(a_placement(4))
    assert informer.cached_claiming(EXT) == []
    informer.store(a_placement(5, EXT))
    informer.discard("chainlinkjobs/ns/a")
    assert informer.cached_claiming(EXT) == []


def test_a_bridge_is_found_by_its_name_in_any_case_and_a_job_by_no_text_but_its_hand_set_id():
    bridges = an_informer(resources("chainlinkbridges", "mine", {}))
    bridge = obj("price-feed", 3)
    bridge["spec"] = {"bridgeName": "Price", "url": "https://ea.example", "targets": {"names": ["mine"]}}
    bridges.store(bridge)
    assert [o["metadata"]["name"] for o in bridges.cached_claiming("PRICE")] == ["price-feed"]
    assert bridges.cached_claiming("example") == []  # the URL claims nothing
    jobs = an_informer(JOBS)
    mentioned = obj("b", 3)
    mentioned["spec"] = {"toml": f'type = "webhook"\n# was {EXT}\n', "targets": {"names": ["mine"]}}
    jobs.store(mentioned)
    assert jobs.cached_claiming(EXT) == []  # its ID is derived; a comment claims nothing
