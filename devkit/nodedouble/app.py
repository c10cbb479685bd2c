"""The node double's HTTP API: a werkzeug application over a NodeState.

Routes, statuses and bodies follow the node's gin router and controllers (smartcontractkit/chainlink;
commits as read_file returned them):
- core/web/router.go @ a64a9282eca372ddd994d6f00c46432626f9146b (v2Routes, sessionRoutes, healthRoutes)
  and the recent v2 router (same job, bridge and key routes; PUT /v2/jobs/:ID since PR #7696).
- core/web/auth/auth.go (v2 version): Authenticate answers 401 with the auth method's error.
- core/web/helpers.go @ 67040acef1e177edccceb1572d3124e82f66809f: jsonAPIError answers
  {"errors":[{"detail": err.Error()}]} as application/json; jsonAPIResponse answers
  application/vnd.api+json (core/web/api.go MediaType); paginatedRequest answers 422 for bad params.
- core/store/models/errors.go @ adbd7f9028cfda0aaa00dbd74025e3084780aaf6: JSONAPIErrors.
- ulule/limiter's gin middleware (mgin): over the limit, 429 text/plain "Limit exceeded".
- core/web/router.go @ v2.23.0: /metrics is on the engine itself (prometheusUse), before the rate-limited,
  session group; GET /v2/nodes/evm is nodesController.Index (core/web/nodes_controller.go).

Anything under /__double/ is NOT part of the node's API: it is the double's own control surface
(call statistics, reset, fault injection).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug import Request, Response

from devkit.nodedouble import golike, presenters
from devkit.nodedouble.keys import OCRKey
from devkit.nodedouble.spec import NodeError, validate_job_spec
from devkit.nodedouble.state import NodeState, parse_bridge_name

SESSION_COOKIE = "clsession"  # core/web/auth/auth.go SessionName
SESSION_MAX_AGE = 86400 * 30  # WebServer SessionOptions MaxAge
JSONAPI_MEDIA_TYPE = "application/vnd.api+json"
GIN_JSON = "application/json; charset=utf-8"
JOBS_UNPAGED_SIZE = 1000  # JobsController.Index: "if no size is passed in, use a large page size"
PAGINATION_DEFAULT = 25  # core/web/api.go PaginationDefault
# What /v2/build_info reports: the double follows the node version the real-node lane builds.
VERSION, COMMIT_SHA = "2.23.0", "0000000000000000000000000000000000000000"
HEALTH_CHECKS = ["JobSpawner", "PipelineORM", "PipelineRunner"]  # names of some of a node's services
FAULT_ACTIONS = ("status", "hang", "drop", "expire_sessions")


@dataclass(frozen=True)
class RateLimit:
    """ulule/limiter rate: at most `limit` requests per client IP per fixed window of `period` seconds."""

    limit: int
    period: float


# WebServer.RateLimit defaults (core/config/docs/core.toml): Authenticated = 1000 per 1m on every route,
# Unauthenticated = 5 per 20s on POST /sessions (router.go sessionRoutes; router_test.go
# TestSessions_RateLimited expects the 6th login in a row to get 429).
AUTHENTICATED_RATE = RateLimit(1000, 60.0)
UNAUTHENTICATED_RATE = RateLimit(5, 20.0)


class _Limiter:
    """ulule/limiter's memory store: a counter per key, reset when its window ends."""

    def __init__(self, rate: RateLimit) -> None:
        self.rate = rate
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> tuple[dict[str, str], bool]:
        """Count one request; return the X-RateLimit-* headers and whether the limit is exceeded."""
        with self._lock:
            now = time.time()
            ends, count = self._windows.get(key, (0.0, 0))
            if now >= ends:
                ends, count = now + self.rate.period, 0
            count += 1
            self._windows[key] = (ends, count)
        headers = {
            "X-RateLimit-Limit": str(self.rate.limit),
            "X-RateLimit-Remaining": str(max(self.rate.limit - count, 0)),
            "X-RateLimit-Reset": str(int(ends)),
        }
        return headers, count > self.rate.limit


@dataclass
class Fault:
    """A double-only fault for the next `count` calls of `route` ("METHOD /pattern", or "*" for any)."""

    action: str
    route: str = "*"
    count: int = 1
    status: int = 500
    seconds: float = 0.0
    after: bool = False  # hang / drop after doing the work instead of before

    def __post_init__(self) -> None:
        if self.action not in FAULT_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(FAULT_ACTIONS)}")
        typed = (
            isinstance(self.route, str)
            and all(type(value) is int for value in (self.count, self.status))
            and type(self.seconds) in (int, float)
            and type(self.after) is bool
        )
        if not typed:
            raise ValueError(
                "route is a string, count and status integers, seconds a number, after a boolean"
            )


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: str
    handler: Callable[[NodeDoubleApp, Request, dict[str, str]], Response]
    authenticated: bool
    login: bool = False
    limited: bool = True  # by the authenticated rate limit, which every route but /metrics is


def _json(status: int, body: Any, content_type: str) -> Response:
    return Response(golike.marshal(body), status=status, content_type=content_type)


def jsonapi(body: Any) -> Response:
    """jsonAPIResponse: 200 with the api2go document."""
    return _json(200, body, JSONAPI_MEDIA_TYPE)


def api_error(status: int, *details: str) -> Response:
    """jsonAPIError: gin's c.JSON of models.JSONAPIErrors."""
    return _json(status, {"errors": [{"detail": detail} for detail in details]}, GIN_JSON)


def _pagination(request: Request) -> tuple[int, int, int]:
    """core/web/api.go ParsePaginatedRequest: (size, page, offset); errors are fmt.Errorf(..., %w, err)
    so a value that parses but is below 1 prints Go's "%!w(<nil>)"."""
    size, page = PAGINATION_DEFAULT, 1
    for name in ("size", "page"):
        raw = request.args.get(name, "")
        if raw == "":
            continue
        try:
            value = golike.atoi(raw)
            reason = "%!w(<nil>)"
        except ValueError as exc:
            value, reason = 0, str(exc)
        if value < 1:
            raise NodeError(422, f"invalid {name} param, error: {reason}")
        size, page = (value, page) if name == "size" else (size, value)
    return size, page, (page - 1) * size


def _job_id(raw: str) -> int:
    """job.Job.SetID: strconv.ParseInt(value, 10, 32); the controllers answer 422 for its errors."""
    try:
        return golike.parse_int(raw, 32)
    except ValueError as exc:
        raise NodeError(422, str(exc)) from exc


def _bridge_name(raw: str) -> str:
    try:
        return parse_bridge_name(raw)
    except ValueError as exc:
        raise NodeError(422, str(exc)) from exc


def _bind(request: Request, go_type: str, fields: dict[str, str]) -> dict[str, Any]:
    """c.ShouldBindJSON, which the job and bridge controllers answer with 422 when it fails."""
    try:
        return golike.bind_json(request.get_data(), go_type, fields)
    except golike.BindError as exc:
        raise NodeError(422, str(exc)) from exc


class NodeDoubleApp:
    """WSGI application; `handle` also serves as a pytest-httpserver handler."""

    def __init__(
        self,
        state: NodeState,
        *,
        latency_ms: dict[str, float] | None = None,
        authenticated_rate: RateLimit | None = AUTHENTICATED_RATE,
        unauthenticated_rate: RateLimit | None = UNAUTHENTICATED_RATE,
        secure_cookies: bool = False,
        disabled_features: frozenset[str] = frozenset(),
    ) -> None:
        self.state = state
        # Per-method delay before each node call ("*" for any method), for benchmarks.
        self.latency_ms = dict(latency_ms or {})
        # WebServer.SecureCookies defaults to true on the node; plain-HTTP deployments turn it off.
        self.secure_cookies = secure_cookies
        self.disabled_features = disabled_features
        self._rates = (authenticated_rate, unauthenticated_rate)
        self._lock = threading.Lock()
        self._reset_controls()

    def _reset_controls(self) -> None:
        with self._lock:
            self.calls: Counter[str] = Counter()
            self.faults: list[Fault] = []
            authenticated, unauthenticated = self._rates
            self._limiter = _Limiter(authenticated) if authenticated else None
            self._login_limiter = _Limiter(unauthenticated) if unauthenticated else None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    # Double-only controls ----------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def inject(self, fault: Fault) -> None:
        if fault.action == "expire_sessions":
            self.state.expire_sessions()
            return
        with self._lock:
            self.faults.append(fault)

    def reset(self) -> None:
        self.state.reset()
        self._reset_controls()

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            for wanted in (route, "*"):
                for fault in self.faults:
                    if fault.route == wanted and fault.count > 0:
                        fault.count -= 1
                        return fault
        return None

    def _control(self, request: Request) -> Response:
        action = f"{request.method} {request.path}"
        if action == "GET /__double/stats":
            return _json(200, self.stats(), "application/json")
        if action == "POST /__double/reset":
            self.reset()
            return Response(status=204)
        if action == "DELETE /__double/faults":
            with self._lock:
                self.faults.clear()
            return Response(status=204)
        if action == "POST /__double/faults":
            try:
                fault = Fault(**json.loads(request.get_data() or b"null"))
            except (TypeError, ValueError) as exc:
                return _json(400, {"error": f"bad fault: {exc}"}, "application/json")
            self.inject(fault)
            return _json(201, asdict(fault), "application/json")
        return _json(404, {"error": f"no double control {action}"}, "application/json")

    # Request handling ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/__double/"):
            return self._control(request)
        route, params = self._match(request.method, request.path)
        key = f"{request.method} {route.pattern}" if route else f"{request.method} <no route>"
        with self._lock:
            self.calls[key] += 1
        if route is None:
            return Response(status=404)  # router.go guiAssetRoutes: unmatched /v2/... -> AbortWithStatus(404)
        delay = self.latency_ms.get(request.method, self.latency_ms.get("*", 0.0))
        if delay:
            time.sleep(delay / 1000)
        fault = self._take_fault(key)
        if fault is not None and fault.action == "status":
            return api_error(fault.status, "fault injected by the node double")
        if fault is not None and not fault.after:
            self._apply(fault, request)
            if fault.action == "drop":
                return Response(status=500)  # never delivered: the connection is already gone
        response = self._serve(route, params, request)
        if fault is not None and fault.after:
            self._apply(fault, request)
        return response

    @staticmethod
    def _apply(fault: Fault, request: Request) -> None:
        if fault.action == "hang":
            time.sleep(fault.seconds)
        elif fault.action == "drop":
            # werkzeug's server treats the failed write of the answer as a dropped connection.
            connection = request.environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        segments = path.split("/")
        for route in ROUTES:
            pattern = route.pattern.split("/")
            if route.method != method or len(pattern) != len(segments):
                continue
            params = {}
            for want, have in zip(pattern, segments, strict=True):
                if want.startswith(":") and have:
                    params[want[1:]] = have
                elif want != have:
                    break
            else:
                return route, params
        return None, {}

    def _serve(self, route: _Route, params: dict[str, str], request: Request) -> Response:
        headers: dict[str, str] = {}
        client = request.remote_addr or ""
        limiters = (self._limiter if route.limited else None, self._login_limiter if route.login else None)
        for limiter in limiters:
            if limiter is not None:
                headers, exceeded = limiter.hit(client)
                if exceeded:
                    return Response(
                        "Limit exceeded",
                        status=429,
                        headers=headers,
                        content_type="text/plain; charset=utf-8",
                    )
        try:
            if route.authenticated:
                self.state.authenticate(request.cookies.get(SESSION_COOKIE))
            response = route.handler(self, request, params)
        except NodeError as exc:
            response = api_error(exc.status, *exc.details)
        response.headers.update(headers)
        return response

    # Sessions: core/web/sessions_controller.go @ e0c14a0a -------------------------------------

    def create_session(self, request: Request, _: dict[str, str]) -> Response:
        fields = {"email": "string", "password": "string", "webauthndata": "string"}
        try:
            login = golike.bind_json(request.get_data(), "sessions.SessionRequest", fields)
        except golike.BindError as exc:
            raise NodeError(400, f"error binding json {exc}") from exc
        token = self.state.login(login["email"], login["password"])
        response = jsonapi(presenters.session(True))
        # gin-contrib/sessions cookie store with config.SessionOptions(): no Path is set.
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_MAX_AGE,
            expires=datetime.now(UTC) + timedelta(seconds=SESSION_MAX_AGE),
            path=None,
            secure=self.secure_cookies,
            httponly=True,
            samesite="Strict",
        )
        return response

    def destroy_session(self, request: Request, _: dict[str, str]) -> Response:
        # Destroy deletes the session row and clears the cookie session without saving it, so no
        # Set-Cookie is sent: the client keeps a cookie that now gets ErrUserSessionExpired.
        self.state.logout(request.cookies.get(SESSION_COOKIE, ""))
        return jsonapi(presenters.session(False))

    # Health: core/web/health_controller.go @ 3a05139c -----------------------------------------

    def health(self, request: Request, _: dict[str, str]) -> Response:
        return jsonapi(presenters.checks(HEALTH_CHECKS))

    def readyz(self, request: Request, _: dict[str, str]) -> Response:
        if "full" in request.args:
            return jsonapi(presenters.checks(HEALTH_CHECKS))
        return Response(status=200)  # c.Status(200) with no body unless ?full

    # core/web/build_info_controller.go Show (v2.23.0): c.JSON, plain JSON rather than JSON:API.

    def build_info(self, _: Request, __: dict[str, str]) -> Response:
        return _json(200, {"version": VERSION, "commitSHA": COMMIT_SHA}, "application/json; charset=utf-8")

    # Jobs: core/web/jobs_controller.go @ f12ac0fd ----------------------------------------------

    def list_jobs(self, request: Request, _: dict[str, str]) -> Response:
        size, page, offset = _pagination(request)
        if request.args.get("size", "") == "":
            size = JOBS_UNPAGED_SIZE  # the offset stays the one computed from the default size
        jobs, count = self.state.list_jobs(offset, size)
        query = request.query_string.decode()
        return jsonapi(
            presenters.paginated(request.path, query, size, page, count, [presenters.job(j) for j in jobs])
        )

    def show_job(self, _: Request, params: dict[str, str]) -> Response:
        # Show: ":ID could be both job ID and external job ID" (a UUID is tried first).
        try:
            job = self.state.find_job_by_external_id(golike.parse_uuid(params["ID"]))
        except ValueError:
            job = self.state.find_job(_job_id(params["ID"]))
        if job is None:
            raise NodeError(404, "job not found")
        return jsonapi(presenters.document(presenters.job(job)))

    def create_job(self, request: Request, _: dict[str, str]) -> Response:
        toml = _bind(request, "web.CreateJobRequest", {"toml": "string"})["toml"]
        job = self.state.add_job(validate_job_spec(toml, self.disabled_features))
        return jsonapi(presenters.document(presenters.job(job)))  # 200, not 201

    def update_job(self, request: Request, params: dict[str, str]) -> Response:
        # Update: validate the new TOML, then delete the job and add the new spec under the same ID.
        toml = _bind(request, "web.UpdateJobRequest", {"toml": "string"})["toml"]
        spec = validate_job_spec(toml, self.disabled_features)
        job = self.state.replace_job(_job_id(params["ID"]), spec)
        return jsonapi(presenters.document(presenters.job(job)))

    def delete_job(self, _: Request, params: dict[str, str]) -> Response:
        self.state.delete_job(_job_id(params["ID"]))
        return Response(status=204, content_type=JSONAPI_MEDIA_TYPE)

    # Bridges: core/web/bridge_types_controller.go @ 6f509cb0 ------------------------------------

    def _bridge_request(self, request: Request) -> tuple[str, str, int, str | None]:
        """Bind a bridges.BridgeTypeRequest (422), then ValidateBridgeType (400, every problem listed)."""
        fields = {"name": "any", "url": "string", "confirmations": "uint32", "minimumContractPayment": "any"}
        body = _bind(request, "bridges.BridgeTypeRequest", fields)
        name, payment = body["name"] or "", body["minimumContractPayment"]
        if not isinstance(name, str):
            raise NodeError(
                422, f"json: cannot unmarshal {golike.json_kind(name)} into Go value of type string"
            )
        name = _bridge_name(name)  # BridgeName.UnmarshalJSON runs ParseBridgeName
        if payment is not None and (isinstance(payment, bool) or not str(payment).lstrip("-").isdigit()):
            # assets.Link's own decoding error is not reproduced; the status is the node's.
            raise NodeError(
                422, f"json: cannot unmarshal {json.dumps(payment)} into Go value of type assets.Link"
            )
        problems = []
        if not name:
            problems.append("No name specified")
        if not body["url"].strip():
            problems.append("URL must be present")
        if payment is not None and int(payment) < 0:
            problems.append("MinimumContractPayment must be positive")
        if problems:
            raise NodeError(400, *problems)
        return name, body["url"], body["confirmations"] or 0, None if payment is None else str(int(payment))

    def _existing_bridge(self, raw_name: str) -> str:
        name = _bridge_name(raw_name)
        if self.state.find_bridge(name) is None:
            raise NodeError(404, "bridge not found")
        return name

    def list_bridges(self, request: Request, _: dict[str, str]) -> Response:
        size, page, offset = _pagination(request)
        bridges, count = self.state.list_bridges(offset, size)
        data = [presenters.bridge(b) for b in bridges]
        query = request.query_string.decode()
        return jsonapi(presenters.paginated(request.path, query, size, page, count, data))

    def create_bridge(self, request: Request, _: dict[str, str]) -> Response:
        bridge = self.state.create_bridge(*self._bridge_request(request))
        return jsonapi(presenters.document(presenters.bridge(bridge, with_incoming_token=True)))

    def show_bridge(self, _: Request, params: dict[str, str]) -> Response:
        bridge = self.state.find_bridge(self._existing_bridge(params["BridgeName"]))
        assert bridge is not None
        return jsonapi(presenters.document(presenters.bridge(bridge)))

    def update_bridge(self, request: Request, params: dict[str, str]) -> Response:
        name = self._existing_bridge(params["BridgeName"])
        _, url, confirmations, payment = self._bridge_request(request)
        return jsonapi(
            presenters.document(
                presenters.bridge(self.state.update_bridge(name, url, confirmations, payment))
            )
        )

    def delete_bridge(self, _: Request, params: dict[str, str]) -> Response:
        name = self._existing_bridge(params["BridgeName"])
        # FindJobIDsWithBridge is given the name as written in the URL, not lowercased.
        using = self.state.jobs_using_bridge(params["BridgeName"])
        if using:
            ids = " ".join(map(str, using))
            raise NodeError(409, f"can't remove the bridge because jobs [{ids}] are associated with it")
        return jsonapi(presenters.document(presenters.bridge(self.state.delete_bridge(name))))

    # Keys: core/web/eth_keys_controller.go @ d885f303, p2p/ocr2 keys controllers -----------------

    def eth_keys(self, _: Request, __: dict[str, str]) -> Response:
        keys = [
            presenters.eth_key(k, self.state.balance(k.address, k.evm_chain_id)) for k in self.state.eth_keys
        ]
        return jsonapi(presenters.document(keys))

    # Chains: core/web/nodes_controller.go Index (v2.23.0). The RPC nodes of every chain, in config order;
    # meta.count is their number (relayer_chain_interoperators.go NodeStatuses).

    def rpc_nodes(self, request: Request, _: dict[str, str]) -> Response:
        size, page, offset = _pagination(request)
        nodes = [
            presenters.rpc_node(chain.id, name, state)
            for chain in self.state.chains.values()
            for name, state in chain.rpcs.items()
        ]
        query = request.query_string.decode()
        data = nodes[offset : offset + size]
        return jsonapi(presenters.paginated(request.path, query, size, page, len(nodes), data))

    def metrics(self, _: Request, __: dict[str, str]) -> Response:
        """Of the node's series, the head tracker's (chain ID -> highest head seen), as promhttp writes the
        text format to a client that does not ask for OpenMetrics."""
        heads = [(chain.id, chain.head()) for chain in self.state.chains.values()]
        lines = [
            "# HELP head_tracker_current_head The highest seen head number",
            "# TYPE head_tracker_current_head gauge",
            *(
                f'head_tracker_current_head{{evmChainID="{i}"}} {head}'
                for i, head in heads
                if head is not None
            ),
        ]
        return Response("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4; charset=utf-8")

    def p2p_keys(self, _: Request, __: dict[str, str]) -> Response:
        return jsonapi(presenters.document([presenters.p2p_key(k) for k in self.state.p2p_keys]))

    def csa_keys(self, _: Request, __: dict[str, str]) -> Response:
        return jsonapi(presenters.document([presenters.csa_key(k) for k in self.state.csa_keys]))

    def ocr2_keys(self, _: Request, __: dict[str, str]) -> Response:
        # NewOCR2KeysBundleResources sorts by chain type, then ID.
        keys = sorted(self.state.ocr2_keys, key=lambda k: (k.chain_type, k.id))
        return jsonapi(presenters.document([presenters.ocr2_key(k) for k in keys]))

    # core/web/ocr2_keys_controller.go @ 11b8439b32160eaeab966606f6f2221028f305f6 (Create, Delete: 200 with
    # the bundle) and core/web/ocr_keys_controller.go (Index), routed in router.go @ a64a9282.

    def create_ocr2_key(self, _: Request, params: dict[str, str]) -> Response:
        key = self.state.create_ocr2_key(params["chainType"])
        return jsonapi(presenters.document(presenters.ocr2_key(key)))

    def delete_ocr2_key(self, _: Request, params: dict[str, str]) -> Response:
        return jsonapi(presenters.document(presenters.ocr2_key(self.state.delete_ocr2_key(params["keyID"]))))

    def ocr_keys(self, _: Request, __: dict[str, str]) -> Response:
        # The double makes no OCR (v1) bundles of its own, as a node with OCR disabled; imported ones show.
        return jsonapi(presenters.document([presenters.ocr_key(k) for k in self.state.ocr_keys]))

    # ocr_keys_controller.go and ocr2_keys_controller.go Import @ df3df9d2: the body is the export JSON,
    # `oldpassword` a query parameter; any keystore error is a 500, the bundle a 200.

    def import_ocr_key(self, request: Request, _: dict[str, str]) -> Response:
        return self._import_key_bundle("OCR", request)

    def import_ocr2_key(self, request: Request, _: dict[str, str]) -> Response:
        return self._import_key_bundle("OCR2", request)

    # ocr2_keys_controller.go Export @ df3df9d2: `newpassword` a query parameter; the export JSON is answered
    # 200 as MediaType (application/vnd.api+json), any keystore error 500.

    def export_ocr2_key(self, request: Request, params: dict[str, str]) -> Response:
        body = self.state.export_ocr2_key(params["ID"], request.args.get("newpassword", ""))
        return Response(body, status=200, content_type="application/vnd.api+json")

    def _import_key_bundle(self, key_type: str, request: Request) -> Response:
        password = request.args.get("oldpassword", "")
        key = self.state.import_key_bundle(key_type, request.get_data(), password)
        shown = presenters.ocr_key(key) if isinstance(key, OCRKey) else presenters.ocr2_key(key)
        return jsonapi(presenters.document(shown))


ROUTES = [
    _Route("POST", "/sessions", NodeDoubleApp.create_session, authenticated=False, login=True),
    _Route("DELETE", "/sessions", NodeDoubleApp.destroy_session, authenticated=True),
    _Route("GET", "/health", NodeDoubleApp.health, authenticated=False),
    _Route("GET", "/readyz", NodeDoubleApp.readyz, authenticated=False),
    _Route("GET", "/metrics", NodeDoubleApp.metrics, authenticated=False, limited=False),
    _Route("GET", "/v2/nodes/evm", NodeDoubleApp.rpc_nodes, authenticated=True),
    _Route("GET", "/v2/jobs", NodeDoubleApp.list_jobs, authenticated=True),
    _Route("GET", "/v2/jobs/:ID", NodeDoubleApp.show_job, authenticated=True),
    _Route("POST", "/v2/jobs", NodeDoubleApp.create_job, authenticated=True),
    _Route("PUT", "/v2/jobs/:ID", NodeDoubleApp.update_job, authenticated=True),
    _Route("DELETE", "/v2/jobs/:ID", NodeDoubleApp.delete_job, authenticated=True),
    _Route("GET", "/v2/bridge_types", NodeDoubleApp.list_bridges, authenticated=True),
    _Route("POST", "/v2/bridge_types", NodeDoubleApp.create_bridge, authenticated=True),
    _Route("GET", "/v2/bridge_types/:BridgeName", NodeDoubleApp.show_bridge, authenticated=True),
    _Route("PATCH", "/v2/bridge_types/:BridgeName", NodeDoubleApp.update_bridge, authenticated=True),
    _Route("DELETE", "/v2/bridge_types/:BridgeName", NodeDoubleApp.delete_bridge, authenticated=True),
    _Route("GET", "/v2/keys/eth", NodeDoubleApp.eth_keys, authenticated=True),
    _Route("GET", "/v2/keys/p2p", NodeDoubleApp.p2p_keys, authenticated=True),
    _Route("GET", "/v2/keys/csa", NodeDoubleApp.csa_keys, authenticated=True),
    _Route("GET", "/v2/build_info", NodeDoubleApp.build_info, authenticated=True),
    _Route("GET", "/v2/keys/ocr2", NodeDoubleApp.ocr2_keys, authenticated=True),
    # gin matches a static segment before a parameter: /keys/ocr2/import is not a chain type.
    _Route("POST", "/v2/keys/ocr2/import", NodeDoubleApp.import_ocr2_key, authenticated=True),
    _Route("POST", "/v2/keys/ocr2/export/:ID", NodeDoubleApp.export_ocr2_key, authenticated=True),
    _Route("POST", "/v2/keys/ocr2/:chainType", NodeDoubleApp.create_ocr2_key, authenticated=True),
    _Route("DELETE", "/v2/keys/ocr2/:keyID", NodeDoubleApp.delete_ocr2_key, authenticated=True),
    _Route("GET", "/v2/keys/ocr", NodeDoubleApp.ocr_keys, authenticated=True),
    _Route("POST", "/v2/keys/ocr/import", NodeDoubleApp.import_ocr_key, authenticated=True),
]
