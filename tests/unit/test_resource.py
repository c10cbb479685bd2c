import json
import tomllib

import pytest
from chainlink_agent.model import placement
from chainlink_agent.model.resource import (
    ChainlinkBridge,
    ChainlinkJob,
    SecretKeyRef,
    queue_key,
    slim_for_node,
)

from tests.unit.fakes import EXT, NODE, TOML, World

LABELS = {"chain": "sepolia"}  # World's node's


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
    record = placement.record(held)
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


def resource_of(spec, kind="ChainlinkJob", name="j"):
    meta = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "generation": 3, "resourceVersion": "9"}
    return {"apiVersion": "chainlink-k8s.github.io/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}


# Job TOMLs of every way jobs._name reads one: no ID (derived), a hand-set one, an invalid one, one it cannot
# parse (the claims table's answer).
TOMLS = {
    "no ID": TOML,
    "a hand-set ID": f'externalJobID = "{EXT}"\n{TOML}',
    "a hand-set ID in capitals and braces": f'externalJobID = "{{{EXT.upper()}}}"\n{TOML}',
    "a long spelling of a UUID": f'externalJobID = "urn:uuid:{"-" * 5000}{EXT}"\n{TOML}',
    "a 32-digit integer": f"externalJobID = {'1' * 32}\n{TOML}",
    "an ID that is no UUID": f'externalJobID = "not-a-uuid"\n{TOML}',
    "a long value that is no UUID": f'externalJobID = "{"x" * 5000}"\n{TOML}',
    "a boolean": f"externalJobID = false\n{TOML}",
    "a Secret reference": f'externalJobID = "{{{{ secret \\"s\\" \\"k\\" }}}}"\n{TOML}',
    "the key in a table only": f'{TOML}[extra]\nexternalJobID = "{EXT}"\n',
    "the key in a comment only": f"# externalJobID: derived\n{TOML}",
    "a TOML that does not parse and sets the key": f'externalJobID = "{EXT}"\nbroken =\n{TOML}',
    "a TOML that does not parse": f"broken =\n{TOML}",
    "an empty TOML": "",
}


@pytest.mark.parametrize("toml", TOMLS.values(), ids=TOMLS.keys())
def test_an_untargeted_jobs_cached_spec_holds_no_pipeline_text_but_gives_the_same_name(toml):
    w = World()
    # The claims table answers for a TOML _name cannot read: a name of its own tells that answer apart.
    w.jobs._claims.claim(queue_key("chainlinkjobs", "ns", "j"), "claimed")
    full = resource_of({"toml": toml, "targets": {"names": ["node-b"]}})
    cached = slim_for_node(full, NODE, LABELS)
    assert "observationSource" not in json.dumps(cached)
    assert len(cached["spec"]["toml"]) <= 120
    assert w.jobs._name(ChainlinkJob.from_dict(cached)) == w.jobs._name(ChainlinkJob.from_dict(full))


def test_a_short_value_that_is_no_uuid_is_kept_as_written_whatever_its_characters():
    toml = 'externalJobID = "a\\"b\\\\c\\u0001\\u007f\\té\U0001f600"\n'
    cached = slim_for_node(resource_of({"toml": toml}), NODE, LABELS)
    assert tomllib.loads(cached["spec"]["toml"]) == tomllib.loads(toml)


def test_an_untargeted_jobs_hand_set_uuid_is_cached_in_the_form_the_claims_scan_looks_for():
    cached = slim_for_node(resource_of({"toml": f'externalJobID = "{{{EXT.upper()}}}"\n{TOML}'}), NODE, {})
    assert cached["spec"]["toml"] == f'externalJobID = "{EXT}"\n'


@pytest.mark.parametrize("targets", [{"names": [NODE]}, {"selector": {"matchLabels": LABELS}}])
def test_a_job_that_targets_the_node_by_name_or_labels_keeps_its_whole_spec(targets):
    spec = {"toml": TOML, "targets": targets, "suspend": True}
    assert slim_for_node(resource_of(spec), NODE, LABELS)["spec"] == spec


def test_an_untargeted_resource_keeps_its_targets_suspension_and_name_only():
    targets = {"selector": {"matchLabels": {"chain": "mainnet"}}}
    from_config_map = {"tomlFrom": {"configMapKeyRef": {"name": "jobs", "key": "feed"}}}
    job = slim_for_node(resource_of({**from_config_map, "targets": targets, "suspend": True}), NODE, LABELS)
    assert job["spec"] == {**from_config_map, "targets": targets, "suspend": True}
    bridge = resource_of(
        {
            "bridgeName": "Price",
            "url": "http://ea",
            "urlFrom": {"secretKeyRef": {"name": "ea", "key": "url"}},
            "confirmations": 3,
            "minimumContractPayment": "100",
            "targets": targets,
        },
        kind="ChainlinkBridge",
    )
    cached = slim_for_node(bridge, NODE, LABELS)
    assert cached["spec"] == {"bridgeName": "Price", "targets": targets}
    assert ChainlinkBridge.from_dict(cached).bridge_name == "price"


def test_a_resource_whose_targets_cannot_be_read_is_cached_whole_rather_than_stopping_the_watch():
    spec = {"toml": TOML, "targets": {"selector": {"matchExpressions": [{"operator": "In"}]}}}
    assert slim_for_node(resource_of(spec), NODE, LABELS)["spec"] == spec
