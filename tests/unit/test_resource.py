from chainlink_agent.resource import ChainlinkBridge, ChainlinkJob, SecretKeyRef, finalizer_for


def make(targets, **spec):
    return ChainlinkJob.from_dict(
        {
            "metadata": {"name": "j", "namespace": "ns", "uid": "u", "generation": 3, "resourceVersion": "9"},
            "spec": {"toml": "x = 1", "targets": targets, **spec},
            "status": {"nodes": [{"node": "node-a", "jobID": "4", "externalJobID": "e", "specHash": "h"}]},
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


def test_status_entry_of_this_node_only():
    job = make({"names": ["node-a"]})
    entry = job.status_for("node-a")
    assert entry is not None
    assert (entry.job_id, entry.external_job_id, entry.spec_hash) == ("4", "e", "h")
    assert job.status_for("node-b") is None


def test_finalizer_is_per_node():
    assert finalizer_for("node-a") == "nodes.chainlink-k8s.github.io/node-a"


def test_bridge_parsing_defaults_and_lowercases_the_name():
    bridge = ChainlinkBridge.from_dict(
        {
            "metadata": {"name": "Price-EA", "namespace": "ns"},
            "spec": {
                "urlFrom": {"secretKeyRef": {"name": "ea", "key": "url"}},
                "minimumContractPayment": "100",
                "targets": {"names": ["node-a"]},
            },
            "status": {"nodes": [{"node": "node-a", "owned": True, "bridgeName": "price-ea"}]},
        }
    )
    assert (bridge.bridge_name, bridge.url, bridge.url_from, bridge.confirmations) == (
        "price-ea",
        None,
        SecretKeyRef("ea", "url"),
        0,
    )
    assert bridge.key == "chainlinkbridges/ns/Price-EA"
    entry = bridge.status_for("node-a")
    assert entry is not None
    assert (entry.owned, entry.bridge_name) == (True, "price-ea")
