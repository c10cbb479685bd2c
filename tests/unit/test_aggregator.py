"""The status the aggregator writes from the nodes' entries, and how often it writes it."""

import threading
import time
from typing import Any

from chainlink_agent.control.controller import Controller, Result
from chainlink_agent.control.workqueue import WorkQueue
from chainlink_agent.model.resource import slim
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.status.aggregator import SETTLE_SECONDS, SWEEP, SWEEP_WAIT_SECONDS, Aggregator, summary


def test_the_summary_maps_each_node_to_its_phase_and_job_id_and_leaves_empty_maps_out():
    entries = [
        {"node": "node-a", "phase": "Synced", "jobID": "7"},
        {"node": "node-b", "phase": "Pending"},
    ]
    assert summary(entries) == {
        "nodes": entries,
        "phases": {"node-a": "Synced", "node-b": "Pending"},
        "jobIDs": {"node-a": "7"},
    }
    assert summary([]) == {"nodes": []}


class Cache:
    def __init__(self, objects):
        self.objects = objects
        self.synced = threading.Event()
        self.synced.set()

    def get(self, key):
        return self.objects.get(key)

    def store(self, obj):
        self.objects[KEY] = slim(obj)

    def cached_keys(self):
        return list(self.objects)


class Kube:
    node = "node-a"

    def __init__(self):
        self.writes = []

    def apply_summary(self, obj, status):
        self.writes.append(status)
        return {"metadata": {"name": obj.name, "namespace": obj.namespace}, "spec": {}, "status": status}


KEY = "chainlinkjobs/ns/feed"


def elected(
    own: Cache, others: Cache, resources: Cache, kube: Kube, leading: list[bool] | None = None
) -> Aggregator:
    """An aggregator as if it had just won the Lease, with node-b's placement known; `leading` is the
    Lease's word."""
    fakes: Any = {"kube": kube, "own": own, "resources": {"chainlinkjobs": resources}, "supervisor": None}
    leading = [True] if leading is None else leading
    aggregator = Aggregator(queue=WorkQueue(), leading=lambda: leading[0], metrics=Metrics(), **fakes)
    aggregator._others = others  # type: ignore[assignment]
    aggregator._nodes = {KEY: {"node-b"}}
    return aggregator


def test_changes_within_the_settle_time_share_one_write_and_an_unchanged_status_is_not_written():
    own = Cache({KEY: {"status": {"phase": "Pending"}}})
    others = Cache({f"{KEY}@node-b": {"status": {"phase": "Synced"}}})
    resource = {"metadata": {"name": "feed", "namespace": "ns"}, "spec": {}}
    resources = Cache({KEY: slim(resource)})
    kube = Kube()
    aggregator = elected(own, others, resources, kube)
    controller = Controller(
        "aggregator", aggregator._queue, aggregator.reconcile, aggregator.kind, Metrics(), threading.Event()
    )
    writer = threading.Thread(target=controller.work)
    writer.start()
    for phase in ("Pending", "Synced"):  # the placement written ahead of the create, then after it
        own.objects[KEY] = {"status": {"phase": phase}}
        aggregator.touch(KEY)
    time.sleep(SETTLE_SECONDS * 3)
    aggregator.touch(KEY)  # nothing changed since: read, compared, not written
    time.sleep(SETTLE_SECONDS * 3)
    aggregator._queue.shutdown()
    writer.join(5)
    assert kube.writes == [
        {
            "nodes": [{"node": "node-a", "phase": "Synced"}, {"node": "node-b", "phase": "Synced"}],
            "phases": {"node-a": "Synced", "node-b": "Synced"},
        }
    ]


def test_a_leader_whose_term_ended_writes_nothing_even_for_a_write_already_due():
    own = Cache({KEY: {"status": {"phase": "Synced"}}})
    resources = Cache({KEY: slim({"metadata": {"name": "feed", "namespace": "ns"}, "spec": {}})})
    kube = Kube()
    aggregator = elected(own, Cache({}), resources, kube, leading=[False])  # no renewal within the deadline
    aggregator._write(KEY)
    assert kube.writes == []


def test_a_leader_elected_before_the_resources_watch_synced_looks_at_every_resource_once_it_has():
    own = Cache({KEY: {"status": {"phase": "Synced"}}})
    resources = Cache({})
    resources.synced.clear()
    aggregator = elected(own, Cache({}), resources, Kube())
    assert aggregator.reconcile(SWEEP) == Result(requeue_after=SWEEP_WAIT_SECONDS)  # nothing to look at yet
    assert aggregator._queue._due == {}
    resources.objects[KEY] = slim({"metadata": {"name": "feed", "namespace": "ns"}, "spec": {}})
    resources.synced.set()
    assert aggregator.reconcile(SWEEP) == Result()
    assert list(aggregator._queue._due) == [KEY]  # the status a killed leader left unwritten is written now


def test_no_status_is_written_before_this_nodes_own_placements_are_known():
    own = Cache({})
    own.synced.clear()
    resources = Cache({KEY: slim({"metadata": {"name": "feed", "namespace": "ns"}, "spec": {}})})
    kube = Kube()
    aggregator = elected(own, Cache({}), resources, kube)
    aggregator._write(KEY)
    assert kube.writes == []  # a status without this node's entry would stay so: nothing touches it later
    assert list(aggregator._queue._due) == [KEY]  # looked at again shortly
