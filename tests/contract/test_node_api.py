"""The node's API as the agent relies on it: every test runs against the double and against a real node
(v2.23.0, built by scripts/tools.sh), each fresh. Where the two may differ by design, the test says so.

Node sources behind each answer are cited in devkit/nodedouble (app.py, state.py, spec.py)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from chainlink_agent.model.nodetypes import EthBalance
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from devkit.cluster.devchain import DevChain
from devkit.harness import eventually, node_client
from devkit.nodedouble.keys import EthKey
from devkit.nodedouble.state import Chain
from devkit.realnode.node import UNREACHABLE_RPC, evm_config, ocr2_config
from devkit.specs import DIRECT_REQUEST, EXPIRED, UNAUTHENTICATED, USES_BRIDGE, details

WEBHOOK = """type = "webhook"
schemaVersion = 1
name = "{name}"
observationSource = \"\"\"
    fetch [type=memo value="1"];
\"\"\"
"""


@pytest.fixture(params=["double", "real"])
def node(request: pytest.FixtureRequest) -> Any:
    """A fresh node: the double in-process, or a real node process on its own database."""
    return request.getfixturevalue("node_double" if request.param == "double" else "real_node")


@contextmanager
def session(node: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30) as client:
        response = client.post("/sessions", json={"email": node.email, "password": node.password})
        assert response.status_code == 200, response.text
        yield client


@pytest.fixture
def client(node: Any) -> Iterator[httpx.Client]:
    with session(node) as logged_in:
        yield logged_in


def create(client: httpx.Client, toml: str) -> dict[str, Any]:
    response = client.post("/v2/jobs", json={"toml": toml})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def bridge(client: httpx.Client, name: str, url: str = "https://ea.example") -> httpx.Response:
    return client.post("/v2/bridge_types", json={"name": name, "url": url})


# Sessions ---------------------------------------------------------------------------------------


def test_login_sets_the_session_cookie_and_v2_needs_it(node: Any) -> None:
    credentials = {"email": node.email.upper(), "password": node.password}  # emails compare lowercased
    response = httpx.post(f"{node.url}/sessions", json=credentials)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.json() == {
        "data": {"type": "session", "id": "sessionID", "attributes": {"authenticated": True}}
    }
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("clsession=")
    for attribute in ("Max-Age=2592000", "HttpOnly", "SameSite=Strict"):
        assert attribute in cookie
    assert "Path=" not in cookie
    assert "Secure" not in cookie  # WebServer.SecureCookies = false, as the chart and the agent need
    without = httpx.get(f"{node.url}/v2/jobs")
    assert (without.status_code, without.json()) == (401, UNAUTHENTICATED)


def test_wrong_password_is_401(node: Any) -> None:
    response = httpx.post(f"{node.url}/sessions", json={"email": node.email, "password": "wrong"})
    assert (response.status_code, details(response)) == (401, ["Invalid password"])
    assert "set-cookie" not in response.headers


def test_an_ended_session_is_401_expired(client: httpx.Client) -> None:
    response = client.delete("/sessions")
    assert response.status_code == 200
    assert response.json()["data"]["attributes"] == {"authenticated": False}
    again = client.get("/v2/jobs")
    assert (again.status_code, again.json()) == (401, EXPIRED)


def test_sixth_login_in_twenty_seconds_is_429(node: Any) -> None:
    credentials = {"email": node.email, "password": "wrong"}
    statuses = [httpx.post(f"{node.url}/sessions", json=credentials).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    refused = httpx.post(f"{node.url}/sessions", json=credentials)
    assert (refused.status_code, refused.text) == (429, "Limit exceeded")
    assert refused.headers["x-ratelimit-limit"] == "5"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) >= int(time.time())


def test_health_and_readyz_need_no_session(node: Any) -> None:
    health = httpx.get(f"{node.url}/health")
    # 200 when every check passes, 207 when one fails (health_controller.go): never an error code.
    assert health.status_code in (200, 207)
    checks = health.json()["data"]
    assert {check["type"] for check in checks} == {"checks"}
    # The agent's ChainlinkNode counts checks by name and status (presenters/check.go).
    assert {check["attributes"]["status"] for check in checks} <= {"passing", "failing"}
    assert all(check["attributes"]["name"] for check in checks)
    ready = httpx.get(f"{node.url}/readyz")
    assert (ready.status_code, ready.content) == (200, b"")


# Jobs -------------------------------------------------------------------------------------------


def test_create_answers_200_with_a_generated_external_job_id(client: httpx.Client) -> None:
    data = create(client, WEBHOOK.format(name="w"))
    assert data["type"] == "jobs"
    assert data["id"].isdigit()
    attributes = data["attributes"]
    assert (attributes["name"], attributes["type"], attributes["schemaVersion"]) == ("w", "webhook", 1)
    assert uuid.UUID(attributes["externalJobID"]).version == 4
    assert attributes["webhookSpec"] is not None


def test_show_takes_the_job_id_or_the_external_job_id(client: httpx.Client) -> None:
    data = create(client, WEBHOOK.format(name="w"))
    by_id = client.get(f"/v2/jobs/{data['id']}")
    by_external_id = client.get(f"/v2/jobs/{data['attributes']['externalJobID']}")
    assert by_id.status_code == by_external_id.status_code == 200
    assert by_id.json()["data"]["id"] == by_external_id.json()["data"]["id"] == data["id"]
    missing = client.get(f"/v2/jobs/{uuid.uuid4()}")
    assert (missing.status_code, details(missing)) == (404, ["job not found"])
    bad = client.get("/v2/jobs/abc")
    assert (bad.status_code, details(bad)) == (422, ['strconv.ParseInt: parsing "abc": invalid syntax'])


def test_duplicates_are_500_with_the_constraint_and_use_up_a_job_id(client: httpx.Client) -> None:
    external = uuid.uuid4()
    first = create(client, f'externalJobID = "{external}"\n' + WEBHOOK.format(name="a"))
    same_id = client.post(
        "/v2/jobs", json={"toml": f'externalJobID = "{external}"\n' + WEBHOOK.format(name="b")}
    )
    assert same_id.status_code == 500
    assert details(same_id) == [
        "CreateJobFailed: failed to insert job: ERROR: duplicate key value violates unique constraint"
        ' "external_job_id_uniq" (SQLSTATE 23505)'
    ]
    same_name = client.post("/v2/jobs", json={"toml": WEBHOOK.format(name="a")})
    assert same_name.status_code == 500
    assert 'unique constraint "idx_jobs_name"' in details(same_name)[0]
    assert int(create(client, WEBHOOK.format(name="c"))["id"]) == int(first["id"]) + 3


@pytest.mark.parametrize(
    ("toml", "detail"),
    [
        ('type = "webhook"\nschemaVersion = ', "failed to parse TOML: "),
        ('type = "nope"\nschemaVersion = 1', "failed to parse TOML: invalid job type"),
        ("schemaVersion = 1", "failed to parse TOML: invalid job type"),
        ('type = "cron"\nschemaVersion = 2', "failed to parse TOML: invalid schema version"),
    ],
)
def test_invalid_specs_are_422(client: httpx.Client, toml: str, detail: str) -> None:
    response = client.post("/v2/jobs", json={"toml": toml})
    assert response.status_code == 422
    assert details(response)[0].startswith(detail)


def test_a_missing_bridge_is_500(client: httpx.Client) -> None:
    response = client.post("/v2/jobs", json={"toml": USES_BRIDGE.format(name="j", bridge="Absent")})
    assert (response.status_code, details(response)) == (
        500,
        ["not all bridges exist, asked for [absent], exists []"],
    )


def test_put_replaces_the_job_under_the_same_id(client: httpx.Client) -> None:
    old = create(client, WEBHOOK.format(name="old"))
    response = client.put(f"/v2/jobs/{old['id']}", json={"toml": WEBHOOK.format(name="new")})
    assert response.status_code == 200
    new = response.json()["data"]
    assert (new["id"], new["attributes"]["name"]) == (old["id"], "new")
    # Without externalJobID in the TOML the recreated job gets a fresh one (the agent always pins it).
    assert new["attributes"]["externalJobID"] != old["attributes"]["externalJobID"]
    pinned = f'externalJobID = "{uuid.uuid4()}"\n'
    kept = client.put(f"/v2/jobs/{old['id']}", json={"toml": pinned + WEBHOOK.format(name="new")})
    assert kept.json()["data"]["attributes"]["externalJobID"] == pinned.split('"')[1]
    missing = client.put("/v2/jobs/424242", json={"toml": WEBHOOK.format(name="x")})
    assert missing.status_code == 404
    assert details(missing) == [
        "failed to update job: job 424242 not found: findJob failed: failed to load job:"
        " sql: no rows in result set"
    ]


def test_delete_answers_204_then_404(client: httpx.Client) -> None:
    job_id = create(client, WEBHOOK.format(name="w"))["id"]
    response = client.delete(f"/v2/jobs/{job_id}")
    assert (response.status_code, response.content) == (204, b"")
    again = client.delete(f"/v2/jobs/{job_id}")
    assert (again.status_code, details(again)) == (404, ["JobSpec not found"])
    assert client.get(f"/v2/jobs/{job_id}").status_code == 404


def test_list_pages_newest_first(client: httpx.Client) -> None:
    ids = [create(client, WEBHOOK.format(name=name))["id"] for name in ("a", "b", "c")]
    first = client.get("/v2/jobs", params={"size": 2}).json()
    assert [job["id"] for job in first["data"]] == ids[:0:-1]
    assert first["meta"] == {"count": 3}
    assert first["links"] == {"next": "/v2/jobs?page=2&size=2"}
    second = client.get("/v2/jobs", params={"size": 2, "page": 2}).json()
    assert [job["id"] for job in second["data"]] == ids[:1]
    assert second["links"] == {"prev": "/v2/jobs?page=1&size=2"}
    assert len(client.get("/v2/jobs").json()["data"]) == 3


OCR2 = """type = "offchainreporting2"
schemaVersion = 1
name = "{name}"
relay = "evm"
pluginType = "median"
contractID = "0x0000000000000000000000000000000000000001"
ocrKeyBundleID = "{bundle}"
transmitterID = "{transmitter}"
{bootstrappers}
observationSource = \"\"\"
    one [type=memo value="1"];
\"\"\"
[relayConfig]
chainID = 1337
[pluginConfig]
juelsPerFeeCoinSource = \"\"\"
    one [type=memo value="1"];
\"\"\"
"""


@pytest.fixture(params=["double", "real"])
def evm_client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """A node with EVM chain 1337, the double's, and OCR2 on."""
    if request.param == "double":
        with session(request.getfixturevalue("node_double")) as logged_in:
            yield logged_in
        return
    node = request.getfixturevalue("real_nodes").start("ocr2", ocr2_config("1337"))
    try:
        with session(node) as logged_in:
            yield logged_in
    finally:
        node.stop()


def test_an_ocr2_job_without_bootstrappers_is_500_yet_stays(evm_client: httpx.Client) -> None:
    """The node commits the job, then fails to make its services (job/spawner.go, ocr2/delegate.go): the
    agent must recheck after a 500, not assume nothing was made."""
    bundle = next(
        k["id"]
        for k in evm_client.get("/v2/keys/ocr2").json()["data"]
        if k["attributes"]["chainType"] == "evm"
    )
    transmitter = next(
        k["attributes"]["address"]
        for k in evm_client.get("/v2/keys/eth").json()["data"]
        if k["attributes"]["evmChainID"] == "1337"
    )
    spec = {"bundle": bundle, "transmitter": transmitter}
    refused = evm_client.post("/v2/jobs", json={"toml": OCR2.format(name="lonely", bootstrappers="", **spec)})
    assert refused.status_code == 500
    (detail,) = details(refused)
    assert re.fullmatch(r"failed to create services for job: \d+: no bootstrappers found", detail), detail
    assert [j["attributes"]["name"] for j in evm_client.get("/v2/jobs").json()["data"]] == ["lonely"]
    peers = 'p2pv2Bootstrappers = ["12D3KooWBFJeqnBYFXeCr1qAS5ruziyxFfr2ETX7FC9qPKRHrUKP@127.0.0.1:1"]'
    made = create(evm_client, OCR2.format(name="feed", bootstrappers=peers, **spec))
    assert made["attributes"]["offChainReporting2OracleSpec"]["ocrKeyBundleID"] == bundle


def test_a_job_on_a_chain_the_node_lacks_is_500_yet_stays_and_a_put_of_it_is_500_again(
    evm_client: httpx.Client,
) -> None:
    """Validation leaves the chain alone (web/jobs_controller.go validateJobSpec ->
    directrequest.ValidatedDirectRequestSpec); the job is committed, then directrequest/delegate.go
    ServicesForSpec fails at legacyChains.Get (job/spawner.go CreateJob -> StartService). A PUT of the
    same spec (Update: DeleteJob, then AddJobV2 under the same ID) gets the same answer: sending it again
    fixes nothing."""
    toml = DIRECT_REQUEST.format(name="elsewhere", chain="999")
    refused = evm_client.post("/v2/jobs", json={"toml": toml})
    assert refused.status_code == 500
    (detail,) = details(refused)
    held = re.fullmatch(r"failed to create services for job: (\d+): chain id does not exist: 999", detail)
    assert held, detail
    assert [j["id"] for j in evm_client.get("/v2/jobs").json()["data"]] == [held[1]]
    again = evm_client.put(f"/v2/jobs/{held[1]}", json={"toml": toml})
    assert (again.status_code, details(again)) == (500, [detail])
    assert [j["id"] for j in evm_client.get("/v2/jobs").json()["data"]] == [held[1]]
    create(evm_client, DIRECT_REQUEST.format(name="here", chain="1337"))


# Bridges ----------------------------------------------------------------------------------------


def test_bridge_lifecycle(client: httpx.Client) -> None:
    created = client.post(
        "/v2/bridge_types", json={"name": "Price", "url": "https://ea.example", "confirmations": 2}
    )
    assert created.status_code == 200
    data = created.json()["data"]
    assert (data["type"], data["id"], data["attributes"]["name"]) == ("bridges", "price", "price")
    assert data["attributes"]["confirmations"] == 2
    assert data["attributes"]["incomingToken"]  # shown once, at creation
    listed = client.get("/v2/bridge_types").json()
    assert (listed["meta"], [b["id"] for b in listed["data"]]) == ({"count": 1}, ["price"])
    duplicate = bridge(client, "price")
    assert (duplicate.status_code, details(duplicate)) == (400, ["Bridge Type price already exists"])
    patched = client.patch("/v2/bridge_types/price", json={"name": "price", "url": "https://other.example"})
    assert patched.status_code == 200
    shown = client.get("/v2/bridge_types/price").json()["data"]
    assert shown["attributes"]["url"] == "https://other.example"
    assert "incomingToken" not in shown["attributes"]
    deleted = client.delete("/v2/bridge_types/price")
    assert (deleted.status_code, deleted.json()["data"]["id"]) == (200, "price")
    gone = client.get("/v2/bridge_types/price")
    assert (gone.status_code, details(gone)) == (404, ["bridge not found"])


def test_a_bridge_a_job_uses_cannot_be_deleted(client: httpx.Client) -> None:
    assert bridge(client, "b").status_code == 200
    job_id = create(client, USES_BRIDGE.format(name="j", bridge="b"))["id"]
    response = client.delete("/v2/bridge_types/b")
    assert (response.status_code, details(response)) == (
        409,
        [f"can't remove the bridge because jobs [{job_id}] are associated with it"],
    )


# Keys -------------------------------------------------------------------------------------------


def test_p2p_key_has_the_presenters_shape(client: httpx.Client) -> None:
    p2p = client.get("/v2/keys/p2p").json()["data"][0]
    assert p2p["type"] == "encryptedP2PKeys"
    assert p2p["attributes"]["peerId"].startswith("p2p_12D3KooW")
    assert p2p["id"] in (p2p["attributes"]["peerId"], p2p["attributes"]["peerId"].removeprefix("p2p_"))


def test_build_info_is_plain_json_with_the_version(client: httpx.Client) -> None:
    # build_info_controller.go Show: c.JSON, not JSON:API; the real lane's build stamps static.Version.
    response = client.get("/v2/build_info")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "2.23.0"
    assert isinstance(body["commitSHA"], str)
    assert body["commitSHA"]


def test_the_node_has_a_csa_key_from_its_first_start(client: httpx.Client) -> None:
    # shell_local.go RunNode: CSA().EnsureKey; presenters/csa_key.go: the hex key as ID, "csa_" + it.
    [csa] = client.get("/v2/keys/csa").json()["data"]
    assert csa["type"] == "csaKeys"
    assert csa["attributes"]["publicKey"] == "csa_" + csa["id"]
    assert re.fullmatch(r"[0-9a-f]{64}", csa["id"])


def test_ocr2_bundles_show_their_public_parts_with_chain_prefixes(evm_client: httpx.Client) -> None:
    # presenters/ocr_keys.go NewOCR2KeysBundleResource: "ocr2on_<chain>_", "ocr2off_<chain>_",
    # "ocr2cfg_<chain>_"; what the DON view strips.
    bundles = evm_client.get("/v2/keys/ocr2").json()["data"]
    evm = [b["attributes"] for b in bundles if b["attributes"]["chainType"] == "evm"]
    assert evm
    for part, prefix in (
        ("onchainPublicKey", "ocr2on_evm_"),
        ("offchainPublicKey", "ocr2off_evm_"),
        ("configPublicKey", "ocr2cfg_evm_"),
    ):
        assert re.fullmatch(prefix + "[0-9a-f]+", evm[0][part]), (part, evm[0][part])


def test_an_exported_ocr2_bundle_is_imported_back(client: httpx.Client) -> None:
    made = client.post("/v2/keys/ocr2/evm")
    assert made.status_code == 200
    bundle = made.json()["data"]["id"]
    exported = client.post(f"/v2/keys/ocr2/export/{bundle}", params={"newpassword": "exp0rt-Pass-123-XYZ"})
    assert exported.status_code == 200
    assert client.delete(f"/v2/keys/ocr2/{bundle}").status_code == 200
    wrong = client.post("/v2/keys/ocr2/import", params={"oldpassword": "wrong"}, content=exported.content)
    assert wrong.status_code == 500
    imported = client.post(
        "/v2/keys/ocr2/import", params={"oldpassword": "exp0rt-Pass-123-XYZ"}, content=exported.content
    )
    assert (imported.status_code, imported.json()["data"]["id"]) == (200, bundle)
    assert bundle in [k["id"] for k in client.get("/v2/keys/ocr2").json()["data"]]


# Chains -----------------------------------------------------------------------------------------

DEV_CHAIN, DOWN_CHAIN, GARBAGE_CHAIN = "1337", "5", "6"
FUNDS = 10**18
# Chain 1337 has an RPC node on the dev chain and an unreachable one, chain 5 an unreachable one only and no
# ETH key, chain 6 one that answers anything with garbage (not JSON-RPC).
RPC_STATES = {
    (DEV_CHAIN, "dev-0"): "Alive",
    (DEV_CHAIN, "dev-1"): "Unreachable",
    (DOWN_CHAIN, "down-0"): "Unreachable",
    (GARBAGE_CHAIN, "garbage-0"): "Unreachable",
}
# RPC nodes' names and URLs are unique across chains (the node refuses its config otherwise).
UNREACHABLE_TOO = (f"{UNREACHABLE_RPC[0]}/{DOWN_CHAIN}", f"{UNREACHABLE_RPC[1]}/{DOWN_CHAIN}")


@pytest.fixture(params=["double", "real"])
def chains_node(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """A node with the three chains of RPC_STATES, and the address of its key on the dev chain, funded."""
    if request.param == "double":
        double = request.getfixturevalue("node_double")
        state = double.state
        rpcs: dict[str, dict[str, str]] = {}
        for (chain, name), rpc_state in RPC_STATES.items():
            rpcs.setdefault(chain, {})[name] = rpc_state
        state.chains = {chain: Chain(chain, nodes) for chain, nodes in rpcs.items()}
        # As the real node makes at its start: a key per chain (here the garbage chain's; chain 5's is
        # deleted on the real node).
        state.eth_keys.append(EthKey("0x" + "66" * 20, GARBAGE_CHAIN, datetime.now(UTC)))
        state.balances[state.eth_keys[0].address] = FUNDS
        yield double, state.eth_keys[0].address
        return
    dev_chain: DevChain = request.getfixturevalue("dev_chain")
    garbage: HTTPServer = request.getfixturevalue("httpserver")
    garbage.expect_request(re.compile(".*")).respond_with_data("<html>no JSON-RPC here</html>")
    garbage_url = garbage.url_for("/")
    assert str(dev_chain.chain_id) == DEV_CHAIN
    config = (
        evm_config(DEV_CHAIN, (dev_chain.ws_url, dev_chain.http_url), UNREACHABLE_RPC, name="dev")
        + evm_config(DOWN_CHAIN, UNREACHABLE_TOO, name="down")
        + evm_config(GARBAGE_CHAIN, (garbage_url.replace("http", "ws", 1), garbage_url), name="garbage")
    )
    node = request.getfixturevalue("real_nodes").start("chains", config)
    try:
        with session(node) as client:
            keys = {k["attributes"]["evmChainID"]: k["id"] for k in client.get("/v2/keys/eth").json()["data"]}
            assert sorted(keys) == sorted({DEV_CHAIN, DOWN_CHAIN, GARBAGE_CHAIN})  # one made per chain
            address = keys[DOWN_CHAIN].split("/")[1]
            # Not DELETE /v2/keys/eth/:keyID: its handler reads c.Param("address"), which only the /evm route
            # names (core/web/router.go, eth_keys_controller.go Delete).
            client.delete(f"/v2/keys/evm/{address}").raise_for_status()
        funded = keys[DEV_CHAIN].split("/")[1]
        dev_chain.fund(funded, FUNDS)
        yield node, funded
    finally:
        node.stop()


def test_a_node_lists_each_chains_rpc_nodes_key_balances_and_head_as_the_agent_reads_them(
    chains_node: tuple[Any, str],
) -> None:
    node, address = chains_node
    with closing(node_client(node.url, node.email, node.password)) as agent:
        # The node dials its RPC nodes after its start and counts a head on the dev chain within seconds.
        eventually(
            lambda: {(r.chain_id, r.name): r.state for r in agent.rpc_nodes()} == RPC_STATES,
            30,
            f"the RPC nodes' states {RPC_STATES}",
        )
        with session(node) as client:
            listed = client.get("/v2/nodes/evm")
            assert listed.status_code == 200
            assert listed.json()["meta"] == {"count": len(RPC_STATES)}
            for item in listed.json()["data"]:
                attributes = item["attributes"]
                assert (item["type"], item["id"]) == ("node", f"{attributes['chainID']}/{attributes['name']}")
                assert sorted(attributes) == ["chainID", "config", "name", "state"]

        def funded() -> list[EthBalance] | None:
            keys = agent.eth_balances()
            return keys if EthBalance(address, DEV_CHAIN, FUNDS) in keys else None

        balances = eventually(funded, 30, "the funded balance")
        # The node asks each key's chain for its balance on every call: null where no RPC node is Alive.
        assert all(k.wei is not None for k in balances if k.evm_chain_id == DEV_CHAIN)
        assert [k.wei for k in balances if k.evm_chain_id == GARBAGE_CHAIN] == [None]
        assert DOWN_CHAIN not in {k.evm_chain_id for k in balances}  # no key there
        heads = eventually(lambda: agent.heads() or None, 30, "a head")
        assert list(heads) == [DEV_CHAIN]  # none on a chain the node never heard from
        assert heads[DEV_CHAIN] >= 1
        # /metrics needs no session and is no rate-limited route (router.go prometheusUse on the engine).
        metrics = httpx.get(f"{node.url}/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "x-ratelimit-limit" not in metrics.headers
        families = text_string_to_metric_families(metrics.text)
        assert next(f for f in families if f.name == "head_tracker_current_head").type == "gauge"


# Rate limit -------------------------------------------------------------------------------------


def test_the_authenticated_rate_limit_is_1000_a_minute_with_its_headers(client: httpx.Client) -> None:
    first = client.get("/v2/jobs", params={"size": 1})
    assert first.headers["x-ratelimit-limit"] == "1000"
    remaining = int(first.headers["x-ratelimit-remaining"])
    for _ in range(remaining):
        client.get("/v2/jobs", params={"size": 1})
    refused = client.get("/v2/jobs", params={"size": 1})
    assert (refused.status_code, refused.text) == (429, "Limit exceeded")
    assert refused.headers["x-ratelimit-remaining"] == "0"
    reset = int(refused.headers["x-ratelimit-reset"])
    assert time.time() - 1 <= reset <= time.time() + 61  # a unix time within the minute's window
