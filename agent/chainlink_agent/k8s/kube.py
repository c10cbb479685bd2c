"""The Kubernetes API calls the agent makes, and nothing else: the Roles in the chart mirror this file.

The sidecar: chainlinkjobs and chainlinkbridges: list, watch; their /status: patch (server-side apply, by
the elected aggregator); chainlinkplacements: list, watch, create and patch (server-side apply), delete,
its own node's only (the chart's admission policy; the start-up self-test applies another node's as a dry
run, which that policy must refuse: admission.py); leases: create, and get and update of the aggregator's
(resourceNames); its own chainlinknode (resourceNames): get, and its /status: patch; configmaps: get
(tomlFrom, {{ configMap }}) and secrets: get (urlFrom, {{ secret }}), both limited to the names the chart
lists (resourceNames); events: create; with a standby, its release's two pods (resourceNames): get,
patch of their role label (role.py) and delete (rollout.py), and its StatefulSet (resourceNames): get.
release-node (the uninstall hook): chainlinkplacements: list, patch (its label released); statefulsets: get;
statefulsets/scale: patch.
backup (the backup Job, backup.py): its own chainlinknode (resourceNames): get, and its /status: patch
(server-side apply of status.backup only, as BACKUP_MANAGER); chainlinkplacements: list (this node's, saved
beside the dump: records.py). restore-fetch (the node pod's init container, as the sidecar's ServiceAccount):
chainlinkplacements: list (its node's), create (the backup's, released).
don (the CLI, as whoever runs it): chainlinknodes: list.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from chainlink_agent.model import placement
from chainlink_agent.model.conditions import now
from chainlink_agent.model.errors import Conflict, Gone, KubeError, KubeRejected, KubeUnavailable, NotFound
from chainlink_agent.model.resource import API_VERSION, GROUP, NODE_KIND, NODE_PLURAL, VERSION, Resource

log = logging.getLogger(__name__)
COMPONENT = "chainlink-agent"
LIST_PAGE = 100
AGGREGATOR = f"{COMPONENT}-aggregator"  # the field manager of the resources' status, and its Lease's name
# The backup Job's field manager: it owns status.backup of the ChainlinkNode, the agent the rest (SSA keeps
# each manager's fields; neither apply names the other's, so neither removes them).
# Not "<COMPONENT>-<node>" for any node: node names are DNS labels, with no dot.
BACKUP_MANAGER = f"{COMPONENT}.backup"
T = TypeVar("T")

# The paths the agent calls. Every call is a plain REST request through ApiClient.call_api: no generated API
# class is loaded (kubernetes 37's CoreV1Api alone imports 250 pydantic model modules, about 20 MiB of RSS),
# no argument goes through pydantic's validate_call, and every answer stays JSON.
_CUSTOM = "/apis/{group}/{version}/namespaces/{namespace}/{plural}"
_CORE = "/api/v1/namespaces/{namespace}"
_STATEFULSET = "/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"
_APPLY = "application/apply-patch+yaml"
_MERGE = "application/merge-patch+json"
_STRATEGIC = "application/strategic-merge-patch+json"  # what the client sent for a patch of a built-in kind

# (connect, read) seconds of each attempt of any call but a watch, which sets its own: without one, an
# apiserver that accepts the connection and never answers holds the calling loop (an election, a status
# write) for good.
REQUEST_TIMEOUT = (5.0, 30.0)
WATCH_TIMEOUT = (10.0, 90.0)


class ApiClient(client.ApiClient):  # type: ignore[misc]  # kubernetes is read as untyped (pyproject: mypy)
    """The Kubernetes boundary: every call raises a KubeError (errors.py) and nothing else, an unreachable
    apiserver's included (urllib3 raises its own errors: MaxRetryError after a refused connection,
    ProtocolError, timeouts, which a loop expecting the client's ApiException missed, and died of). Every
    call has a timeout (REQUEST_TIMEOUT unless it sets one).

    Since kubernetes 37 call_api only sends the request and returns the response unread: the generated API
    methods read the body and raise ApiException for a status other than 2xx after it returns. So the
    status is checked here, for every caller (a generated API class given this client included), and Kube
    reads each body under the same translation (_translated)."""

    def call_api(
        self,
        method: str,
        url: str,
        header_params: Mapping[str, str] | None = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        if _request_timeout is None:
            _request_timeout = REQUEST_TIMEOUT
        with _translated():
            response = super().call_api(
                method, url, header_params, body, post_params, _request_timeout=_request_timeout
            )
            if not 200 <= response.status <= 299:
                raise translate(response.status, _message(response.read(), response.reason))
        return response


_NAMED: dict[int, type[KubeRejected]] = {404: NotFound, 409: Conflict, 410: Gone}


def translate(status: int | None, message: str) -> KubeError:
    """The agent's error for an apiserver's answer: retry-worthy (none, 5xx, 429), named (404, 409, 410),
    or refused."""
    if not status or status >= 500 or status == 429:
        return KubeUnavailable(status or None, message)
    return _NAMED.get(status, KubeRejected)(status, message)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Raises what the client and urllib3 raise inside as KubeErrors."""
    try:
        yield
    except ApiException as exc:  # the REST layer's own: a TLS failure (status 0), a 429 retried to the end
        raise translate(exc.status, _message(exc.body, exc.reason)) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise _unanswered(exc) from exc


def _message(body: bytes | str | None, reason: str | None) -> str:
    """The apiserver's own words (its Status's message), not the response headers the client puts in
    str(ApiException)."""
    try:
        message = json.loads(body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or reason or "")


def _unanswered(exc: urllib3.exceptions.HTTPError) -> KubeUnavailable:
    return KubeUnavailable(None, f"the apiserver did not answer: {type(exc).__name__}")


def _cut(response: urllib3.BaseHTTPResponse) -> None:
    """Shuts the read side of a stream's socket: a read blocked on it in another thread returns. Nothing to
    do once the stream has ended."""
    with contextlib.suppress(ValueError, RuntimeError, OSError):
        response.shutdown()


def _observed(sts: dict[str, Any]) -> bool:
    """Whether the StatefulSet's controller has seen its current spec (its status is of that generation)."""
    observed = int((sts.get("status") or {}).get("observedGeneration") or 0)
    return observed >= int(sts["metadata"].get("generation") or 0)


def _json(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError as exc:  # not the apiserver (a proxy's error page), or cut short
        raise KubeUnavailable(None, "the apiserver's answer is not JSON") from exc


class Kube:
    def __init__(self, api_client: client.ApiClient, namespace: str, node: str) -> None:
        if not isinstance(api_client, ApiClient):  # a plain client (the tests'): the same boundary
            api_client = ApiClient(api_client.configuration)
        self._api_client = api_client
        self.namespace = namespace
        self.node = node
        # One field manager per node: each agent owns its placements and its ChainlinkNode's status.
        self.field_manager = f"{COMPONENT}-{node}"

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> Any:
        """One request, its status checked (ApiClient.call_api); the response (the client's RESTResponse),
        its body not read yet."""
        headers = {"Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        elif body is not None:
            headers["Content-Type"] = "application/json"
        request = self._api_client.param_serialize(
            method=method,
            resource_path=path,
            path_params=dict(params),
            query_params=[(key, value) for key, value in (query or {}).items() if value is not None],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        return self._api_client.call_api(*request, _request_timeout=timeout)

    def _call(self, *request: Any, **options: Any) -> Any:
        """One request, as _send takes it; its answer as JSON."""
        response = self._send(*request, **options)
        with _translated():
            data = response.read()
        return _json(data)

    def _custom(
        self, plural: str, name: str | None = None, namespace: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """The path and path parameters of one of the agent's kinds: the collection, or one object."""
        return self._object(GROUP, VERSION, plural, name, namespace)

    def _object(
        self, group: str, version: str, plural: str, name: str | None, namespace: str | None = None
    ) -> tuple[str, dict[str, str]]:
        params = {
            "group": group,
            "version": version,
            "namespace": namespace or self.namespace,
            "plural": plural,
        }
        if name is None:
            return _CUSTOM, params
        return f"{_CUSTOM}/{{name}}", {**params, "name": name}

    def list_objects(
        self, plural: str, convert: Callable[[dict[str, Any]], T], label_selector: str | None = None
    ) -> tuple[list[T], str]:
        """Every object, converted, in pages of LIST_PAGE as client-go's pager lists: each page is converted
        before the next is read, so the peak memory of a list is one page of decoded objects, not the whole
        namespace. All pages are of one snapshot, whose resourceVersion the watch starts from."""
        items: list[T] = []
        token: str | None = None
        path, params = self._custom(plural)
        while True:
            query = {"labelSelector": label_selector, "limit": LIST_PAGE, "continue": token}
            body = self._call("GET", path, params, query)
            items.extend(map(convert, body.get("items") or []))
            token = body["metadata"].get("continue")
            if not token:
                return items, str(body["metadata"]["resourceVersion"])

    def watch_objects(
        self,
        plural: str,
        resource_version: str,
        timeout_seconds: int,
        label_selector: str | None = None,
        opened: Callable[[Callable[[], None]], None] = lambda _cut: None,
    ) -> Iterator[dict[str, Any]]:
        """Raw watch events; the server ends the stream after timeout_seconds and bookmarks come every
        minute or so, so the read timeout only has to outlast one bookmark interval. `opened` is given, once
        the stream is open, what cuts it from another thread: the read then ends at once."""
        path, params = self._custom(plural)
        query = {
            "labelSelector": label_selector,
            "watch": True,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": True,
            "timeoutSeconds": timeout_seconds,
        }
        response = self._send("GET", path, params, query, timeout=WATCH_TIMEOUT).response  # urllib3's, unread
        opened(functools.partial(_cut, response))
        try:
            for line in iter_resp_lines(response):
                if not line.strip():
                    continue
                event = _json(line.encode())
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise translate(status.get("code"), str(status.get("message") or "watch error"))
                yield event
        except urllib3.exceptions.HTTPError as exc:  # the stream broke off
            raise _unanswered(exc) from exc
        finally:
            response.close()
            response.release_conn()

    def config_map_value(self, name: str, key: str) -> str | None:
        """None when the ConfigMap or the key is missing: the resource waits for it."""
        cm = _unless_missing(lambda: self._call("GET", f"{_CORE}/configmaps/{{name}}", self._named(name)))
        return None if cm is None else (cm.get("data") or {}).get(key)

    def secret(self, name: str) -> client.V1Secret | None:
        """None when the Secret is missing. Only references.py calls this, after the allowlist."""
        found = _unless_missing(lambda: self._call("GET", f"{_CORE}/secrets/{{name}}", self._named(name)))
        return None if found is None else client.V1Secret.from_dict(found)

    def _named(self, name: str) -> dict[str, str]:
        return {"namespace": self.namespace, "name": name}

    def apply_placement(self, obj: Resource, entry: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of this node's placement for obj, made if missing: one request either way."""
        made: dict[str, Any] = self._apply_placement(placement.body(obj, self.node, entry))
        return made

    def dry_run_placement(self, obj: Resource, node: str) -> None:
        """A server-side dry run (dryRun=All: admitted or refused, never stored) of applying `node`'s
        placement for obj: the admission self-test's one call (admission.py), which admission must refuse for
        any node but this one. Takes what apply_placement does: create and patch."""
        self._apply_placement(placement.body(obj, node, {}), dry_run="All")

    def _apply_placement(self, body: dict[str, Any], dry_run: str | None = None) -> Any:
        meta = body["metadata"]
        path, params = self._custom(placement.PLURAL, meta["name"], meta["namespace"])
        query = {"fieldManager": self.field_manager, "force": True, "dryRun": dry_run}
        return self._call("PATCH", path, params, query, body, _APPLY)

    def mark_released(self, name: str, released: bool) -> dict[str, Any]:
        """Sets (release-node) or removes (the agent back on the node's database) the placement `name`'s
        placement.RELEASED_LABEL; returns the placement."""
        labels = {placement.RELEASED_LABEL: "true" if released else None}  # null: a merge patch removes it
        path, params = self._custom(placement.PLURAL, name)
        marked: dict[str, Any] = self._call(
            "PATCH", path, params, None, {"metadata": {"labels": labels}}, _MERGE
        )
        return marked

    def chainlink_nodes(self, label_selector: str | None) -> list[dict[str, Any]]:
        """The namespace's ChainlinkNodes, whole (the `don` command's one read)."""
        items, _ = self.list_objects(NODE_PLURAL, lambda obj: obj, label_selector)
        return items

    def node_placements(self) -> list[dict[str, Any]]:
        """This node's placements, whole (the backup saves them beside its dump: records.py)."""
        items, _ = self.list_objects(placement.PLURAL, lambda obj: obj, f"{placement.NODE_LABEL}={self.node}")
        return items

    def create_placement(self, body: dict[str, Any]) -> bool:
        """Makes the placement `body` (a restore's); False when one of its name exists already, kept as is."""
        path, params = self._custom(placement.PLURAL)
        try:
            self._call("POST", path, params, {"fieldManager": self.field_manager}, body)
        except Conflict:
            return False
        return True

    def delete_placement(self, kind: str, name: str) -> None:
        """Deletes this node's placement for the resource `name` of `kind`; gone already is fine."""
        path, params = self._custom(placement.PLURAL, placement.name(kind, name, self.node))
        _unless_missing(lambda: self._call("DELETE", path, params))

    def apply_summary(self, obj: Resource, status: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of a resource's whole status (every node's entry): the aggregator's write."""
        body = {
            "apiVersion": API_VERSION,
            "kind": obj.KIND,
            "metadata": {"name": obj.name, "namespace": obj.namespace},
            "status": status,
        }
        path, params = self._custom(obj.PLURAL, obj.name, obj.namespace)
        query = {"fieldManager": AGGREGATOR, "force": True}
        applied: dict[str, Any] = self._call("PATCH", f"{path}/status", params, query, body, _APPLY)
        return applied

    def _lease(self, name: str | None) -> tuple[str, dict[str, str]]:
        return self._object("coordination.k8s.io", "v1", "leases", name)

    def lease(self, name: str) -> dict[str, Any] | None:
        path, params = self._lease(name)
        return _unless_missing(lambda: self._call("GET", path, params))

    def write_lease(self, name: str, spec: dict[str, Any], resource_version: str | None) -> dict[str, Any]:
        """Creates the Lease (resource_version None) or replaces it only if it is still at resource_version:
        a 409 (someone else wrote it first) is the caller's to handle."""
        meta: dict[str, Any] = {"name": name, "namespace": self.namespace}
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}
        if resource_version is None:
            path, params = self._lease(None)
            made: dict[str, Any] = self._call("POST", path, params, None, body)
            return made
        meta["resourceVersion"] = resource_version
        path, params = self._lease(name)
        replaced: dict[str, Any] = self._call("PUT", path, params, None, body)
        return replaced

    def chainlink_node(self) -> dict[str, Any] | None:
        """This node's ChainlinkNode; None while it does not exist."""
        path, params = self._custom(NODE_PLURAL, self.node)
        return _unless_missing(lambda: self._call("GET", path, params))

    def pod(self, name: str) -> dict[str, Any] | None:
        """A pod of this node's release as plain JSON; None when missing."""
        return _unless_missing(lambda: self._call("GET", f"{_CORE}/pods/{{name}}", self._named(name)))

    def label_pod(self, name: str, key: str, value: str) -> None:
        body = {"metadata": {"labels": {key: value}}}
        self._call("PATCH", f"{_CORE}/pods/{{name}}", self._named(name), None, body, _STRATEGIC)

    def delete_pod(self, name: str) -> None:
        """A graceful delete: the pod's node releases the database lease as it stops."""
        _unless_missing(lambda: self._call("DELETE", f"{_CORE}/pods/{{name}}", self._named(name)))

    def statefulset_update_revision(self, name: str) -> str | None:
        """The revision the StatefulSet's pods should be of; None until its controller has seen its spec."""
        sts = self._statefulset(name)
        if sts is None:
            return None
        if not _observed(sts):
            return None
        return (sts.get("status") or {}).get("updateRevision") or None

    def apply_node_status(self, status: dict[str, Any]) -> None:
        """Server-side apply of this node's ChainlinkNode status, the whole of it (this agent owns it)."""
        self._apply_node_status(status, self.field_manager)

    def apply_backup_status(self, backup: dict[str, Any]) -> None:
        """Server-side apply of this node's ChainlinkNode status.backup, the whole of it, as BACKUP_MANAGER:
        the sidecar's apply_node_status leaves that field out and this one names nothing else, so each keeps
        its own fields."""
        self._apply_node_status({"backup": backup}, BACKUP_MANAGER)

    def _apply_node_status(self, status: dict[str, Any], manager: str) -> None:
        body = {
            "apiVersion": API_VERSION,
            "kind": NODE_KIND,
            "metadata": {"name": self.node, "namespace": self.namespace},
            "status": status,
        }
        path, params = self._custom(NODE_PLURAL, self.node)
        self._call("PATCH", f"{path}/status", params, {"fieldManager": manager, "force": True}, body, _APPLY)

    def scale_to_zero(self, statefulset: str) -> None:
        body = {"spec": {"replicas": 0}}
        self._call("PATCH", f"{_STATEFULSET}/scale", self._named(statefulset), None, body, _STRATEGIC)

    def statefulset_pods(self, statefulset: str) -> int:
        """Pods the StatefulSet still has (terminating ones included); 0 when it does not exist."""
        sts = self._statefulset(statefulset)
        return 0 if sts is None else int((sts.get("status") or {}).get("replicas") or 0)

    def statefulset_outdated_pods(self, statefulset: str) -> int:
        """Pods still of an older revision than the StatefulSet's spec (all of them until the controller
        has seen the spec); 0 when it does not exist."""
        sts = self._statefulset(statefulset)
        if sts is None:
            return 0
        status = sts.get("status")
        if not status or not _observed(sts):
            return max(1, int((sts.get("spec") or {}).get("replicas") or 0))
        if status.get("currentRevision") == status.get("updateRevision"):
            return 0
        return int(status.get("replicas") or 0) - int(status.get("updatedReplicas") or 0)

    def _statefulset(self, name: str) -> dict[str, Any] | None:
        return _unless_missing(lambda: self._call("GET", _STATEFULSET, self._named(name)))

    def emit_event(self, obj: Resource, event_type: str, reason: str, message: str) -> None:
        timestamp = now()
        event = {
            "metadata": {"name": f"{obj.name}.{uuid.uuid4().hex[:16]}", "namespace": obj.namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": obj.KIND,
                "name": obj.name,
                "namespace": obj.namespace,
                "uid": obj.uid,
                "resourceVersion": obj.resource_version,
            },
            "type": event_type,
            "reason": reason,
            "message": f"node {self.node}: {message}"[:1024],
            "source": {"component": COMPONENT, "host": self.node},
            "reportingComponent": f"{GROUP}/agent",
            "reportingInstance": self.node,
            "firstTimestamp": timestamp,
            "lastTimestamp": timestamp,
            "count": 1,
        }
        try:
            self._call("POST", f"{_CORE}/events", {"namespace": obj.namespace}, None, event)
        except KubeError as exc:
            # An Event is a courtesy: losing one must not fail the reconcile that produced it.
            log.warning(
                "could not record event", extra={"key": obj.key, "reason": reason, "status": exc.status}
            )


def _unless_missing(read: Callable[[], T]) -> T | None:
    """read()'s answer, or None when the object does not exist (404)."""
    try:
        return read()
    except NotFound:
        return None
