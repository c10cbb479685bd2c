"""The agent's pacing to the node's rate limit: the window, the wait, a 429 pausing everyone."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from chainlink_agent.node.nodeclient import NodeClient
from chainlink_agent.node.ratelimit import OPENER_MARGIN_SECONDS, WINDOW_MARGIN_SECONDS, RateLimit
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.settings import Credentials
from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from devkit.nodedouble.app import NodeDoubleApp
from devkit.nodedouble.app import RateLimit as NodeRate
from devkit.nodedouble.state import NodeState


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(limit: int, period: float) -> tuple[RateLimit, FakeTime]:
    t = FakeTime()
    return RateLimit(limit, period, clock=lambda: t.now, wall=lambda: t.now, sleep=t.sleep), t


def test_a_window_holds_the_limit_then_the_next_caller_waits_for_the_next_window():
    rate, t = limiter(3, 10.0)
    assert [rate.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    t.now += 4
    assert rate.acquire() == 10.0 + WINDOW_MARGIN_SECONDS - 4
    assert [rate.acquire() for _ in range(2)] == [0.0, 0.0]


def test_a_429_pauses_every_caller_until_the_nodes_reset():
    rate, t = limiter(100, 60.0)
    rate.acquire()
    rate.refused(str(int(t.now) + 20))
    assert rate.acquire() == 20 + WINDOW_MARGIN_SECONDS
    rate.refused(None)  # no reset header: a whole period
    assert rate.acquire() == 60.0


def test_a_restarted_agent_counts_on_from_the_nodes_window_not_from_zero():
    rate, t = limiter(10, 60.0)
    rate.acquire()
    rate.finished("10", "3", str(int(t.now) + 30))  # the node's window, opened by the previous process
    assert [rate.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert rate.acquire() == 30 + WINDOW_MARGIN_SECONDS  # then the node's next window, not ours in 61 s


def test_the_answer_that_opened_the_nodes_window_ends_ours_without_the_whole_second():
    rate, t = limiter(2, 60.0)
    rate.acquire()
    t.now += 0.02  # the round trip of the request that opened the node's window
    rate.finished("2", "1", str(int(t.now) + 60))
    rate.acquire()
    rate.finished("2", "0", str(int(t.now) + 60))
    assert rate.acquire() == pytest.approx(60.0 + OPENER_MARGIN_SECONDS)


def test_within_one_window_the_higher_count_holds():
    rate, t = limiter(10, 60.0)
    for _ in range(5):
        rate.acquire()
    rate.finished("10", "8", str(int(t.now) + 60))  # an early call's answer, overtaken by later calls
    rate.finished("10", "junk", None)  # no headers (a double without a limit, a proxy's answer): ignored
    rate.finished("5", "0", str(int(t.now) + 20))  # the login limiter's figures: not this window's
    assert [rate.acquire() for _ in range(5)] == [0.0] * 5
    assert rate.acquire() > 0


@contextmanager
def paced_client(
    httpserver: HTTPServer, node_limit: int, agent_limit: int
) -> Iterator[tuple[NodeClient, Any]]:
    """A client pacing itself to agent_limit calls a second, against a double allowing node_limit."""
    app = NodeDoubleApp(NodeState("a@b.c", "pw"), authenticated_rate=NodeRate(node_limit, 1.0))
    httpserver.expect_request(re.compile(".*")).respond_with_handler(app.handle)
    url = httpserver.url_for("/").rstrip("/")
    client = NodeClient(
        url, Credentials("a@b.c", SecretStr("pw")), 10, Metrics(), RateLimit(agent_limit, 1.0)
    )
    try:
        yield client, app
    finally:
        client.close()


def refusals(client: NodeClient) -> float:
    return float(client._metrics.node_api_responses.labels("GET", "/v2/bridge_types", "429")._value.get())


def test_the_client_paces_itself_to_the_nodes_limit_and_never_surfaces_a_429(httpserver: HTTPServer):
    """A node allowing 12 calls a second: 30 calls from 3 threads all succeed, none is refused, and the
    agent waited instead."""
    with paced_client(httpserver, 12, 12) as (client, app):
        threads = [
            threading.Thread(target=lambda: [client.list_bridges() for _ in range(10)]) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sum(n for key, n in app.stats().items() if key.startswith("GET /v2/bridge_types")) == 30
        assert refusals(client) == 0
        assert client._metrics.node_api_throttled_seconds._value.get() > 0


def test_a_429_from_the_node_is_waited_out_and_the_call_made_again(httpserver: HTTPServer):
    """Another client from the same address uses up the node's window (5 a second) between two calls."""
    with paced_client(httpserver, 5, 100) as (client, _):
        assert client.list_bridges() == []
        with httpx.Client(base_url=httpserver.url_for("/"), cookies=client._cookies) as other:
            while other.get("/v2/bridge_types").status_code != 429:
                pass
        assert [len(client.list_bridges()) for _ in range(3)] == [0] * 3
        assert refusals(client) == 1


def test_the_login_limiters_figures_never_hold_back_api_calls(httpserver: HTTPServer):
    """POST /sessions answers with its own limiter's headers (5 per 20 s): calls after a login must not
    wait for that window. Here the node's API limit is off, so the login's are the only figures."""
    app = NodeDoubleApp(NodeState("a@b.c", "pw"), authenticated_rate=None)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(app.handle)
    url = httpserver.url_for("/").rstrip("/")
    client = NodeClient(url, Credentials("a@b.c", SecretStr("pw")), 10, Metrics(), RateLimit(1000, 60.0))
    try:
        for _ in range(30):
            client.list_bridges()
        assert client._metrics.node_api_throttled_seconds._value.get() == 0
    finally:
        client.close()
