"""The Kubernetes boundary speaks the agent's errors (errors.KubeError) and nothing else: an apiserver that
does not answer is KubeUnavailable, so every loop that handles KubeError survives an apiserver restart,
and the answers a caller acts on (404, 409, 410) have names."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from chainlink_agent.k8s.informer import Informer, other_placements
from chainlink_agent.k8s.kube import ApiClient, Kube, translate
from chainlink_agent.model import placement
from chainlink_agent.model.errors import Conflict, Gone, KubeRejected, KubeUnavailable, NotFound
from chainlink_agent.model.resource import GROUP, VERSION
from chainlink_agent.runtime.metrics import Metrics
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
    monkeypatch.setattr("chainlink_agent.k8s.kube.REQUEST_TIMEOUT", (1.0, 0.5))
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
def serving(answer: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[tuple[str, list[dict]]]:
    """An HTTP server that lets `answer` write the answer to every request; yields its URL and the requests
    it got (method, path, query, content type, JSON body)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append(
                {
                    "method": self.command,
                    "path": url.path,
                    "query": dict(parse_qsl(url.query)),
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(body) if body else None,
                }
            )
            answer(self)

        do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def answering(status: int, body: dict | bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


@contextmanager
def apiserver(status: int, body: dict | bytes) -> Iterator[str]:
    """An HTTP server answering every request with `status` and the JSON `body`."""
    with serving(answering(status, body)) as (url, _):
        yield url


def kube_at(url: str) -> Kube:
    configuration = client.Configuration()
    configuration.host = url
    configuration.retries = False
    return Kube(client.ApiClient(configuration), "ns", "node-a")


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


def test_a_generated_api_class_given_the_agents_client_gets_the_same_boundary() -> None:
    """kubernetes 37's generated methods raise ApiException for a non-2xx only after call_api returns: the
    agent's call_api checks the status itself."""
    with apiserver(404, {"kind": "Status", "code": 404, "message": 'leases "x" not found'}) as url:
        configuration = client.Configuration()
        configuration.host = url
        with ApiClient(configuration) as api, pytest.raises(NotFound) as caught:
            client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, "ns", "leases", "x")
    assert caught.value.message == 'leases "x" not found'


def test_an_apply_that_makes_the_object_answers_201_with_it() -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "x"}, "spec": {}}
    with serving(answering(201, lease)) as (url, seen):
        assert kube_at(url).write_lease("x", {}, None) == lease
    assert seen[0]["method"] == "POST"
    assert seen[0]["path"] == "/apis/coordination.k8s.io/v1/namespaces/ns/leases"


def test_each_write_goes_out_as_the_apiserver_expects_it() -> None:
    """Query parameters, content types and bodies: what the generated client used to send."""
    with serving(answering(200, {"metadata": {"name": "n"}})) as (url, seen):
        kube = kube_at(url)
        kube.apply_node_status({"phase": "Ready"})
        kube.mark_released("p", released=False)
        kube.label_pod("pod-0", "role", "active")
        kube.scale_to_zero("sts")
        kube.delete_placement("ChainlinkJob", "job")
    apply, release, label, scale, delete = seen
    assert apply["method"] == "PATCH"
    assert apply["path"] == f"/apis/{GROUP}/{VERSION}/namespaces/ns/chainlinknodes/node-a/status"
    assert apply["query"] == {"fieldManager": "chainlink-agent-node-a", "force": "true"}
    assert apply["content_type"] == "application/apply-patch+yaml"
    assert apply["body"]["status"] == {"phase": "Ready"}
    assert release["content_type"] == "application/merge-patch+json"
    assert release["body"] == {"metadata": {"labels": {placement.RELEASED_LABEL: None}}}  # null removes it
    assert label["path"] == "/api/v1/namespaces/ns/pods/pod-0"
    assert label["content_type"] == "application/strategic-merge-patch+json"
    assert scale["path"] == "/apis/apps/v1/namespaces/ns/statefulsets/sts/scale"
    assert scale["body"] == {"spec": {"replicas": 0}}
    assert delete["method"] == "DELETE"
    assert delete["path"].startswith(f"/apis/{GROUP}/{VERSION}/namespaces/ns/chainlinkplacements/")


def test_a_list_pages_with_continue_and_keeps_the_snapshots_version() -> None:
    pages = [
        {"items": [{"n": 1}], "metadata": {"continue": "next", "resourceVersion": "7"}},
        {"items": [{"n": 2}], "metadata": {"resourceVersion": "7"}},
    ]

    def answer(handler: BaseHTTPRequestHandler) -> None:
        answering(200, pages.pop(0))(handler)

    with serving(answer) as (url, seen):
        items, version = kube_at(url).list_objects("chainlinkjobs", lambda o: o["n"], "a=b")
    assert (items, version) == ([1, 2], "7")
    assert seen[0]["query"] == {"labelSelector": "a=b", "limit": "100"}
    assert seen[1]["query"] == {"labelSelector": "a=b", "limit": "100", "continue": "next"}


def test_an_answer_that_is_not_json_is_unavailable() -> None:
    with apiserver(200, b"<html>a proxy</html>") as url, pytest.raises(KubeUnavailable):
        kube_at(url).chainlink_node()


def test_a_body_that_stops_after_the_headers_times_out_as_unavailable(monkeypatch) -> None:
    """Since kubernetes 37 the body is read after call_api returns: that read is translated too."""
    monkeypatch.setattr("chainlink_agent.k8s.kube.REQUEST_TIMEOUT", (1.0, 0.5))
    release = threading.Event()

    def stall(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b'{"metadata": ')
        handler.wfile.flush()
        release.wait(5)

    with serving(stall) as (url, _):
        with pytest.raises(KubeUnavailable) as caught:
            kube_at(url).chainlink_node()
        release.set()
    assert "did not answer" in str(caught.value)


def streaming(lines: list[bytes], then: Callable[[BaseHTTPRequestHandler], None] = lambda _: None):
    """A watch answer: chunked, one event a line, then `then` (return: the stream ends)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for line in lines:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            handler.wfile.flush()
        then(handler)
        handler.close_connection = True

    return answer


def test_a_watch_yields_events_and_ends_with_the_stream() -> None:
    added = {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "5"}}}
    bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "6"}}}
    lines = [json.dumps(added).encode() + b"\n", b"\n", json.dumps(bookmark).encode() + b"\n"]
    with serving(streaming([*lines, b""])) as (url, seen):
        events = list(kube_at(url).watch_objects("chainlinkjobs", "4", 300, "x!=y"))
    assert events == [added, bookmark]
    assert seen[0]["query"] == {
        "labelSelector": "x!=y",
        "watch": "true",
        "resourceVersion": "4",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "300",
    }


def test_a_watchs_expired_version_is_gone_whether_an_event_or_an_answer() -> None:
    expired = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}
    event = json.dumps({"type": "ERROR", "object": expired}).encode() + b"\n"
    with serving(streaming([event, b""])) as (url, _), pytest.raises(Gone) as caught:
        list(kube_at(url).watch_objects("chainlinkjobs", "4", 300))
    assert caught.value.message == "too old resource version"
    with apiserver(410, expired) as url, pytest.raises(Gone):
        list(kube_at(url).watch_objects("chainlinkjobs", "4", 300))


def test_a_watch_that_breaks_off_is_unavailable() -> None:
    added = json.dumps({"type": "ADDED", "object": {"metadata": {"name": "a"}}}).encode() + b"\n"

    def cut(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b'ff\r\n{"type"')  # a chunk promised and never finished
        handler.wfile.flush()
        time.sleep(0.1)

    with serving(streaming([added], then=cut)) as (url, _):
        events = kube_at(url).watch_objects("chainlinkjobs", "4", 300)
        assert next(events)["type"] == "ADDED"
        with pytest.raises(KubeUnavailable):
            next(events)


def test_a_closed_informer_ends_at_once_though_its_watch_is_quiet() -> None:
    """A stepped-down leader's informer of the other nodes' placements: its watch, which may see no event
    for minutes, is cut, so its thread, connection and cache go at once."""
    held = threading.Event()  # the server holds the quiet watch open until the test ends
    watching = threading.Event()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        if "watch=true" not in handler.path:
            answering(200, {"metadata": {"resourceVersion": "4"}, "items": []})(handler)
            return
        watching.set()

        def quiet(_handler: BaseHTTPRequestHandler) -> None:
            held.wait(30)

        streaming([], then=quiet)(handler)

    stop = threading.Event()
    with serving(answer) as (url, _):
        informer = Informer(kube_at(url), lambda _key: None, Metrics(), stop, other_placements("node-a"))
        thread = threading.Thread(target=informer.run)
        thread.start()
        assert watching.wait(10)
        time.sleep(0.2)  # the informer blocked reading the quiet stream
        began = time.monotonic()
        informer.close()
        thread.join(5)
        held.set()
    assert not thread.is_alive()
    assert stop.is_set()
    assert time.monotonic() - began < 1
