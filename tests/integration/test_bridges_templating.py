"""ChainlinkBridges and per-node templating, with the agent as a real process on the real apiserver bench
against node double processes."""

from __future__ import annotations

import json
import os
import time

import pytest
from chainlink_agent.model.nodetypes import DesiredBridge

from devkit.harness import allow, entry_where, eventually, synced
from devkit.nodedouble import keystore
from devkit.nodedouble.keys import new_ocr2_key, new_ocr_key
from devkit.specs import USES_BRIDGE

SECRET_URL = "https://ea.example/price?token=s3cr3t-adapter-token"
OCR2 = """type = "offchainreporting2"
schemaVersion = 1
name = "{name}"
relay = "evm"
pluginType = "median"
contractID = "0x0000000000000000000000000000000000000001"
ocrKeyBundleID = "{{{{ node.ocr2KeyBundleID "{chain_type}" }}}}"
transmitterID = "{{{{ node.ethAddress "11155111" }}}}"
p2pv2Bootstrappers = ["12D3KooWBFJeqnBYFXeCr1qAS5ruziyxFfr2ETX7FC9qPKRHrUKP@bootstrap.chainlink.svc:6690"]
observationSource = \"\"\"
    price [type=bridge name="price"]
\"\"\"
[relayConfig]
chainID = 11155111
"""


def ocr2_spec(node, job_id):
    return node.api("GET", f"/v2/jobs/{job_id}")["data"]["attributes"]["offChainReporting2OracleSpec"]


def test_job_waits_for_its_bridge_then_goes_live_and_the_url_stays_secret(
    jobs, bridges, start_node, start_agent
):
    node = start_node()
    agent = start_agent("node-a", node, env=allow(secrets=("ea",)))
    jobs.create("feed", USES_BRIDGE.format(name="feed", bridge="price"), targets={"names": ["node-a"]})
    waiting = entry_where(jobs, "feed", "node-a", "Pending", "BridgeMissing")
    assert waiting["message"] == "waiting for bridge price"
    time.sleep(6)  # the job's backoff has grown to seconds: only the bridge's own wake-up is fast
    assert node.stats().get("POST /v2/jobs", 0) == 0
    assert not [e for e in jobs.events("feed") if e.type == "Warning"]

    bridges.secret("ea", {"url": SECRET_URL})
    bridges.create(
        "price",
        urlFrom={"secretKeyRef": {"name": "ea", "key": "url"}},
        confirmations=2,
        minimumContractPayment="100",
        targets={"names": ["node-a"]},
    )
    made = entry_where(bridges, "price", "node-a", "Synced", timeout=15)
    assert (made["owned"], made["bridgeName"]) == (True, "price")
    eventually(lambda: (jobs.entry("feed", "node-a") or {}).get("phase") == "Synced", 4, "the job at once")
    on_node = node.client().find_bridge("price")
    assert on_node is not None
    assert (on_node.url, on_node.confirmations, on_node.minimum_contract_payment) == (SECRET_URL, 2, "100")

    # An edit goes through PATCH; the job keeps running.
    bridges.patch_spec("price", {"confirmations": 5})
    eventually(lambda: node.client().find_bridge("price").confirmations == 5, 30, "the bridge updated")

    # The node refuses to delete a bridge a job uses: the bridge waits, reported in its placement (the
    # resource itself is gone at once), until the job is gone.
    bridges.delete("price")
    entry_where(bridges, "price", "node-a", "Deleting", "BridgeInUse", placed=True)
    jobs.delete("feed")
    eventually(lambda: bridges.cleaned("price"), 60, "the bridge resource to go")
    assert node.client().find_bridge("price") is None

    secret_host = "s3cr3t-adapter-token"
    assert secret_host not in str(bridges.get("price"))
    assert all(secret_host not in (e.message or "") for e in bridges.events("price"))
    assert agent.stop() == 0
    assert secret_host not in agent.log_path.read_text()


@pytest.mark.parametrize("start_node", ["double", "real"], indirect=True)
def test_a_job_created_before_its_bridge_goes_live_once_the_bridge_is_made(
    jobs, bridges, start_node, start_agent
):
    node = start_node()
    start_agent("node-a", node)
    jobs.create("feed", USES_BRIDGE.format(name="feed", bridge="price"), targets={"names": ["node-a"]})
    entry_where(jobs, "feed", "node-a", "Pending", "BridgeMissing")
    bridges.create("price", "https://ea.example", targets={"names": ["node-a"]})
    entry_where(bridges, "price", "node-a", "Synced")
    entry = entry_where(jobs, "feed", "node-a", "Synced")
    assert [job.id for job in node.client().list_jobs()] == [entry["jobID"]]
    jobs.delete("feed")
    bridges.delete("price")
    eventually(lambda: bridges.cleaned("price"), 60, "the bridge resource to go after its job")
    assert node.client().find_bridge("price") is None
    assert node.client().list_jobs() == []


def test_a_bridge_made_by_hand_is_never_touched(bridges, start_node, start_agent):
    node = start_node()
    person = node.client()
    person.create_bridge(DesiredBridge("manual", "https://by-hand.example", 0, None, ""))
    start_agent("node-a", node)
    bridges.create("manual", "https://from-the-resource.example", targets={"names": ["node-a"]})
    refused = entry_where(bridges, "manual", "node-a", "Invalid", "BridgeExists")
    assert refused["message"] == (
        "a bridge named manual already exists on the node and was not made by this resource"
    )
    assert not refused.get("owned")
    bridges.delete("manual")
    eventually(lambda: bridges.cleaned("manual"), 30, "the resource to go")
    assert person.find_bridge("manual").url == "https://by-hand.example"
    assert node.stats().get("PATCH /v2/bridge_types/:BridgeName", 0) == 0
    assert node.stats().get("DELETE /v2/bridge_types/:BridgeName", 0) == 0


def test_one_templated_job_resolves_per_node_and_a_rotated_key_replaces_only_that_nodes_job(
    jobs, bridges, start_node, start_agent
):
    names = ("node-a", "node-b", "node-c")
    nodes = {n: start_node("--key-seed", n, "--evm-chain-id", "11155111") for n in names}
    for name, node in nodes.items():
        start_agent(name, node, labels={"don": "feeds"})
    don = {"selector": {"matchLabels": {"don": "feeds"}}}
    bridges.create("price", "https://ea.example", targets=don)
    jobs.create("ocr", OCR2.format(name="ocr", chain_type="evm"), targets=don)
    jobs.create("solana", OCR2.format(name="solana", chain_type="solana"), targets={"names": ["node-a"]})

    entries = {n: synced(jobs, "ocr", n) for n in names}
    assert len({e["specHash"] for e in entries.values()}) == 3
    for name, node in nodes.items():
        spec = ocr2_spec(node, entries[name]["jobID"])
        bundle = node.api("GET", "/v2/keys/ocr2")["data"][0]["id"]
        address = next(
            k["attributes"]["address"]
            for k in node.api("GET", "/v2/keys/eth")["data"]
            if k["attributes"]["evmChainID"] == "11155111"
        )
        assert (spec["ocrKeyBundleID"], spec["transmitterID"]) == (bundle, address)

    unresolved = entry_where(jobs, "solana", "node-a", "Pending", "UnresolvedReference")
    assert unresolved["message"] == (
        '{{ node.ocr2KeyBundleID "solana" }}: the node has no OCR2 key bundle for chain type solana'
    )

    # Rotate node-b's OCR2 bundle: the next resync sees it, and only node-b's job is replaced.
    node_b = nodes["node-b"]
    old = node_b.api("GET", "/v2/keys/ocr2")["data"][0]["id"]
    new = node_b.api("POST", "/v2/keys/ocr2/evm")["data"]["id"]
    node_b.api("DELETE", f"/v2/keys/ocr2/{old}")
    rotated = synced(jobs, "ocr", "node-b", hash_not=entries["node-b"]["specHash"])
    assert ocr2_spec(node_b, rotated["jobID"])["ocrKeyBundleID"] == new
    assert rotated["jobID"] == entries["node-b"]["jobID"]  # PUT keeps the job's ID
    time.sleep(3)  # another resync: nothing else moves
    for name in ("node-a", "node-c"):
        assert jobs.entry("ocr", name)["specHash"] == entries[name]["specHash"]
        assert nodes[name].stats().get("PUT /v2/jobs/:ID", 0) == 0
    replaced = [e for e in jobs.events("ocr") if e.reason == "JobReplaced"]
    assert [e.message.split(":")[0] for e in replaced] == ["node node-b"]


def test_imported_key_bundles_reach_the_node_and_templates_prefer_them(
    jobs, bridges, start_node, start_agent, tmp_path
):
    """OCR and OCR2 bundles from (mounted) Secrets are imported through the node's API. A wrong password
    holds every job back with the node's reason on /readyz; fixing the file in place is enough. The node's
    own bundle stays, and templates resolve to the imported one."""
    node = start_node("--key-seed", "node-a", "--evm-chain-id", "11155111")
    own = node.api("GET", "/v2/keys/ocr2")["data"][0]["id"]
    ocr2, ocr = new_ocr2_key(os.urandom, "evm"), new_ocr_key(os.urandom)
    files = []
    for key_type, key in (("ocr2", ocr2), ("ocr", ocr)):
        (tmp_path / f"{key_type}.json").write_bytes(keystore.export(key, "pw-right-5d1e"))
        (tmp_path / f"{key_type}.password").write_text("pw-wrong-93ac\n")
        files.append(
            {
                "type": key_type,
                "json": str(tmp_path / f"{key_type}.json"),
                "password": str(tmp_path / f"{key_type}.password"),
            }
        )
    env = {"CHAINLINK_AGENT_IMPORT_KEYS": json.dumps(files)}
    agent = start_agent("node-a", node, env=env, wait_ready=False)
    bridges.create("price", "https://ea.example", targets={"names": ["node-a"]})
    jobs.create("ocr", OCR2.format(name="ocr", chain_type="evm"), targets={"names": ["node-a"]})

    refused = (
        f"503 the node refused the OCR2 key bundle {ocr2.id} from {tmp_path / 'ocr2.json'}: 500: "
        "OCRKeyStore#ImportKey failed to decrypt key: failed to decrypt OCR2 key: could not decrypt key "
        "with given password"
    )
    eventually(lambda: agent.readyz() == refused, 30, "the refusal on /readyz")
    time.sleep(3)
    assert node.stats().get("POST /v2/jobs", 0) == 0
    assert jobs.entry("ocr", "node-a") is None

    for key_type in ("ocr2", "ocr"):
        (tmp_path / f"{key_type}.password").write_text("pw-right-5d1e\n")
    entry = synced(jobs, "ocr", "node-a")
    assert ocr2_spec(node, entry["jobID"])["ocrKeyBundleID"] == ocr2.id
    assert {k["id"] for k in node.api("GET", "/v2/keys/ocr2")["data"]} == {own, ocr2.id}
    assert [k["id"] for k in node.api("GET", "/v2/keys/ocr")["data"]] == [ocr.id]
    assert agent.readyz() == "200 ok"

    imports = {k: v for k, v in node.stats().items() if k.endswith("/import")}
    assert imports["POST /v2/keys/ocr/import"] == 1  # OCR2 comes first: while it was refused, OCR waited
    agent.stop()
    agent.start()
    time.sleep(3)  # a resync or two after the restart: what the node holds is never posted again
    assert {k: v for k, v in node.stats().items() if k.endswith("/import")} == imports
    log = agent.log_path.read_text()
    assert "pw-right" not in log
    assert "pw-wrong" not in log
