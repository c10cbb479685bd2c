"""The status the agent writes stays within the CRDs' bounds (issue 28 item 6): a node's entry, however long
the node's refusal, and a resource's status.nodes, however many nodes and whatever their placements hold."""

from __future__ import annotations

import pytest
from chainlink_agent.model.conditions import MAX_CONDITIONS, MAX_MESSAGE, Outcome, bounded, placement_status
from chainlink_agent.status.aggregator import MAX_NODES, summary

from tests.unit.bounds import status_schema, violations


@pytest.mark.parametrize("name", ["chainlinkjobs", "chainlinkbridges"])
def test_the_agents_caps_are_the_crds_bounds(name):
    nodes = status_schema(name)["properties"]["nodes"]
    assert nodes["maxItems"] == MAX_NODES
    entry = nodes["items"]["properties"]
    placement = status_schema("chainlinkplacements")["properties"]
    for schema in (entry, placement):
        assert schema["message"]["maxLength"] == MAX_MESSAGE
        assert schema["conditions"]["maxItems"] == MAX_CONDITIONS
        assert schema["conditions"]["items"]["properties"]["message"]["maxLength"] == MAX_MESSAGE


def test_a_long_refusal_is_cut_to_the_bound_in_the_entry_and_its_condition():
    refusal = "the node says: " + "x" * 100_000
    entry = placement_status(1, Outcome("Invalid", "NodeRejected", refusal), None, "2026-01-01T00:00:00Z")
    assert len(entry["message"]) == MAX_MESSAGE
    assert entry["message"].startswith("the node says: xxx")
    assert entry["message"].endswith("\u2026")
    assert entry["conditions"][0]["message"] == entry["message"]
    assert violations(status_schema("chainlinkplacements"), entry) == []
    assert bounded("short") == "short"
    assert bounded("y" * MAX_MESSAGE) == "y" * MAX_MESSAGE


def test_the_summary_of_many_nodes_with_oversized_placements_fits_the_resources_status():
    # Placements written before the bounds (or anything the CRD did not hold): long messages, many conditions.
    condition = {
        "type": "Synced",
        "status": "False",
        "observedGeneration": 1,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "reason": "NodeRejected",
        "message": "m" * 40_000,
    }
    entries = [
        {
            "node": f"node-{i:04d}",
            "phase": "Invalid",
            "jobID": str(i),
            "message": "z" * 40_000,
            "conditions": [{**condition, "type": f"T{j}"} for j in range(10)],
        }
        for i in range(MAX_NODES + 44)
    ]
    status = summary(entries)
    assert len(status["nodes"]) == MAX_NODES
    assert status["nodes"][-1]["node"] == f"node-{MAX_NODES - 1:04d}"  # the first by name are kept
    assert len(status["phases"]) == len(status["jobIDs"]) == MAX_NODES
    assert violations(status_schema("chainlinkjobs"), status) == []
