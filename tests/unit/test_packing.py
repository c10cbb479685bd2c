import json
from typing import Any

from chainlink_agent.k8s import packing


def a_placement(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"job.feed-{i}.node-a", "namespace": "oracles", "resourceVersion": str(900 + i)},
        "spec": {"kind": "ChainlinkJob", "name": f"feed-{i}", "uid": f"7d9c1b2e-0f3a-4c5d-8e6f-{i:012d}"},
        "status": {
            "phase": "Synced",
            "message": "job 12 runs generation 3's spec",
            "observedGeneration": 3,
            "conditions": [
                {
                    "type": "Synced",
                    "status": "True",
                    "observedGeneration": 3,
                    "lastTransitionTime": "2027-03-01T08:15:00Z",
                    "reason": "JobSynced",
                    "message": "job 12 runs generation 3's spec",
                }
            ],
            "jobID": "12",
            "externalJobID": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
            "specHash": "9f" * 32,
        },
    }


def test_an_object_comes_back_as_it_went_in_unicode_and_long_text_included():
    obj = {"spec": {"toml": 'name = "prix ✓"\n' + "x" * 70_000}, "status": {}, "n": [1, None, True]}
    assert packing.unpack(packing.pack(obj)) == obj
    assert json.loads(packing.text(packing.pack(obj))) == obj


def test_a_placement_packs_to_under_a_third_of_its_json_thanks_to_the_dictionary():
    obj = a_placement(7)
    plain = json.dumps(obj, separators=(",", ":")).encode()
    assert len(packing.pack(obj)) < len(plain) / 3
