"""The agent's node client against the node double (in pytest-httpserver)."""

import socket
import time

import pytest
from chainlink_agent.model.errors import NodeRejected, NodeUnavailable
from chainlink_agent.model.nodetypes import DesiredBridge, EthBalance, KeyBundle, P2PKey, RpcNode
from chainlink_agent.node.nodeclient import NodeClient
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.settings import Credentials
from pydantic import SecretStr
from werkzeug import Request, Response

TOML = 'type = "webhook"\nschemaVersion = 1\nname = "{name}"\nobservationSource = "a [type=memo value=1]"\n'


@pytest.fixture
def metrics():
    return Metrics()


@pytest.fixture
def node(node_double, metrics):
    client = NodeClient(
        node_double.url, Credentials(node_double.email, SecretStr(node_double.password)), 5, metrics
    )
    yield client
    client.close()


def test_create_find_replace_delete(node):
    made = node.create_job(TOML.format(name="a"))
    assert made.name == "a"
    assert node.find_job(made.external_job_id) == made
    replaced = node.replace_job(
        made.id, f'externalJobID = "{made.external_job_id}"\n' + TOML.format(name="b")
    )
    assert (replaced.id, replaced.external_job_id, replaced.name) == (made.id, made.external_job_id, "b")
    node.delete_job(made.id)
    node.delete_job(made.id)  # already gone: done
    assert node.find_job(made.external_job_id) is None


def test_list_reads_every_page(node):
    for i in range(230):
        node.create_job(TOML.format(name=f"j{i}"))
    jobs = node.list_jobs()
    assert len(jobs) == 230
    assert len({j.id for j in jobs}) == 230


def test_expired_session_is_renewed_once(node, node_double, metrics):
    node.list_jobs()
    node_double.inject({"action": "expire_sessions"})
    node.list_jobs()
    logins = metrics.node_api_responses.labels("POST", "/sessions", "200")._value.get()
    assert logins == 2


def test_wrong_password_is_a_refusal_not_a_loop(node_double, metrics):
    client = NodeClient(node_double.url, Credentials(node_double.email, SecretStr("wrong")), 5, metrics)
    with pytest.raises(NodeRejected) as info:
        client.list_jobs()
    assert info.value.status == 401
    assert node_double.stats().get("POST /sessions") == 1


def test_node_errors_reach_the_caller_verbatim(node):
    with pytest.raises(NodeRejected) as info:
        node.create_job('type = "no-such-type"\nschemaVersion = 1\n')
    assert info.value.status == 422
    assert info.value.detail == "failed to parse TOML: invalid job type"
    made = node.create_job(TOML.format(name="dup"))
    with pytest.raises(NodeRejected) as info:
        node.create_job(f'externalJobID = "{made.external_job_id}"\n' + TOML.format(name="other"))
    assert info.value.status == 500
    assert "external_job_id_uniq" in info.value.detail


def test_server_errors_without_a_node_error_are_unavailable(node, node_double):
    node_double.inject({"route": "GET /v2/jobs", "action": "status", "status": 503})
    with pytest.raises(NodeUnavailable):
        node.list_jobs()
    assert not node.last_call_ok
    node.list_jobs()
    assert node.last_call_ok


def test_password_never_in_errors(node_double, metrics):
    secret = "s3cret-value"
    client = NodeClient(node_double.url, Credentials(node_double.email, SecretStr(secret)), 5, metrics)
    with pytest.raises(NodeRejected) as info:
        client.list_jobs()
    assert secret not in str(info.value)
    assert secret not in repr(client._credentials.password)


def test_bridges_and_facts(node, node_double):
    want = DesiredBridge("price", "https://ea.example/secret-token", 2, "100", "h")
    made = node.create_bridge(want)
    assert (made.name, made.confirmations, made.minimum_contract_payment) == ("price", 2, "100")
    assert want.matches(made)
    assert node.list_bridges() == [made]
    moved = node.update_bridge(DesiredBridge("price", "https://other.example", 0, None, "h"))
    assert (moved.url, moved.confirmations) == ("https://other.example", 0)
    assert node.find_bridge("price") == moved
    node.delete_bridge("price")
    node.delete_bridge("price")  # already gone: done
    assert node.find_bridge("price") is None
    facts = node.facts()
    state = node_double.state
    p2p, ocr2 = state.p2p_keys[0], state.ocr2_keys[0]
    assert facts.p2p_keys == (P2PKey(p2p.peer_id, p2p.public_key),)
    assert facts.ocr2_bundles == (
        KeyBundle(ocr2.id, "evm", ocr2.onchain_public_key, ocr2.offchain_public_key, ocr2.config_public_key),
    )
    assert [k.address for k in facts.eth_keys] == [k.address for k in state.eth_keys]
    assert facts.ocr_bundles == ()


def test_version_health_and_csa_key(node, node_double):
    assert node.build_info() == ("2.23.0", "0" * 40)
    assert set(node.health().values()) == {"passing"}
    assert node.csa_public_keys() == ["csa_" + node_double.state.csa_keys[0]]


def test_a_name_or_id_is_one_quoted_path_segment_whatever_it_holds(node, node_double, httpserver):
    assert node.find_bridge("../../v2/keys/eth") is None  # no route: a 404
    assert node.find_job("../../v2/keys/eth") is None
    with pytest.raises(NodeRejected) as info:
        node.find_bridge("..")  # not resolved away: the node reads the name and refuses it
    assert info.value.status == 422
    assert [request.environ["RAW_URI"] for request, _ in httpserver.log if request.method == "GET"] == [
        "/v2/bridge_types/..%2F..%2Fv2%2Fkeys%2Feth",
        "/v2/jobs/..%2F..%2Fv2%2Fkeys%2Feth",
        "/v2/bridge_types/%2E%2E",
    ]
    assert "GET /v2/keys/eth" not in node_double.stats()


@pytest.mark.parametrize(
    ("call", "uri", "body"),
    [
        pytest.param(
            lambda n: n.find_bridge("p"), "/v2/bridge_types/p", ["price"], id="a list, not an object"
        ),
        pytest.param(lambda n: n.find_bridge("p"), "/v2/bridge_types/p", {"errors": []}, id="no data"),
        pytest.param(lambda n: n.find_bridge("p"), "/v2/bridge_types/p", {"data": [{}]}, id="data a list"),
        pytest.param(lambda n: n.find_job("x"), "/v2/jobs/x", {"data": {"attributes": {}}}, id="no ID"),
        pytest.param(
            lambda n: n.list_bridges(), "/v2/bridge_types", {"data": {"id": "p"}}, id="data an object"
        ),
        pytest.param(lambda n: n.list_jobs(), "/v2/jobs", {"data": ["1"]}, id="an item not an object"),
        pytest.param(
            lambda n: n.list_jobs(), "/v2/jobs", {"data": [], "meta": {"count": "many"}}, id="count"
        ),
        pytest.param(lambda n: n.facts(), "/v2/keys/eth", {"data": [{"attributes": "0x"}]}, id="attributes"),
        pytest.param(
            lambda n: n.rpc_nodes(), "/v2/nodes/evm", {"data": [{"attributes": {"name": "a"}}]}, id="no chain"
        ),
        pytest.param(
            lambda n: n.eth_balances(),
            "/v2/keys/eth",
            {"data": [{"attributes": {"address": "0xA", "ethBalance": "1 ether"}}]},
            id="a balance not in wei",
        ),
    ],
)
def test_an_answer_not_of_the_nodes_shape_is_the_node_unavailable(node, httpserver, call, uri, body):
    httpserver.expect_oneshot_request(uri).respond_with_json(body)  # before the double's own handler
    with pytest.raises(NodeUnavailable, match="unexpected body"):
        call(node)


def test_an_error_answer_not_of_the_nodes_shape_keeps_its_status(node, httpserver):
    httpserver.expect_oneshot_request("/v2/jobs").respond_with_json({"errors": 5}, status=400)
    with pytest.raises(NodeRejected) as info:
        node.list_jobs()
    assert info.value.status == 400


def test_chains_rpc_nodes_balances_and_heads(node, node_double, metrics):
    state = node_double.state
    state.balances[state.eth_keys[0].address] = 10**30
    assert node.rpc_nodes() == [RpcNode("1337", "primary-0", "Alive")]
    assert node.eth_balances()[0] == EthBalance(state.eth_keys[0].address, "1337", 10**30)
    assert node.heads()["1337"] >= 1
    # /metrics is sent without the session: no login for it.
    logins = metrics.node_api_responses.labels("POST", "/sessions", "200")._value.get()
    assert logins == 1


@pytest.mark.parametrize(
    ("exposition", "heads"),
    [
        pytest.param("<html>a proxy's page</html>", {}, id="no head series"),
        pytest.param(
            '# TYPE head_tracker_current_head gauge\nhead_tracker_current_head{evmChainID="5"} 1.2e+07\n',
            {"5": 12_000_000},
            id="in exponent notation",
        ),
    ],
)
def test_heads_are_the_head_tracker_series_of_whatever_metrics_answers(node, httpserver, exposition, heads):
    httpserver.expect_oneshot_request("/metrics").respond_with_data(exposition)
    assert node.heads() == heads


@pytest.mark.parametrize(
    "line",
    [
        'head_tracker_current_head{evmChainID="5"} NaN',
        "head_tracker_current_head{} 5",
        "head_tracker_current_head{x",
    ],
)
def test_a_head_series_not_of_the_nodes_shape_is_the_node_unavailable(node, httpserver, line):
    httpserver.expect_oneshot_request("/metrics").respond_with_data(line + "\n")
    with pytest.raises(NodeUnavailable, match="unexpected head_tracker_current_head"):
        node.heads()


def test_metrics_refused_for_a_token_is_a_refusal_without_a_login(node, httpserver, metrics):
    httpserver.expect_oneshot_request("/metrics").respond_with_data("invalid token", status=401)
    with pytest.raises(NodeRejected) as info:
        node.heads()
    assert info.value.status == 401
    assert metrics.node_api_responses.labels("POST", "/sessions", "200")._value.get() == 0


def test_a_refused_connection_is_the_node_unavailable_named_by_its_route_not_its_url(metrics):
    with socket.socket() as free:  # a port nothing listens on once closed
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    client = NodeClient(f"http://127.0.0.1:{port}", Credentials("a@b.c", SecretStr("pw")), 5, metrics)
    with pytest.raises(NodeUnavailable) as info:
        client.heads()
    assert str(info.value).startswith("GET /metrics: NewConnectionError: ")
    assert "http://" not in str(info.value)
    assert not client.last_call_ok


def test_a_timed_out_key_import_names_its_route_never_the_password_in_its_url(
    node_double, httpserver, metrics
):
    def slow(_: Request) -> Response:
        time.sleep(1)  # past the client's timeout
        return Response("{}")

    httpserver.expect_oneshot_request("/v2/keys/ocr2/import").respond_with_handler(slow)
    client = NodeClient(
        node_double.url, Credentials(node_double.email, SecretStr(node_double.password)), 0.3, metrics
    )
    try:
        with pytest.raises(NodeUnavailable) as info:
            client.import_key_bundle("ocr2", b"{}", SecretStr("key-password"))
    finally:
        client.close()
    # The server answers on its one thread: it finishes the import before the next test.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(r.path.endswith("/import") for r, _ in httpserver.log):
        time.sleep(0.05)
    assert str(info.value).startswith("POST /v2/keys/ocr2/import: ReadTimeoutError: ")
    assert "key-password" not in str(info.value)
    assert "oldpassword" not in str(info.value)


def test_the_session_cookie_set_at_login_goes_with_every_call_and_a_new_login_starts_without_it(
    node, node_double, httpserver
):
    node.list_jobs()
    node_double.inject({"action": "expire_sessions"})
    node.list_jobs()
    sent = [(r.method, r.path, r.headers.get("Cookie")) for r, _ in httpserver.log]
    assert [(m, p) for m, p, _ in sent] == [
        ("POST", "/sessions"),
        ("GET", "/v2/jobs"),
        ("GET", "/v2/jobs"),  # 401: the session expired
        ("POST", "/sessions"),
        ("GET", "/v2/jobs"),
    ]
    logins = [c for m, _, c in sent if m == "POST"]
    calls = [c for m, _, c in sent if m == "GET"]
    assert logins == [None, None]
    assert calls[0] == calls[1] != calls[2]
    assert all(c is not None and c.startswith("clsession=") for c in calls)


def test_a_redirect_is_an_answer_not_followed(node, node_double, httpserver):
    httpserver.expect_oneshot_request("/v2/jobs/x").respond_with_data(
        "", status=302, headers={"Location": "/v2/keys/eth"}
    )
    with pytest.raises(NodeUnavailable, match="answered 302"):
        node.find_job("x")
    assert "GET /v2/keys/eth" not in node_double.stats()
