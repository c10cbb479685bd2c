"""The Kubernetes boundary speaks one error: an apiserver that does not answer is an ApiException too, so
every loop that handles ApiException survives an apiserver restart."""

from __future__ import annotations

import socket

import pytest
from chainlink_agent.kube import ApiClient
from kubernetes import client
from kubernetes.client.exceptions import ApiException


def test_an_apiserver_that_does_not_answer_is_an_api_exception_with_status_0() -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    with ApiClient(configuration) as api, pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).read_namespace("default")
    assert caught.value.status == 0
    assert "did not answer" in str(caught.value.reason)


def test_an_apiserver_that_accepts_and_never_answers_times_out_as_an_api_exception(monkeypatch) -> None:
    monkeypatch.setattr("chainlink_agent.kube.REQUEST_TIMEOUT", (1.0, 0.5))
    with socket.socket() as s:  # listens, and never answers what it accepts
        s.bind(("127.0.0.1", 0))
        s.listen()
        configuration = client.Configuration()
        configuration.host = f"http://127.0.0.1:{s.getsockname()[1]}"
        configuration.retries = False
        with ApiClient(configuration) as api, pytest.raises(ApiException) as caught:
            client.CoreV1Api(api).read_namespace("default")
    assert caught.value.status == 0
    assert "Timeout" in str(caught.value.reason)
