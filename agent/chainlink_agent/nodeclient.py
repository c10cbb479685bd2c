"""The Chainlink node's HTTP API, as the agent uses it: session login and jobs.

Routes and shapes follow the node's core/web/router.go, sessions_controller.go and jobs_controller.go
(tests/nodedouble cites the exact places).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import httpx

from .metrics import Metrics
from .plan import NodeJob
from .settings import Credentials

log = logging.getLogger(__name__)
PAGE_SIZE = 100


class NodeError(Exception):
    """The node did not do what was asked."""


class NodeUnavailable(NodeError):
    """No answer, a timeout, or a 5xx: worth retrying as is."""


class NodeRejected(NodeError):
    """The node refused the request (4xx); its own error text is kept verbatim for the status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class NodeClient:
    def __init__(self, base_url: str, credentials: Credentials, timeout: float, metrics: Metrics) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)
        self._credentials = credentials
        self._metrics = metrics
        self._login_lock = threading.Lock()
        self._logged_in = False
        self.last_call_ok = False

    def close(self) -> None:
        self._http.close()

    def list_jobs(self) -> list[NodeJob]:
        """All jobs, every page: one logical list per resync."""
        jobs: list[NodeJob] = []
        page = 1
        while True:
            body = self._json("GET", "/v2/jobs", "/v2/jobs", params={"page": page, "size": PAGE_SIZE})
            data = body.get("data") or []
            jobs.extend(_job(item) for item in data)
            total = int((body.get("meta") or {}).get("count", len(jobs)))
            if not data or len(jobs) >= total:
                return jobs
            page += 1

    def create_job(self, toml: str) -> NodeJob:
        return _job(self._json("POST", "/v2/jobs", "/v2/jobs", json_body={"toml": toml})["data"])

    def replace_job(self, job_id: str, toml: str) -> NodeJob:
        body = self._json("PUT", f"/v2/jobs/{job_id}", "/v2/jobs/:ID", json_body={"toml": toml})
        return _job(body["data"])

    def find_job(self, external_job_id: str) -> NodeJob | None:
        """GET /v2/jobs/:ID takes an external job ID too (jobs_controller.go Show tries a UUID first)."""
        try:
            return _job(self._json("GET", f"/v2/jobs/{external_job_id}", "/v2/jobs/:ID")["data"])
        except NodeRejected as exc:
            if exc.status == 404:
                return None
            raise

    def delete_job(self, job_id: str) -> None:
        """Deleting a job that is already gone counts as done."""
        try:
            self._call("DELETE", f"/v2/jobs/{job_id}", "/v2/jobs/:ID")
        except NodeRejected as exc:
            if exc.status != 404:
                raise

    def _json(
        self,
        method: str,
        path: str,
        route: str,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        response = self._call(method, path, route, params=params, json_body=json_body)
        try:
            body = response.json()
        except json.JSONDecodeError as exc:
            raise NodeUnavailable(
                f"{method} {route}: the node answered {response.status_code} with no JSON"
            ) from exc
        if not isinstance(body, dict):
            raise NodeUnavailable(f"{method} {route}: unexpected body")
        return body

    def _call(
        self,
        method: str,
        path: str,
        route: str,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        # One transparent re-login: a 401 after a fresh login is a real refusal, not an expired session.
        for attempt in range(2):
            if not self._logged_in:
                self._login()
            response = self._send(method, path, route, params=params, json_body=json_body)
            if response.status_code == 401 and attempt == 0:
                log.info("node session expired; logging in again")
                self._logged_in = False
                continue
            break
        return _checked(response, method, route)

    def _login(self) -> None:
        with self._login_lock:
            if self._logged_in:
                return
            self._http.cookies.clear()
            body = {
                "email": self._credentials.email,
                "password": self._credentials.password.get_secret_value(),
            }
            response = self._send("POST", "/sessions", "/sessions", json_body=body)
            _checked(response, "POST", "/sessions")
            self._logged_in = True

    def _send(
        self,
        method: str,
        path: str,
        route: str,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        start = time.perf_counter()
        code = "error"
        try:
            response = self._http.request(method, path, params=params, json=json_body)
            code = str(response.status_code)
            self.last_call_ok = response.status_code < 500
            return response
        except httpx.HTTPError as exc:
            self.last_call_ok = False
            raise NodeUnavailable(f"{method} {route}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._metrics.node_api_seconds.labels(method, route).observe(time.perf_counter() - start)
            self._metrics.node_api_responses.labels(method, route, code).inc()


def _checked(response: httpx.Response, method: str, route: str) -> httpx.Response:
    """A 4xx, or a 500 carrying the node's own error (a failed job insert, a missing bridge), is the node
    refusing the request; anything else (no error body, 502-504, 429 rate limit) is it being unavailable."""
    if response.status_code < 400:
        return response
    code = response.status_code
    details = _error_details(response)
    if (code < 500 and code != 429) or (code == 500 and details):
        raise NodeRejected(code, details or response.text.strip() or response.reason_phrase)
    text = details or response.text.strip()[:200] or response.reason_phrase
    raise NodeUnavailable(f"{method} {route}: {code}: {text}")


def _error_details(response: httpx.Response) -> str:
    """The node's errors ({"errors":[{"detail":...}]}, core/web/jsonapi_errors) joined; "" if none."""
    try:
        errors = response.json().get("errors") or []
    except (json.JSONDecodeError, AttributeError):
        return ""
    return "; ".join(str(e["detail"]) for e in errors if isinstance(e, dict) and e.get("detail"))


def _job(item: dict[str, Any]) -> NodeJob:
    attributes = item.get("attributes") or {}
    return NodeJob(
        id=str(item["id"]),
        external_job_id=str(attributes.get("externalJobID", "")),
        name=attributes.get("name"),
    )
