from chainlink_agent import placement
from chainlink_agent.resource import ChainlinkBridge, ChainlinkJob, SecretKeyRef


def make(targets, **spec):
    return ChainlinkJob.from_dict(
        {
            "metadata": {"name": "j", "namespace": "ns", "uid": "u", "generation": 3, "resourceVersion": "9"},
            "spec": {"toml": "x = 1", "targets": targets, **spec},
        }
    )


def test_targets_by_name():
    job = make({"names": ["node-a"]})
    assert job.targets("node-a", {})
    assert not job.targets("node-b", {})


def test_targets_by_labels_and_expressions():
    job = make(
        {
            "selector": {
                "matchLabels": {"chain": "sepolia"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["a", "b"]},
                    {"key": "draining", "operator": "DoesNotExist"},
                ],
            }
        }
    )
    assert job.targets("x", {"chain": "sepolia", "tier": "a"})
    assert not job.targets("x", {"chain": "sepolia", "tier": "c"})
    assert not job.targets("x", {"chain": "sepolia", "tier": "a", "draining": "yes"})
    assert not job.targets("x", {"tier": "a"})


def test_not_in_and_exists():
    job = make(
        {
            "selector": {
                "matchExpressions": [
                    {"key": "env", "operator": "NotIn", "values": ["prod"]},
                    {"key": "chain", "operator": "Exists"},
                ]
            }
        }
    )
    assert job.targets("x", {"chain": "c"})
    assert job.targets("x", {"chain": "c", "env": "dev"})
    assert not job.targets("x", {"chain": "c", "env": "prod"})


def test_empty_selector_selects_every_node():
    assert make({"selector": {}}).targets("any", {})


def test_a_placement_reads_back_as_this_nodes_record_and_names_its_resource():
    job = make({"names": ["node-a"]})
    entry = {"phase": "Synced", "jobID": "4", "externalJobID": "e", "specHash": "h"}
    held = placement.body(job, "node-a", entry)
    assert held["metadata"]["name"] == "job.j.node-a"
    assert held["metadata"]["labels"] == {placement.NODE_LABEL: "node-a"}
    assert held["spec"] == {"kind": "ChainlinkJob", "name": "j", "uid": "u", "node": "node-a"}
    record = placement.entry(held)
    assert (record.uid, record.job_id, record.external_job_id, record.spec_hash) == ("u", "4", "e", "h")
    assert placement.resource_key(held) == job.key


def test_placement_names_stay_distinct_and_within_253_characters():
    assert placement.name("ChainlinkBridge", "j", "node-a") == "bridge.j.node-a"
    long_a, long_b = "a" * 250 + "x", "a" * 250 + "y"
    names = {placement.name("ChainlinkJob", n, "node-a") for n in (long_a, long_b)}
    assert len(names) == 2
    assert all(len(n) <= 253 and n.endswith(".node-a") and n.startswith("job.") for n in names)


def test_bridge_parsing_defaults_and_lowercases_the_name():
    bridge = ChainlinkBridge.from_dict(
        {
            "metadata": {"name": "Price-EA", "namespace": "ns"},
            "spec": {
                "urlFrom": {"secretKeyRef": {"name": "ea", "key": "url"}},
                "minimumContractPayment": "100",
                "targets": {"names": ["node-a"]},
            },
        }
    )
    assert (bridge.bridge_name, bridge.url, bridge.url_from, bridge.confirmations) == (
        "price-ea",
        None,
        SecretKeyRef("ea", "url"),
        0,
    )
    assert bridge.key == "chainlinkbridges/ns/Price-EA"
