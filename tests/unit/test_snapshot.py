"""The node snapshot: a list under way never undoes what the agent wrote meanwhile."""

import pytest
from chainlink_agent.model.nodetypes import NodeBridge, NodeFacts, NodeJob, P2PKey
from chainlink_agent.node import snapshot as snapshots
from chainlink_agent.node.snapshot import NodeSnapshot


class ListingNode:
    """A node whose list is read while a worker writes: `during` runs between reading the list and
    returning it, as a worker's create lands between two pages of a real list."""

    def __init__(self, jobs, bridges=()):
        self.jobs, self.bridges = list(jobs), list(bridges)
        self.keys = NodeFacts()
        self.during = lambda: None
        self.during_bridges = lambda: None

    def list_jobs(self):
        listed = list(self.jobs)
        self.during()
        return listed

    def list_bridges(self):
        listed = list(self.bridges)
        self.during_bridges()
        return listed

    def facts(self):
        return self.keys

    def find_job(self, external_job_id):
        return next((job for job in self.jobs if job.external_job_id == external_job_id), None)

    def find_bridge(self, name):
        return next((bridge for bridge in self.bridges if bridge.name == name), None)


def test_a_job_made_or_deleted_during_a_list_stays_as_the_agent_left_it():
    old, gone = NodeJob("1", "ext-old"), NodeJob("2", "ext-gone")
    node = ListingNode([old, gone])
    snapshot = NodeSnapshot(node)
    snapshot.refresh()

    def worker():
        snapshot.put(NodeJob("3", "ext-new"))
        snapshot.remove("ext-gone")
        snapshot.put_bridge(NodeBridge("price", "http://adapter"))

    node.during = worker
    assert snapshot.refresh() == 2
    assert set(snapshot.subset(["ext-old", "ext-new", "ext-gone"])) == {"ext-old", "ext-new"}
    assert set(snapshot.bridges(["price"])) == {"price"}


def test_writes_after_the_list_are_not_replayed_into_the_next_one():
    node = ListingNode([NodeJob("1", "ext-1")])
    snapshot = NodeSnapshot(node)
    snapshot.refresh()
    snapshot.put(NodeJob("2", "ext-2"))  # then deleted on the node by a person: the next list drops it
    snapshot.refresh()
    assert set(snapshot.subset(["ext-1", "ext-2"])) == {"ext-1"}


def test_a_list_that_fails_leaves_the_snapshot_as_it_was():
    node = ListingNode([NodeJob("1", "ext-1")])
    snapshot = NodeSnapshot(node)
    snapshot.refresh()

    def broken():
        raise OSError("connection reset")

    node.during = broken
    with pytest.raises(OSError, match="connection reset"):
        snapshot.refresh()
    assert set(snapshot.subset(["ext-1"])) == {"ext-1"}


def test_only_a_change_the_agent_did_not_make_marks_the_snapshot_changed():
    node = ListingNode([NodeJob("1", "ext-1")])
    snapshot = NodeSnapshot(node)
    snapshot.refresh()
    assert snapshot.changed  # the first list
    snapshot.refresh()
    assert not snapshot.changed
    made = NodeJob("2", "ext-2")
    snapshot.put(made)  # the agent's own create, then listed
    node.jobs.append(made)
    snapshot.refresh()
    assert not snapshot.changed
    node.jobs.pop(0)  # a person deletes a job in the node's UI
    snapshot.refresh()
    assert snapshot.changed
    node.keys = NodeFacts(p2p_keys=(P2PKey("p2p_rotated"),))  # or rotates a key
    snapshot.refresh()
    assert snapshot.changed


def test_a_job_the_paged_list_skipped_is_asked_for_not_dropped():
    kept, skipped = NodeJob("1", "ext-1"), NodeJob("2", "ext-2")
    node = ListingNode([kept, skipped])
    snapshot = NodeSnapshot(node)
    snapshot.refresh()
    node.during = lambda: node.jobs.append(skipped)  # the list missed it; the node still has it
    node.jobs.remove(skipped)
    snapshot.refresh()
    assert set(snapshot.subset(["ext-1", "ext-2"])) == {"ext-1", "ext-2"}
    assert not snapshot.changed


def test_relists_of_the_bridges_share_one_list_per_interval(monkeypatch):
    node = ListingNode([])
    snapshot = NodeSnapshot(node)
    snapshot.refresh()
    node.bridges.append(NodeBridge("price", "http://by-hand"))
    snapshot.relist_bridges()  # the resync listed them a moment ago
    assert not snapshot.bridges(["price"])
    monkeypatch.setattr(snapshots, "BRIDGE_RELIST_SECONDS", 0.0)
    snapshot.relist_bridges()
    assert set(snapshot.bridges(["price"])) == {"price"}


def test_a_relist_during_a_resync_keeps_a_write_made_while_both_read(monkeypatch):
    monkeypatch.setattr(snapshots, "BRIDGE_RELIST_SECONDS", 0.0)
    node = ListingNode([])
    snapshot = NodeSnapshot(node)
    snapshot.refresh()
    writes = [lambda: snapshot.put_bridge(NodeBridge("price", "http://adapter"))]

    def once():  # the agent makes a bridge after the pages were read: neither list shows it
        if writes:
            writes.pop()()

    node.during_bridges = once
    node.during = snapshot.relist_bridges  # a waiting job's, while the resync lists the jobs
    snapshot.refresh()
    assert set(snapshot.bridges(["price"])) == {"price"}
