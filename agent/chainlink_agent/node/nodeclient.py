"""The Chainlink node's HTTP API, as the agent uses it: session login, jobs, bridges and the keys it reads.

Routes and shapes follow the node's core/web/router.go, sessions_controller.go, jobs_controller.go,
bridge_types_controller.go and the keys controllers (devkit/nodedouble cites the exact places).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import urllib3
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from urllib3 import BaseHTTPResponse

from chainlink_agent.model.errors import NodeRejected, NodeUnavailable
from chainlink_agent.model.nodetypes import (
    DesiredBridge,
    EthBalance,
    EthKey,
    KeyBundle,
    NodeBridge,
    NodeFacts,
    NodeJob,
    P2PKey,
    RpcNode,
)
from chainlink_agent.node.ratelimit import RateLimit
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.settings import Credentials

log = logging.getLogger(__name__)
PAGE_SIZE = 100
HEAD_SERIES = "head_tracker_current_head"
# More than the threads that call the node at once: at most 64 workers (settings.concurrency) and the agent's
# few others. Connections are opened only when needed; past the pool's size urllib3 would open one more and
# discard it with a warning.
POOL_SIZE = 100
T = TypeVar("T")


class NodeClient:
    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        timeout: float,
        metrics: Metrics,
        rate_limit: RateLimit | None = None,
    ) -> None:
        # No retries and no redirects, as before: a 3xx is an answer, a failure is reported at once.
        self._pool = urllib3.connection_from_url(
            base_url,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
            maxsize=POOL_SIZE,
        )
        self._prefix = (urllib3.util.parse_url(base_url).path or "").rstrip("/")
        # The cookies the node set, name -> value as sent: the node is one origin, so no path or domain
        # matching. Replaced, never changed in place, so a thread building its Cookie header reads one whole.
        self._cookies: dict[str, str] = {}
        self._credentials = credentials
        self._metrics = metrics
        # One window for every worker and call; by default the node's own WebServer.RateLimit figures.
        self._rate = rate_limit or RateLimit(1000, 60.0)
        self._login_lock = threading.Lock()
        self._logged_in = False
        self.last_call_ok = False

    def close(self) -> None:
        self._pool.close()

    def list_jobs(self) -> list[NodeJob]:
        """All jobs, every page: one logical list per resync."""
        return self._pages("/v2/jobs", _job)

    def list_bridges(self) -> list[NodeBridge]:
        return self._pages("/v2/bridge_types", _bridge)

    def find_bridge(self, name: str) -> NodeBridge | None:
        return self._find(f"/v2/bridge_types/{_segment(name)}", "/v2/bridge_types/:BridgeName", _bridge)

    def create_bridge(self, bridge: DesiredBridge) -> NodeBridge:
        body = _bridge_body(bridge)
        return self._json("POST", "/v2/bridge_types", "/v2/bridge_types", _item(_bridge), json_body=body)

    def update_bridge(self, bridge: DesiredBridge) -> NodeBridge:
        path, route = f"/v2/bridge_types/{_segment(bridge.name)}", "/v2/bridge_types/:BridgeName"
        return self._json("PATCH", path, route, _item(_bridge), json_body=_bridge_body(bridge))

    def delete_bridge(self, name: str) -> None:
        """A 409 (a job uses the bridge) is raised."""
        self._delete(f"/v2/bridge_types/{_segment(name)}", "/v2/bridge_types/:BridgeName")

    def facts(self) -> NodeFacts:
        """The node's keys, public parts only (presenters/p2p_key.go, ocr_keys.go, ocr2_keys.go,
        eth_key.go): one call per key type."""
        eth = [
            EthKey(str(a.get("address", "")), str(a.get("evmChainID", "")), bool(a.get("disabled", False)))
            for a in self._attributes("/v2/keys/eth")
        ]
        p2p = [
            P2PKey(str(a.get("peerId", "")), str(a.get("publicKey", "")))
            for a in self._attributes("/v2/keys/p2p")
        ]
        ocr = self._list(
            "/v2/keys/ocr", lambda item: _bundle(item, "onChainSigningAddress", "offChainPublicKey")
        )
        ocr2 = self._list(
            "/v2/keys/ocr2", lambda item: _bundle(item, "onchainPublicKey", "offchainPublicKey")
        )
        return NodeFacts(tuple(p2p), tuple(ocr), tuple(ocr2), tuple(eth))

    def csa_public_keys(self) -> list[str]:
        """GET /v2/keys/csa (presenters/csa_key.go: publicKey is "csa_" + hex)."""
        return [str(a.get("publicKey", "")) for a in self._attributes("/v2/keys/csa")]

    def build_info(self) -> tuple[str, str]:
        """(version, commit): GET /v2/build_info answers plain JSON, not JSON:API
        (core/web/build_info_controller.go Show)."""
        return self._json(
            "GET",
            "/v2/build_info",
            "/v2/build_info",
            lambda body: (str(body.get("version", "")), str(body.get("commitSHA", ""))),
        )

    def health(self) -> dict[str, str]:
        """Check name -> "passing"/"failing": GET /health answers 200 when all pass, 207 otherwise, with
        every check either way (core/web/health_controller.go Health)."""
        return {str(a.get("name", "")): str(a.get("status", "")) for a in self._attributes("/health")}

    def rpc_nodes(self) -> list[RpcNode]:
        """Every EVM chain's RPC nodes: GET /v2/nodes/evm (core/web/nodes_controller.go Index,
        presenters/chain.go NodeResource). The state is the multinode pool's (chainlink-framework
        multinode/node_fsm.go), or NotLoaded / Unknown (core/chains/legacyevm/chain.go listNodeStatuses)."""
        return self._pages("/v2/nodes/evm", _rpc_node)

    def eth_balances(self) -> list[EthBalance]:
        """GET /v2/keys/eth with each key's ETH balance in wei, which the node asks the key's chain for on
        every call and answers null when it cannot (core/web/eth_keys_controller.go getEthBalance;
        presenters/eth_key.go)."""
        return self._list("/v2/keys/eth", _eth_balance)

    def heads(self) -> dict[str, int]:
        """EVM chain ID -> the highest head the node has seen, the head_tracker_current_head gauge of
        GET /metrics (chainlink-framework chains/heads/tracker.go): no API route shows it. /metrics is no
        session route: it answers 401 only to a node with a Prometheus.AuthToken (core/web/router.go
        prometheusHandler), so it is sent without the session's login and re-login."""
        response = _checked(self._send("GET", "/metrics", "/metrics"), "GET", "/metrics")
        lines = "\n".join(line for line in _text(response).splitlines() if line.startswith(HEAD_SERIES + "{"))
        try:
            return {
                sample.labels["evmChainID"]: int(sample.value)
                for family in text_string_to_metric_families(lines)
                for sample in family.samples
            }
        except (ValueError, KeyError, OverflowError) as exc:
            raise NodeUnavailable(f"GET /metrics: an unexpected {HEAD_SERIES} ({exc})"[:300]) from exc

    def serving(self) -> bool:
        """Whether the node's web server answers at all, whatever it says: the node starts it only once it
        holds the database lease (core/cmd/shell_local.go opens the database, lease first, before it builds
        the application). Unauthenticated, but paced like every call: /health is in the router's rate-limited
        group (core/web/router.go)."""
        try:
            self._send("GET", "/health", "/health")
        except NodeUnavailable:
            return False
        return True

    def import_key_bundle(self, key_type: str, keystore_json: bytes, password: SecretStr) -> None:
        """POST /v2/keys/ocr|ocr2/import: the exported keystore JSON as the body, its password as the
        `oldpassword` query parameter (ocr2_keys_controller.go Import). urllib3's request log, which would
        show the URL, is kept off (logs.py), and errors name the route, never the URL."""
        path = f"/v2/keys/{_segment(key_type)}/import"
        params = {"oldpassword": password.get_secret_value()}
        self._json("POST", path, path, lambda body: None, params=params, content=keystore_json)

    def _list(self, path: str, convert: Callable[[dict[str, Any]], T]) -> list[T]:
        """An unpaginated list (the keys, /health), each item converted."""
        return self._json("GET", path, path, _items(convert))

    def _attributes(self, path: str) -> list[dict[str, Any]]:
        return self._list(path, _attributes_of)

    def _pages(self, path: str, convert: Callable[[dict[str, Any]], T]) -> list[T]:
        """Every item of a paginated list (core/web/api.go page/size, meta.count), each page converted
        before the next is read: a job's JSON:API document is kilobytes, what the agent keeps of it is
        three strings."""
        items: list[T] = []
        page = 1
        while True:
            params = {"page": page, "size": PAGE_SIZE}
            read, total = self._json("GET", path, path, _page(convert), params=params)
            items.extend(read)
            if not read or total is None or len(items) >= total:
                return items
            page += 1

    def create_job(self, toml: str) -> NodeJob:
        return self._json("POST", "/v2/jobs", "/v2/jobs", _item(_job), json_body={"toml": toml})

    def replace_job(self, job_id: str, toml: str) -> NodeJob:
        path = f"/v2/jobs/{_segment(job_id)}"
        return self._json("PUT", path, "/v2/jobs/:ID", _item(_job), json_body={"toml": toml})

    def find_job(self, external_job_id: str) -> NodeJob | None:
        """GET /v2/jobs/:ID takes an external job ID too (jobs_controller.go Show tries a UUID first)."""
        return self._find(f"/v2/jobs/{_segment(external_job_id)}", "/v2/jobs/:ID", _job)

    def delete_job(self, job_id: str) -> None:
        self._delete(f"/v2/jobs/{_segment(job_id)}", "/v2/jobs/:ID")

    def _find(self, path: str, route: str, convert: Callable[[dict[str, Any]], T]) -> T | None:
        """The resource, converted; None when the node answers 404."""
        try:
            return self._json("GET", path, route, _item(convert))
        except NodeRejected as exc:
            if exc.status == 404:
                return None
            raise

    def _delete(self, path: str, route: str) -> None:
        """Deleting what is already gone counts as done."""
        try:
            self._call("DELETE", path, route)
        except NodeRejected as exc:
            if exc.status != 404:
                raise

    def _json(
        self,
        method: str,
        path: str,
        route: str,
        read: Callable[[dict[str, Any]], T],
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        content: bytes | None = None,
    ) -> T:
        """The node's JSON answer, read into what the agent keeps of it. The one place where an answer not of
        the node's shape (not JSON, not an object, no `data`, a list where an object belongs or the reverse,
        an item without its ID) becomes NodeUnavailable: a proxy's error page or another API version is
        worth a retry and a status, never a crash of the reconcile that asked."""
        response = self._call(method, path, route, params=params, json_body=json_body, content=content)
        try:
            body = response.json()
            if not isinstance(body, dict):
                raise TypeError(f"a JSON {type(body).__name__}, not an object")
            return read(body)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # ValueError: not JSON (JSONDecodeError, UnicodeDecodeError) or a number that is not one; the
            # rest: a key, an object or a list missing where the node's answer has one.
            why = f"{type(exc).__name__}: {exc}"[:200]
            raise NodeUnavailable(
                f"{method} {route}: the node answered {response.status} with an unexpected body ({why})"
            ) from exc

    def _call(
        self,
        method: str,
        path: str,
        route: str,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        content: bytes | None = None,
    ) -> BaseHTTPResponse:
        # One transparent re-login: a 401 after a fresh login is a real refusal, not an expired session.
        # A 429 means the node did nothing: the call is made again after its reset, never reported.
        relogged = False
        while True:
            if not self._logged_in:
                self._login()
            response = self._send(method, path, route, params=params, json_body=json_body, content=content)
            if response.status == 401 and not relogged:
                log.info("node session expired; logging in again")
                self._logged_in, relogged = False, True
                continue
            if response.status == 429:
                self._throttled(response, method, route)
                continue
            return _checked(response, method, route)

    def _login(self) -> None:
        with self._login_lock:
            if self._logged_in:
                return
            self._cookies = {}
            body = {
                "email": self._credentials.email,
                "password": self._credentials.password.get_secret_value(),
            }
            while (response := self._send("POST", "/sessions", "/sessions", json_body=body)).status == 429:
                self._throttled(response, "POST", "/sessions")  # 5 logins per 20 s
            _checked(response, "POST", "/sessions")
            self._logged_in = True

    def _throttled(self, response: BaseHTTPResponse, method: str, route: str) -> None:
        reset = response.headers.get("x-ratelimit-reset")
        log.warning("node rate limit reached; waiting for its reset", extra={"call": f"{method} {route}"})
        self._rate.refused(reset)

    def _send(
        self,
        method: str,
        path: str,
        route: str,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        content: bytes | None = None,
    ) -> BaseHTTPResponse:
        waited = self._rate.acquire()
        if waited:
            self._metrics.node_api_throttled_seconds.inc(waited)
        start = time.perf_counter()
        code = "error"
        counted: tuple[str | None, ...] = ()
        url = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        body, headers = content, {}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if cookies := self._cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        try:
            response = self._pool.urlopen(method, url, body=body, headers=headers)
            code = str(response.status)
            self._keep_cookies(response)
            self.last_call_ok = response.status < 500
            if response.status != 429:  # a 429 goes to refused(), which waits for the reset
                counted = tuple(
                    response.headers.get(f"x-ratelimit-{h}") for h in ("limit", "remaining", "reset")
                )
            return response
        except (urllib3.exceptions.HTTPError, OSError, CookieError) as exc:
            self.last_call_ok = False
            raise NodeUnavailable(f"{method} {route}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._rate.finished(*counted)
            self._metrics.node_api_seconds.labels(method, route).observe(time.perf_counter() - start)
            self._metrics.node_api_responses.labels(method, route, code).inc()

    def _keep_cookies(self, response: BaseHTTPResponse) -> None:
        """The cookies an answer sets: the node's session cookie, set by POST /sessions only
        (core/web/sessions_controller.go Create, saveSessionID; auth.SessionName "clsession")."""
        cookie: SimpleCookie = SimpleCookie()
        for header in response.headers.getlist("Set-Cookie"):
            cookie.load(header)
        if cookie:
            self._cookies = {**self._cookies, **{name: m.coded_value for name, m in cookie.items()}}


def _checked(response: BaseHTTPResponse, method: str, route: str) -> BaseHTTPResponse:
    """A 4xx, or a 500 carrying the node's own error (a failed job insert, a missing bridge), is the node
    refusing the request; anything else (no error body, 502-504) is it being unavailable. A 429 never gets
    here: the call waits for the node's reset and is made again."""
    if response.status < 400:
        return response
    code = response.status
    details = _error_details(response)
    body = _text(response).strip() or response.reason or ""
    if (code < 500 and code != 429) or (code == 500 and details):
        raise NodeRejected(code, details or body)
    raise NodeUnavailable(f"{method} {route}: {code}: {details or body[:200]}")


def _text(response: BaseHTTPResponse) -> str:
    """The body as text: the node answers UTF-8; a proxy's stray bytes do not fail the error report."""
    return response.data.decode("utf-8", "replace")


def _error_details(response: BaseHTTPResponse) -> str:
    """The node's errors ({"errors":[{"detail":...}]}, core/web/jsonapi_errors) joined; "" if none."""
    try:
        errors = response.json().get("errors") or []
        return "; ".join(str(e["detail"]) for e in errors if isinstance(e, dict) and e.get("detail"))
    except (ValueError, TypeError, AttributeError):  # not JSON, not an object, errors not a list
        return ""


def _segment(value: str) -> str:
    """A name or ID as exactly one path segment: percent-quoted, "/" included, so `../../v2/keys/eth` cannot
    reach another route. quote() leaves dots, and a segment of dots alone is resolved away by RFC 3986
    remove_dot_segments: urllib3 does not apply it to the path-only targets this client sends
    (connectionpool.py urlopen only percent-encodes them), but does to every whole URL it parses (util/url.py
    parse_url), and a proxy may; so such a segment's dots are spelt %2E."""
    if not value:
        raise ValueError("an empty name or ID is no path segment")
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def _item(convert: Callable[[dict[str, Any]], T]) -> Callable[[dict[str, Any]], T]:
    """A reader of a JSON:API document holding one resource."""
    return lambda body: convert(_data(body, dict))


def _items(convert: Callable[[dict[str, Any]], T]) -> Callable[[dict[str, Any]], list[T]]:
    """A reader of a JSON:API document holding a list of resources."""
    return lambda body: [convert(item) for item in _data(body, list)]


def _page(convert: Callable[[dict[str, Any]], T]) -> Callable[[dict[str, Any]], tuple[list[T], int | None]]:
    """A reader of one page of a paginated list: its items, and the whole list's length (meta.count)."""

    def read(body: dict[str, Any]) -> tuple[list[T], int | None]:
        count = (body.get("meta") or {}).get("count")
        return _items(convert)(body), None if count is None else int(count)

    return read


def _data(body: dict[str, Any], kind: type[Any]) -> Any:
    """The document's `data`, which must be of `kind`: iterating an object where a list belongs would read
    its keys as items without an error."""
    data = body["data"]
    if not isinstance(data, kind):
        raise TypeError(f"data is a JSON {type(data).__name__}")
    return data


def _attributes_of(item: dict[str, Any]) -> dict[str, Any]:
    attributes = item.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise TypeError(f"attributes are a JSON {type(attributes).__name__}")
    return attributes


def _job(item: dict[str, Any]) -> NodeJob:
    attributes = _attributes_of(item)
    return NodeJob(
        id=str(item["id"]),
        external_job_id=str(attributes.get("externalJobID", "")),
        name=attributes.get("name"),
    )


def _bundle(item: dict[str, Any], onchain: str, offchain: str) -> KeyBundle:
    """An OCR or OCR2 bundle: the two spell their public parts differently, and only OCR2 has a chainType
    (presenters/ocr_keys.go)."""
    attributes = _attributes_of(item)
    return KeyBundle(
        str(item["id"]),
        chain_type=str(attributes.get("chainType", "")),
        onchain=str(attributes.get(onchain, "")),
        offchain=str(attributes.get(offchain, "")),
        config=str(attributes.get("configPublicKey", "")),
    )


def _rpc_node(item: dict[str, Any]) -> RpcNode:
    attributes = _attributes_of(item)
    return RpcNode(str(attributes["chainID"]), str(attributes["name"]), str(attributes.get("state", "")))


def _eth_balance(item: dict[str, Any]) -> EthBalance:
    attributes = _attributes_of(item)
    wei = attributes.get("ethBalance")  # assets.Eth: wei as a decimal string
    return EthBalance(
        str(attributes["address"]),
        str(attributes.get("evmChainID", "")),
        None if wei is None else int(str(wei)),
        bool(attributes.get("disabled", False)),
    )


def _bridge(item: dict[str, Any]) -> NodeBridge:
    attributes = _attributes_of(item)
    payment = attributes.get("minimumContractPayment")
    return NodeBridge(
        name=str(attributes.get("name") or item["id"]),
        url=str(attributes.get("url", "")),
        confirmations=int(attributes.get("confirmations") or 0),
        minimum_contract_payment=None if payment is None else str(payment),
    )


def _bridge_body(bridge: DesiredBridge) -> dict[str, Any]:
    """bridges.BridgeTypeRequest; the payment is sent only when the resource sets it."""
    body: dict[str, Any] = {"name": bridge.name, "url": bridge.url, "confirmations": bridge.confirmations}
    if bridge.minimum_contract_payment is not None:
        body["minimumContractPayment"] = bridge.minimum_contract_payment
    return body
