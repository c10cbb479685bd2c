from chainlink_agent.model.conditions import Outcome, placement_status
from chainlink_agent.model.placement import Record


def entry_of(raw):
    return Record(node="n", conditions=tuple(raw["conditions"]), raw=raw)


def test_synced_entry_shape():
    entry = placement_status(2, Outcome("Synced", "JobSynced", "ok", "5", "e", "h"), None, "T1")
    assert entry["jobID"] == "5"
    assert entry["observedGeneration"] == 2
    assert entry["lastSyncTime"] == "T1"
    (cond,) = entry["conditions"]
    assert cond == {
        "type": "Synced",
        "status": "True",
        "observedGeneration": 2,
        "lastTransitionTime": "T1",
        "reason": "JobSynced",
        "message": "ok",
    }


def test_unchanged_outcome_gives_an_identical_entry():
    first = placement_status(2, Outcome("Synced", "JobSynced", "ok", "5", "e", "h"), None, "T1")
    again = placement_status(2, Outcome("Synced", "JobSynced", "ok", "5", "e", "h"), entry_of(first), "T2")
    assert again == first


def test_transition_time_moves_only_when_status_flips():
    ok = placement_status(1, Outcome("Synced", "JobSynced", "ok", "5"), None, "T1")
    failing = placement_status(1, Outcome("Error", "NodeUnavailable", "down", "5"), entry_of(ok), "T2")
    still = placement_status(1, Outcome("Invalid", "NodeRejected", "bad", "5"), entry_of(failing), "T3")
    assert failing["conditions"][0]["lastTransitionTime"] == "T2"
    assert still["conditions"][0]["lastTransitionTime"] == "T2"
    assert still["lastSyncTime"] == "T3"


def test_suspended_counts_as_synced():
    entry = placement_status(1, Outcome("Suspended", "Suspended", "off"), None, "T")
    assert entry["conditions"][0]["status"] == "True"
    assert "jobID" not in entry
