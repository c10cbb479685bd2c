"""The Chainlink node double answers as the node's source says the node does (see devkit/nodedouble)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.nodedouble import golike
from devkit.nodedouble.fixtures import NodeDouble, NodeDoubleProcess
from devkit.nodedouble.keys import checksum_address, keccak256, new_ocr2_key, new_ocr_key
from devkit.nodedouble.keystore import export
from devkit.specs import EXPIRED, UNAUTHENTICATED, details

WEBHOOK = """
type = "webhook"
schemaVersion = 1
name = "{name}"
observationSource = \"\"\"
fetch [type=http method=GET url="https://example.com"];
\"\"\"
"""
DIRECT_REQUEST = """
type = "directrequest"
schemaVersion = 1
name = "dr"
externalJobID = "{external_job_id}"
contractAddress = "0x613a38AC1659769640aaE063C651F48E0250454C"
evmChainID = "1337"
maxTaskDuration = "90s"
observationSource = \"\"\"
ds [type=bridge name="{bridge}"];
\"\"\"
"""


@pytest.fixture
def client(node_double: NodeDouble) -> Iterator[httpx.Client]:
    """A client logged in to the in-process double."""
    with httpx.Client(base_url=node_double.url) as client:
        response = client.post(
            "/sessions", json={"email": node_double.email, "password": node_double.password}
        )
        assert response.status_code == 200
        yield client


def create(client: httpx.Client, toml: str) -> dict[str, Any]:
    response = client.post("/v2/jobs", json={"toml": toml})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


# Sessions ---------------------------------------------------------------------------------------


def test_v2_without_session_is_401_with_the_node_body(node_double: NodeDouble) -> None:
    response = httpx.get(f"{node_double.url}/v2/jobs")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == UNAUTHENTICATED
    assert httpx.get(f"{node_double.url}/v2/jobs", cookies={"clsession": "forged"}).json() == UNAUTHENTICATED


@pytest.mark.parametrize(
    ("credentials", "detail"),
    [
        ({"email": "someone@else.test", "password": "x"}, "sql: no rows in result set"),
        ({"email": "EMAIL", "password": "wrong"}, "Invalid password"),
    ],
)
def test_wrong_credentials_are_401(node_double: NodeDouble, credentials: dict[str, str], detail: str) -> None:
    credentials = {
        key: node_double.email if value == "EMAIL" else value for key, value in credentials.items()
    }
    response = httpx.post(f"{node_double.url}/sessions", json=credentials)
    assert response.status_code == 401
    assert details(response) == [detail]
    assert "set-cookie" not in response.headers


def test_login_body_that_is_not_json_is_400(node_double: NodeDouble) -> None:
    response = httpx.post(f"{node_double.url}/sessions", content=b"")
    assert response.status_code == 400
    assert details(response) == ["error binding json EOF"]


def test_idle_session_expires(node_double: NodeDouble, client: httpx.Client) -> None:
    node_double.state.session_timeout = 0.05
    time.sleep(0.1)
    assert client.get("/v2/jobs").json() == EXPIRED


def test_health_and_readyz_need_no_session(node_double: NodeDouble) -> None:
    health = httpx.get(f"{node_double.url}/health")
    assert health.status_code == 200
    assert {check["attributes"]["status"] for check in health.json()["data"]} == {"passing"}
    ready = httpx.get(f"{node_double.url}/readyz")
    assert (ready.status_code, ready.content) == (200, b"")
    assert httpx.get(f"{node_double.url}/readyz?full").json()["data"][0]["type"] == "checks"


def test_unknown_route_is_a_bare_404(client: httpx.Client) -> None:
    response = client.get("/v2/jobs/1/nothing")
    assert (response.status_code, response.content) == (404, b"")


# Jobs -------------------------------------------------------------------------------------------


def test_create_answers_200_with_the_job_resource(client: httpx.Client) -> None:
    client.post("/v2/bridge_types", json={"name": "fetcher", "url": "https://ea.example"})
    external_job_id = str(uuid.uuid4())
    data = create(client, DIRECT_REQUEST.format(external_job_id=external_job_id, bridge="Fetcher"))
    assert (data["type"], data["id"]) == ("jobs", "1")
    attributes = data["attributes"]
    assert attributes["name"] == "dr"
    assert attributes["type"] == "directrequest"
    assert attributes["schemaVersion"] == 1
    assert attributes["externalJobID"] == external_job_id
    assert attributes["maxTaskDuration"] == "1m30s"  # a Go time.Duration, normalised
    assert attributes["pipelineSpec"] == {
        "id": 1,
        "jobID": 1,
        "dotDagSource": 'ds [type=bridge name="Fetcher"];\n',
    }
    spec = attributes["directRequestSpec"]
    assert spec["contractAddress"] == "0x613a38AC1659769640aaE063C651F48E0250454C"
    assert (spec["evmChainID"], spec["initiator"], spec["minIncomingConfirmations"]) == (
        "1337",
        "runlog",
        None,
    )
    assert attributes["webhookSpec"] is None
    assert attributes["errors"] == []


def test_duplicate_external_job_id_is_500_and_uses_up_a_job_id(client: httpx.Client) -> None:
    client.post("/v2/bridge_types", json={"name": "b", "url": "https://ea.example"})
    toml = DIRECT_REQUEST.format(external_job_id=uuid.uuid4(), bridge="b")
    create(client, toml)
    response = client.post("/v2/jobs", json={"toml": toml.replace('name = "dr"', 'name = "dr2"')})
    assert response.status_code == 500
    assert details(response) == [
        "CreateJobFailed: failed to insert job: ERROR: duplicate key value violates unique constraint"
        ' "external_job_id_uniq" (SQLSTATE 23505)'
    ]
    assert create(client, WEBHOOK.format(name="w"))["id"] == "3"  # the failed INSERT drew id 2


@pytest.mark.parametrize(
    ("toml", "status", "detail"),
    [
        ('type = "webhook"\nschemaVersion = ', 422, "failed to parse TOML: "),
        ('type = "nope"\nschemaVersion = 1', 422, "failed to parse TOML: invalid job type"),
        ("schemaVersion = 1", 422, "failed to parse TOML: invalid job type"),
        ('type = "cron"\nschemaVersion = 2', 422, "failed to parse TOML: invalid schema version"),
        (
            'type = "cron"\nschemaVersion = 1\nschedule = "CRON_TZ=UTC * * * * *"',
            422,
            "failed to parse TOML: pipeline",
        ),
        (
            'type = "bootstrap"\nschemaVersion = 1\nexternalJobID = "123"',
            422,
            "failed to parse TOML: invalid UUID length: 3",
        ),
        (
            'type = "bootstrap"\nschemaVersion = 1\nmaxTaskDuration = "5"',
            422,
            "failed to parse TOML: time: missing unit",
        ),
        ('type = "bootstrap"\nschemaVersion = 1\nblockchainTimeout = "x"', 400, 'time: invalid duration "x"'),
    ],
)
def test_invalid_specs_are_refused_as_the_node_does(
    client: httpx.Client, toml: str, status: int, detail: str
) -> None:
    response = client.post("/v2/jobs", json={"toml": toml})
    assert response.status_code == status
    assert details(response)[0].startswith(detail)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "EOF"),
        (
            b'{"toml": 5}',
            "json: cannot unmarshal number into Go struct field CreateJobRequest.toml of type string",
        ),
        (b"[]", "json: cannot unmarshal array into Go value of type web.CreateJobRequest"),
    ],
)
def test_request_body_that_does_not_bind_is_422(client: httpx.Client, body: bytes, detail: str) -> None:
    response = client.post("/v2/jobs", content=body)
    assert (response.status_code, details(response)) == (422, [detail])


def test_put_replaces_the_job_under_the_same_id(client: httpx.Client) -> None:
    old = create(client, WEBHOOK.format(name="old"))
    response = client.put(f"/v2/jobs/{old['id']}", json={"toml": WEBHOOK.format(name="new")})
    assert response.status_code == 200
    new = response.json()["data"]
    assert new["id"] == old["id"]
    assert new["attributes"]["name"] == "new"
    # Without externalJobID in the TOML the recreated job gets a fresh one.
    assert new["attributes"]["externalJobID"] != old["attributes"]["externalJobID"]
    assert new["attributes"]["pipelineSpec"]["id"] == old["attributes"]["pipelineSpec"]["id"] + 1
    assert client.get("/v2/jobs").json()["meta"]["count"] == 1


def test_put_keeps_the_external_job_id_the_toml_gives(client: httpx.Client) -> None:
    client.post("/v2/bridge_types", json={"name": "b", "url": "https://ea.example"})
    toml = DIRECT_REQUEST.format(external_job_id=uuid.uuid4(), bridge="b")
    job_id = create(client, toml)["id"]
    response = client.put(f"/v2/jobs/{job_id}", json={"toml": toml.replace('"90s"', '"2m"')})
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["maxTaskDuration"] == "2m0s"


def test_put_errors(client: httpx.Client) -> None:
    job_id = create(client, WEBHOOK.format(name="w"))["id"]
    # The new TOML is validated before anything is deleted.
    invalid = client.put(f"/v2/jobs/{job_id}", json={"toml": 'type = "nope"'})
    assert (invalid.status_code, client.get(f"/v2/jobs/{job_id}").status_code) == (422, 200)
    missing = client.put("/v2/jobs/42", json={"toml": WEBHOOK.format(name="x")})
    assert missing.status_code == 404
    assert details(missing) == [
        "failed to update job: job 42 not found: findJob failed: failed to load job:"
        " sql: no rows in result set"
    ]
    # Not atomic: when the new spec cannot be added, the old job is already gone.
    broken = WEBHOOK.format(name="w").replace("type=http", "type=bridge name=absent")
    assert client.put(f"/v2/jobs/{job_id}", json={"toml": broken}).status_code == 500
    assert client.get(f"/v2/jobs/{job_id}").status_code == 404


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("size=0", "invalid size param, error: %!w(<nil>)"),
        ("size=abc", 'invalid size param, error: strconv.Atoi: parsing "abc": invalid syntax'),
        ("page=-1", "invalid page param, error: %!w(<nil>)"),
    ],
)
def test_bad_pagination_is_422(client: httpx.Client, query: str, detail: str) -> None:
    response = client.get(f"/v2/jobs?{query}")
    assert (response.status_code, details(response)) == (422, [detail])


def test_ocr2_key_bundle_must_exist(node_double: NodeDouble, client: httpx.Client) -> None:
    toml = 'type = "offchainreporting2"\nschemaVersion = 1\nrelay = "evm"\nocrKeyBundleID = "{}"\n'
    toml += 'p2pv2Bootstrappers = ["12D3KooWBFJeqnBYFXeCr1qAS5ruziyxFfr2ETX7FC9qPKRHrUKP@127.0.0.1:1"]\n'
    response = client.post("/v2/jobs", json={"toml": toml.format("f00")})
    assert response.status_code == 400
    assert details(response) == ['CreateJobFailed: no key bundle with id: "f00": no such key bundle exists']
    bundle = node_double.state.ocr2_keys[0].id
    attributes = create(client, toml.format(bundle))["attributes"]
    assert attributes["offChainReporting2OracleSpec"]["ocrKeyBundleID"] == bundle


# Bridges and keys -------------------------------------------------------------------------------


def test_bridge_validation(client: httpx.Client) -> None:
    invalid = client.post("/v2/bridge_types", json={"name": "a b", "url": "x"})
    assert (invalid.status_code, details(invalid)) == (
        422,
        ["task type validation: name a b contains invalid characters"],
    )
    empty = client.post("/v2/bridge_types", json={"minimumContractPayment": "-1"})
    assert empty.status_code == 400
    assert details(empty) == [
        "No name specified",
        "URL must be present",
        "MinimumContractPayment must be positive",
    ]


def test_bridge_used_by_a_job_cannot_be_deleted(client: httpx.Client) -> None:
    client.post("/v2/bridge_types", json={"name": "b", "url": "https://ea.example"})
    create(client, DIRECT_REQUEST.format(external_job_id=uuid.uuid4(), bridge="b"))
    response = client.delete("/v2/bridge_types/b")
    assert (response.status_code, details(response)) == (
        409,
        ["can't remove the bridge because jobs [1] are associated with it"],
    )


def test_keys_have_the_presenters_shapes(node_double: NodeDouble, client: httpx.Client) -> None:
    eth = client.get("/v2/keys/eth").json()["data"]
    assert len(eth) == 2
    address = eth[0]["attributes"]["address"]
    assert eth[0]["type"] == "eTHKeys"
    assert eth[0]["id"] == f"1337/{address}"
    assert checksum_address(bytes.fromhex(address[2:])) == address
    p2p = client.get("/v2/keys/p2p").json()["data"][0]
    assert p2p["type"] == "encryptedP2PKeys"
    assert p2p["id"] == p2p["attributes"]["peerId"]
    assert p2p["id"].startswith("p2p_12D3KooW")
    ocr2 = client.get("/v2/keys/ocr2").json()["data"][0]
    assert (ocr2["type"], ocr2["id"]) == ("keyV2s", node_double.state.ocr2_keys[0].id)
    assert ocr2["attributes"]["onchainPublicKey"].startswith("ocr2on_evm_")


def test_ocr2_bundles_are_created_and_deleted_as_the_controller_does(client: httpx.Client) -> None:
    made = client.post("/v2/keys/ocr2/evm")
    assert made.status_code == 200
    bundle = made.json()["data"]
    assert (bundle["type"], bundle["attributes"]["chainType"]) == ("keyV2s", "evm")
    assert bundle["id"] in [k["id"] for k in client.get("/v2/keys/ocr2").json()["data"]]
    assert client.post("/v2/keys/ocr2/nosuchchain").status_code == 400
    deleted = client.delete(f"/v2/keys/ocr2/{bundle['id']}")
    assert (deleted.status_code, deleted.json()["data"]["id"]) == (200, bundle["id"])
    assert client.delete(f"/v2/keys/ocr2/{bundle['id']}").status_code == 404
    assert client.get("/v2/keys/ocr").json() == {"data": []}


def test_keccak_and_eip55_match_their_reference_vectors() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    raw = bytes.fromhex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
    assert checksum_address(raw) == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


@pytest.mark.parametrize(
    ("text", "rendered"),
    [("90s", "1m30s"), ("1h", "1h0m0s"), ("1.5s", "1.5s"), ("500ms", "500ms"), ("0", "0s")],
)
def test_durations_render_as_go_does(text: str, rendered: str) -> None:
    assert golike.normalise_duration(text) == rendered


# Double-only controls ---------------------------------------------------------------------------


def test_stats_count_calls_per_route_pattern(node_double: NodeDouble, client: httpx.Client) -> None:
    client.get("/v2/jobs/7")
    client.get("/v2/jobs/8")
    stats = httpx.get(f"{node_double.url}/__double/stats").json()
    assert stats == node_double.stats() == {"POST /sessions": 1, "GET /v2/jobs/:ID": 2}


def test_status_fault_answers_for_the_next_n_calls(node_double: NodeDouble, client: httpx.Client) -> None:
    node_double.inject({"route": "POST /v2/jobs", "action": "status", "status": 503, "count": 2})
    statuses = [
        client.post("/v2/jobs", json={"toml": WEBHOOK.format(name=f"w{i}")}).status_code for i in range(3)
    ]
    assert statuses == [503, 503, 200]
    assert client.get("/v2/jobs").json()["meta"]["count"] == 1


def test_drop_fault_closes_the_connection(node_double: NodeDouble, client: httpx.Client) -> None:
    node_double.inject({"route": "GET /v2/jobs", "action": "drop"})
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/v2/jobs")
    assert client.get("/v2/jobs").status_code == 200


def test_expire_sessions_fault(node_double: NodeDouble, client: httpx.Client) -> None:
    response = httpx.post(f"{node_double.url}/__double/faults", json={"action": "expire_sessions"})
    assert response.status_code == 201
    assert client.get("/v2/jobs").json() == EXPIRED


def test_bad_fault_is_400(node_double: NodeDouble) -> None:
    response = httpx.post(f"{node_double.url}/__double/faults", json={"action": "explode"})
    assert response.status_code == 400


def test_reset_forgets_everything(node_double: NodeDouble, client: httpx.Client) -> None:
    create(client, WEBHOOK.format(name="w"))
    assert httpx.post(f"{node_double.url}/__double/reset").status_code == 204
    assert node_double.stats() == {}
    assert client.get("/v2/jobs").json() == UNAUTHENTICATED
    client.post("/sessions", json={"email": node_double.email, "password": node_double.password})
    assert client.get("/v2/jobs").json()["meta"]["count"] == 0


# The standalone process --------------------------------------------------------------------------


@contextmanager
def login(double: NodeDoubleProcess, timeout: float = 5.0) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=double.url, timeout=timeout) as client:
        client.post("/sessions", json={"email": double.email, "password": double.password}).raise_for_status()
        yield client


def test_process_hang_after_creates_the_job_before_answering(node_double_process: NodeDoubleProcess) -> None:
    node_double_process.inject({"route": "POST /v2/jobs", "action": "hang", "seconds": 3, "after": True})
    with login(node_double_process, timeout=0.5) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post("/v2/jobs", json={"toml": WEBHOOK.format(name="w")})
        # Other calls are served meanwhile (one thread per request).
        assert client.get("/v2/jobs").json()["meta"]["count"] == 1
    assert node_double_process.stats() == {"POST /sessions": 1, "POST /v2/jobs": 1, "GET /v2/jobs": 1}


def test_process_applies_latency_per_method(tmp_path: Path) -> None:
    double = NodeDoubleProcess.start(tmp_path, "--latency-ms", "GET=300")
    try:
        with login(double) as client:
            started = time.monotonic()
            client.get("/v2/jobs").raise_for_status()
            assert time.monotonic() - started >= 0.3
    finally:
        assert double.stop() == 0


def test_process_exits_cleanly_on_sigterm(node_double_process: NodeDoubleProcess) -> None:
    assert node_double_process.url.startswith("http://127.0.0.1:")
    assert node_double_process.stop() == 0


def test_ocr_and_ocr2_bundles_are_imported_as_the_keystore_does(client: httpx.Client) -> None:
    ocr2, ocr = new_ocr2_key(os.urandom, "evm"), new_ocr_key(os.urandom)
    wrong = client.post("/v2/keys/ocr2/import", params={"oldpassword": "nope"}, content=export(ocr2, "pw"))
    assert (wrong.status_code, details(wrong)) == (
        500,
        [
            "OCRKeyStore#ImportKey failed to decrypt key: failed to decrypt OCR2 key: "
            "could not decrypt key with given password"
        ],
    )
    for _ in range(2):  # ocr2.go Import looks for duplicates in the OCR (v1) key ring: never refused
        made = client.post("/v2/keys/ocr2/import", params={"oldpassword": "pw"}, content=export(ocr2, "pw"))
        assert (made.status_code, made.json()["data"]["id"]) == (200, ocr2.id)
    listed = [k for k in client.get("/v2/keys/ocr2").json()["data"] if k["id"] == ocr2.id]
    assert [k["attributes"]["offchainPublicKey"] for k in listed] == [ocr2.offchain_public_key]

    made = client.post("/v2/keys/ocr/import", params={"oldpassword": "pw"}, content=export(ocr, "pw"))
    assert made.json()["data"] == {
        "type": "keyV2s",
        "id": ocr.id,
        "attributes": {
            "onChainSigningAddress": ocr.on_chain_signing_address,
            "offChainPublicKey": ocr.off_chain_public_key,
            "configPublicKey": ocr.config_public_key,
        },
    }
    again = client.post("/v2/keys/ocr/import", params={"oldpassword": "pw"}, content=export(ocr, "pw"))
    assert (again.status_code, details(again)) == (500, [f"key with ID {ocr.id} already exists"])
    assert [k["id"] for k in client.get("/v2/keys/ocr").json()["data"]] == [ocr.id]
