"""The status the aggregator writes from the nodes' entries."""

from chainlink_agent.aggregator import summary


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
