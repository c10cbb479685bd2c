"""Bad inputs next to a good one: each is refused at admission (the CRD's schema) or reported in status, and
nothing else is lost. The test prints which is which."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from devkit.harness import Bridges, allow, eventually, synced, toml

from .helpers import entry_in, on_node

pytestmark = pytest.mark.drill
NODE = "node-a"
TARGET = {"targets": {"names": [NODE]}}
DUPLICATE_ID = "0b9f2a8e-4d0c-4f5e-9a51-6f1d3c552b9e"

# name -> (spec, "admission" or (phase, reason) in this node's status entry)
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "invalid-toml": ({"toml": 'type = "webhook\n', **TARGET}, ("Invalid", "InvalidTOML")),
    "unknown-type": (
        {"toml": 'type = "no-such-type"\nschemaVersion = 1\n', **TARGET},
        ("Invalid", "NodeRejected"),
    ),
    "external-id-not-uuid": (
        {"toml": 'externalJobID = "not-a-uuid"\n' + toml("external-id-not-uuid"), **TARGET},
        ("Invalid", "InvalidExternalJobID"),
    ),
    "toml-over-64kib": ({"toml": toml("big") + "#" * 65536, **TARGET}, "admission"),
    "toml-empty": ({"toml": "", **TARGET}, "admission"),
    "toml-and-tomlfrom": (
        {"toml": toml("both"), "tomlFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}, **TARGET},
        "admission",
    ),
    "no-toml-at-all": (dict(TARGET), "admission"),
    "no-targets": ({"toml": toml("no-targets"), "targets": {}}, "admission"),
    "bad-node-name": ({"toml": toml("bad-node"), "targets": {"names": ["Node_A"]}}, "admission"),
    "in-without-values": (
        {"toml": toml("in"), "targets": {"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}},
        "admission",
    ),
}


def _create(jobs, name: str, spec: dict[str, Any]) -> str | None:
    """None if the apiserver took it, else its refusal."""
    try:
        jobs.create(name, **spec)
    except ApiException as exc:
        if exc.status != 422:
            raise
        return str(exc.body)
    return None


def test_bad_inputs_are_refused_or_reported(jobs, start_node, start_agent):
    node = start_node()
    person = node.client()
    start_agent(NODE, node, labels={"chain": "sepolia"}, env=allow(config_maps=("late-cm",)))
    good = jobs.create("good", toml("good"), **TARGET)
    table = []
    for name, (spec, expected) in CASES.items():
        refused = _create(jobs, name, spec)
        if expected == "admission":
            assert refused is not None, f"{name} was admitted"
            table.append((name, "admission (422)", refused.split('"message":"', 1)[-1][:90]))
        else:
            assert refused is None, f"{name} was refused: {refused}"
            entry = entry_in(jobs, name, NODE, *expected)
            table.append((name, f"status {expected[0]}/{expected[1]}", entry["message"][:90]))

    # A selector that matches nothing: admitted, and this node leaves it alone entirely.
    jobs.create("nobody", toml("nobody"), targets={"selector": {"matchLabels": {"chain": "mainnet"}}})
    # A ConfigMap that is missing, then created.
    jobs.create("from-cm", tomlFrom={"configMapKeyRef": {"name": "late-cm", "key": "job.toml"}}, **TARGET)
    entry_in(jobs, "from-cm", NODE, "Pending", "ConfigMapMissing")
    table.append(("configmap-missing", "status Pending/ConfigMapMissing", "then Synced once created"))
    jobs.core.create_namespaced_config_map(
        jobs.namespace, {"metadata": {"name": "late-cm"}, "data": {"job.toml": toml("from-cm")}}
    )
    synced(jobs, "from-cm", NODE)
    time.sleep(3)  # a resync (2 s here) has passed over "nobody"
    assert jobs.entry("nobody", NODE) is None
    assert jobs.placement("nobody", NODE) is None
    table.append(("selector-matches-nothing", "admitted; no entry, no placement", "no job"))

    synced(jobs, "good", NODE)
    names = sorted(job.name or "" for job in (on_node(person) or {}).values())
    assert names == ["from-cm", "good"]  # nothing lost, nothing extra
    assert good["metadata"]["uid"]
    print("\n" + "\n".join(f"{a:<26} {b:<34} {c}" for a, b, c in table))


def _older_holds_the_id(jobs, node, person) -> str:
    """zz-older (created first, but sorting last) and aa-younger set one externalJobID by hand; returns
    the job ID zz-older holds."""
    spec = f'externalJobID = "{DUPLICATE_ID}"\n'
    jobs.create("zz-older", spec + toml("zz-older"), **TARGET)
    older = synced(jobs, "zz-older", NODE)
    time.sleep(1.1)  # creationTimestamp has one-second resolution
    jobs.create("aa-younger", spec + toml("aa-younger"), **TARGET)
    entry = entry_in(jobs, "aa-younger", NODE, "Invalid", "DuplicateExternalJobID")
    assert "zz-older" in entry["message"]
    return str(older["jobID"])


def test_duplicate_external_job_id_older_wins(jobs, start_node, start_agent):
    """Two resources set the same externalJobID by hand: the older keeps the job, the other is Invalid;
    when the older goes, the other ends up with the ID (possibly only after a resync: see the next test)."""
    node = start_node()
    person = node.client()
    start_agent(NODE, node)
    _older_holds_the_id(jobs, node, person)
    time.sleep(3)  # a resync later the older one still holds it
    assert (on_node(person) or {})[DUPLICATE_ID].name == "zz-older"
    assert jobs.entry("zz-older", NODE)["phase"] == "Synced"

    jobs.delete("zz-older")
    eventually(lambda: jobs.cleaned("zz-older"), 30, "zz-older to go")

    def handed_over():
        on = on_node(person) or {}
        entry = jobs.entry("aa-younger", NODE) or {}
        job = on.get(DUPLICATE_ID)
        return len(on) == 1 and job and job.name == "aa-younger" and entry.get("jobID") == job.id

    eventually(handed_over, 30, "aa-younger to hold the job")


def test_handover_keeps_the_new_owners_job(jobs, start_node, start_agent):
    node = start_node()
    person = node.client()
    agent = start_agent(NODE, node, resync_seconds=300)  # no resync to repair it within the test
    older_job = _older_holds_the_id(jobs, node, person)
    jobs.delete("zz-older")
    younger = synced(jobs, "aa-younger", NODE)
    eventually(lambda: jobs.cleaned("zz-older"), 30, "zz-older to go")
    time.sleep(2)
    deleted = [e.message for e in jobs.events("zz-older") if e.reason == "JobDeleted"]
    on = on_node(person) or {}
    assert younger["jobID"] != older_job
    assert DUPLICATE_ID in on, f"zz-older's cleanup deleted aa-younger's job: {deleted}\n{agent.log_tail(20)}"
    assert on[DUPLICATE_ID].id == younger["jobID"]


def test_duplicate_external_job_id_at_cold_start(jobs, start_node, start_agent):
    """Both duplicates exist before the agent starts: the older must still win, and the younger must never
    drive the job, whatever order the agent's workers take them in."""
    node = start_node()
    person = node.client()
    spec = f'externalJobID = "{DUPLICATE_ID}"\n'
    jobs.create("zz-older", spec + toml("zz-older"), **TARGET)
    time.sleep(1.1)
    jobs.create("aa-younger", spec + toml("aa-younger"), **TARGET)
    agent = start_agent(NODE, node)
    entry_in(jobs, "aa-younger", NODE, "Invalid", "DuplicateExternalJobID")
    synced(jobs, "zz-older", NODE)
    assert (on_node(person) or {})[DUPLICATE_ID].name == "zz-older"
    made_for_younger = [e.reason for e in jobs.events("aa-younger") if e.reason.startswith("Job")]
    assert made_for_younger == [], (
        f"the younger resource drove the job: {made_for_younger}\n{agent.log_tail()}"
    )


def test_a_suspended_owners_job_id_and_bridge_name_are_not_squatted(jobs, start_node, start_agent):
    """Issue 28 item 2: while their owners are suspended, younger resources setting the same externalJobID
    and bridgeName make nothing; the owners' come back when they resume and stay when the squatters go."""
    node = start_node()
    person = node.client()
    start_agent(NODE, node)
    bridges = Bridges(jobs.api.api_client, jobs.namespace)
    pinned = f'externalJobID = "{DUPLICATE_ID}"\n'
    jobs.create("owner", pinned + toml("owner"), **TARGET)
    bridges.create("owner", "https://owner.example", bridgeName="price", **TARGET)
    for kind in (jobs, bridges):
        entry_in(kind, "owner", NODE, "Synced")
        kind.patch_spec("owner", {"suspend": True})
        entry_in(kind, "owner", NODE, "Suspended")
    jobs.create("squatter", pinned + toml("squatter"), **TARGET)
    bridges.create("squatter", "https://squatter.example", bridgeName="price", **TARGET)
    entry_in(jobs, "squatter", NODE, "Invalid", "DuplicateExternalJobID")
    entry_in(bridges, "squatter", NODE, "Invalid", "DuplicateBridgeName")
    assert (on_node(person), person.list_bridges()) == ({}, [])
    for kind in (jobs, bridges):
        kind.patch_spec("owner", {"suspend": False})
        entry_in(kind, "owner", NODE, "Synced")
        kind.delete("squatter")
        eventually(partial(kind.cleaned, "squatter"), 30, "the squatter to go")
    assert (on_node(person) or {})[DUPLICATE_ID].name == "owner"
    assert [(b.name, b.url) for b in person.list_bridges()] == [("price", "https://owner.example")]
