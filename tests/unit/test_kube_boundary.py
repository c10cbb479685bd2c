"""The Kubernetes boundary speaks the agent's errors (errors.KubeError) and nothing else: an apiserver that
does not answer is KubeUnavailable, so every loop that handles KubeError survives an apiserver restart,
and the answers a caller acts on (404, 409, 410) have names."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chainlink_agent.errors import Conflict, Gone, KubeRejected, KubeUnavailable, NotFound
from chainlink_agent.kube import ApiClient, Kube, translate
from kubernetes import client


def test_an_apiserver_that_does_not_answer_is_unavailable() -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    with ApiClient(configuration) as api, pytest.raises(KubeUnavailable) as caught:
        client.CoreV1Api(api).read_namespace("default")
    assert caught.value.status is None
    assert "did not answer" in str(caught.value)


def test_an_apiserver_that_accepts_and_never_answers_times_out_as_unavailable(monkeypatch) -> None:
    monkeypatch.setattr("chainlink_agent.kube.REQUEST_TIMEOUT", (1.0, 0.5))
    with socket.socket() as s:  # listens, and never answers what it accepts
        s.bind(("127.0.0.1", 0))
        s.listen()
        configuration = client.Configuration()
        configuration.host = f"http://127.0.0.1:{s.getsockname()[1]}"
        configuration.retries = False
        with ApiClient(configuration) as api, pytest.raises(KubeUnavailable) as caught:
            client.CoreV1Api(api).read_namespace("default")
    assert "Timeout" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (None, KubeUnavailable),
        (500, KubeUnavailable),
        (503, KubeUnavailable),
        (429, KubeUnavailable),
        (404, NotFound),
        (409, Conflict),
        (410, Gone),
        (403, KubeRejected),
        (422, KubeRejected),
    ],
)
def test_each_answer_is_translated_to_the_error_its_catcher_acts_on(status, error) -> None:
    translated = translate(status, "the apiserver's words")
    assert type(translated) is error
    assert translated.status == status
    assert translated.message == "the apiserver's words"


@contextmanager
def apiserver(status: int, body: dict) -> Iterator[str]:
    """An HTTP server answering every request with `status` and the JSON `body`."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_plain_client_given_to_kube_gets_the_same_boundary_and_the_apiservers_own_message() -> None:
    status = {
        "kind": "Status",
        "code": 409,
        "reason": "AlreadyExists",
        "message": 'leases "x" already exists',
    }
    with apiserver(409, status) as url:
        configuration = client.Configuration()
        configuration.host = url
        kube = Kube(client.ApiClient(configuration), "ns", "node-a")
        with pytest.raises(Conflict) as caught:
            kube.write_lease("x", {}, None)
    assert caught.value.message == 'leases "x" already exists'  # not the client's headers dump


def test_a_missing_object_reads_as_none() -> None:
    with apiserver(404, {"kind": "Status", "code": 404, "message": "not found"}) as url:
        configuration = client.Configuration()
        configuration.host = url
        assert Kube(client.ApiClient(configuration), "ns", "node-a").chainlink_node() is None
