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

import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from . import placement
from .conditions import now
from .errors import Conflict, Gone, KubeError, KubeRejected, KubeUnavailable, NotFound
from .resource import API_VERSION, GROUP, NODE_KIND, NODE_PLURAL, VERSION, Resource

log = logging.getLogger(__name__)
COMPONENT = "chainlink-agent"
LIST_PAGE = 100
AGGREGATOR = f"{COMPONENT}-aggregator"  # the field manager of the resources' status, and its Lease's name
# The backup Job's field manager: it owns status.backup of the ChainlinkNode, the agent the rest (SSA keeps
# each manager's fields; neither apply names the other's, so neither removes them).
# Not "<COMPONENT>-<node>" for any node: node names are DNS labels, with no dot.
BACKUP_MANAGER = f"{COMPONENT}.backup"
_LEASES = ("coordination.k8s.io", "v1", "leases")
T = TypeVar("T")


# (connect, read) seconds of each attempt of any call but a watch, which sets its own: without one, an
# apiserver that accepts the connection and never answers holds the calling loop (an election, a status
# write) for good.
REQUEST_TIMEOUT = (5.0, 30.0)


class ApiClient(client.ApiClient):  # type: ignore[misc]  # the client is untyped
    """The Kubernetes boundary: every call raises a KubeError (errors.py) and nothing else, an unreachable
    apiserver's included (urllib3 raises its own errors: MaxRetryError after a refused connection,
    ProtocolError, timeouts, which a loop expecting the client's ApiException missed, and died of). Every
    call has a timeout (REQUEST_TIMEOUT unless it sets one)."""

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("_request_timeout") is None:
            kwargs["_request_timeout"] = REQUEST_TIMEOUT
        try:
            return super().call_api(*args, **kwargs)
        except ApiException as exc:
            raise translate(exc.status, _message(exc)) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise _unanswered(exc) from exc


_NAMED: dict[int, type[KubeRejected]] = {404: NotFound, 409: Conflict, 410: Gone}


def translate(status: int | None, message: str) -> KubeError:
    """The agent's error for an apiserver's answer: retry-worthy (none, 5xx, 429), named (404, 409, 410),
    or refused."""
    if not status or status >= 500 or status == 429:
        return KubeUnavailable(status or None, message)
    return _NAMED.get(status, KubeRejected)(status, message)


def _message(exc: ApiException) -> str:
    """The apiserver's own words (its Status's message), not the response headers the client puts in
    str(exc)."""
    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or exc.reason or "")


def _unanswered(exc: urllib3.exceptions.HTTPError) -> KubeUnavailable:
    return KubeUnavailable(None, f"the apiserver did not answer: {type(exc).__name__}")


class Kube:
    def __init__(self, api_client: client.ApiClient, namespace: str, node: str) -> None:
        if not isinstance(api_client, ApiClient):  # a plain client (the tests'): the same boundary
            api_client = ApiClient(api_client.configuration)
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._api_client = api_client
        self.namespace = namespace
        self.node = node
        # One field manager per node: each agent owns its placements and its ChainlinkNode's status.
        self.field_manager = f"{COMPONENT}-{node}"

    def list_objects(
        self, plural: str, convert: Callable[[dict[str, Any]], T], label_selector: str | None = None
    ) -> tuple[list[T], str]:
        """Every object, converted, in pages of LIST_PAGE as client-go's pager lists: each page is converted
        before the next is read, so the peak memory of a list is one page of decoded objects, not the whole
        namespace. All pages are of one snapshot, whose resourceVersion the watch starts from."""
        items: list[T] = []
        token: str | None = None
        while True:
            body = self._custom.list_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                plural,
                limit=LIST_PAGE,
                _continue=token,
                label_selector=label_selector,
            )
            items.extend(map(convert, body.get("items") or []))
            token = body["metadata"].get("continue")
            if not token:
                return items, str(body["metadata"]["resourceVersion"])

    def watch_objects(
        self, plural: str, resource_version: str, timeout_seconds: int, label_selector: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Raw watch events; the server ends the stream after timeout_seconds and bookmarks come every
        minute or so, so the read timeout only has to outlast one bookmark interval."""
        response = self._watch_request(plural, resource_version, timeout_seconds, label_selector)
        try:
            for line in iter_resp_lines(response):
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise translate(status.get("code"), str(status.get("message") or "watch error"))
                yield event
        except urllib3.exceptions.HTTPError as exc:  # the stream broke off: read outside call_api
            raise _unanswered(exc) from exc
        finally:
            response.close()
            response.release_conn()

    def _watch_request(
        self, plural: str, resource_version: str, timeout_seconds: int, label_selector: str | None
    ) -> Any:
        return self._custom.list_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            plural,
            label_selector=label_selector,
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=timeout_seconds,
            _preload_content=False,
            _request_timeout=(10, 90),
        )

    def config_map_value(self, name: str, key: str) -> str | None:
        """None when the ConfigMap or the key is missing: the resource waits for it."""
        cm = _unless_missing(lambda: self._core.read_namespaced_config_map(name, self.namespace))
        return None if cm is None else (cm.data or {}).get(key)

    def secret(self, name: str) -> client.V1Secret | None:
        """None when the Secret is missing. Only references.py calls this, after the allowlist."""
        return _unless_missing(lambda: self._core.read_namespaced_secret(name, self.namespace))

    def apply_placement(self, obj: Resource, entry: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of this node's placement for obj, made if missing: one request either way."""
        made: dict[str, Any] = json.loads(self._apply_placement(placement.body(obj, self.node, entry)).data)
        return made

    def dry_run_placement(self, obj: Resource, node: str) -> None:
        """A server-side dry run (dryRun=All: admitted or refused, never stored) of applying `node`'s
        placement for obj: the admission self-test's one call (admission.py), which admission must refuse for
        any node but this one. Takes what apply_placement does: create and patch."""
        self._apply_placement(placement.body(obj, node, {}), dry_run="All")

    def _apply_placement(self, body: dict[str, Any], **options: Any) -> Any:
        return self._custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            body["metadata"]["namespace"],
            placement.PLURAL,
            body["metadata"]["name"],
            body,
            field_manager=self.field_manager,
            force=True,
            _content_type="application/apply-patch+yaml",
            # The generated client decodes only a 200's body, and an apply that makes the object is a 201.
            _preload_content=False,
            **options,
        )

    def mark_released(self, name: str, released: bool) -> dict[str, Any]:
        """Sets (release-node) or removes (the agent back on the node's database) the placement `name`'s
        placement.RELEASED_LABEL; returns the placement."""
        labels = {placement.RELEASED_LABEL: "true" if released else None}  # null: a merge patch removes it
        marked: dict[str, Any] = self._custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            placement.PLURAL,
            name,
            {"metadata": {"labels": labels}},
            _content_type="application/merge-patch+json",
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
        try:
            self._custom.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, placement.PLURAL, body, field_manager=self.field_manager
            )
        except Conflict:
            return False
        return True

    def delete_placement(self, kind: str, name: str) -> None:
        """Deletes this node's placement for the resource `name` of `kind`; gone already is fine."""
        _unless_missing(
            lambda: self._custom.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, placement.PLURAL, placement.name(kind, name, self.node)
            )
        )

    def apply_summary(self, obj: Resource, status: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of a resource's whole status (every node's entry): the aggregator's write."""
        body = {
            "apiVersion": API_VERSION,
            "kind": obj.KIND,
            "metadata": {"name": obj.name, "namespace": obj.namespace},
            "status": status,
        }
        return self._custom.patch_namespaced_custom_object_status(  # type: ignore[no-any-return]
            GROUP,
            VERSION,
            obj.namespace,
            obj.PLURAL,
            obj.name,
            body,
            field_manager=AGGREGATOR,
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    def lease(self, name: str) -> dict[str, Any] | None:
        return _unless_missing(
            lambda: self._custom.get_namespaced_custom_object(*_LEASES[:2], self.namespace, _LEASES[2], name)
        )

    def write_lease(self, name: str, spec: dict[str, Any], resource_version: str | None) -> dict[str, Any]:
        """Creates the Lease (resource_version None) or replaces it only if it is still at resource_version:
        a 409 (someone else wrote it first) is the caller's to handle. coordination.k8s.io through the custom
        objects API, so no typed model module is loaded for it."""
        meta: dict[str, Any] = {"name": name, "namespace": self.namespace}
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}
        if resource_version is None:
            return self._custom.create_namespaced_custom_object(  # type: ignore[no-any-return]
                *_LEASES[:2], self.namespace, _LEASES[2], body
            )
        meta["resourceVersion"] = resource_version
        return self._custom.replace_namespaced_custom_object(  # type: ignore[no-any-return]
            *_LEASES[:2], self.namespace, _LEASES[2], name, body
        )

    def chainlink_node(self) -> dict[str, Any] | None:
        """This node's ChainlinkNode; None while it does not exist."""
        return _unless_missing(
            lambda: self._custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, NODE_PLURAL, self.node
            )
        )

    def pod(self, name: str) -> dict[str, Any] | None:
        """A pod of this node's release as plain JSON (no V1Pod model is loaded); None when missing."""
        response = _unless_missing(
            lambda: self._core.read_namespaced_pod(name, self.namespace, _preload_content=False)
        )
        return None if response is None else json.loads(response.data)

    def label_pod(self, name: str, key: str, value: str) -> None:
        body = {"metadata": {"labels": {key: value}}}
        self._core.patch_namespaced_pod(name, self.namespace, body, _preload_content=False)

    def delete_pod(self, name: str) -> None:
        """A graceful delete: the pod's node releases the database lease as it stops."""
        _unless_missing(
            lambda: self._core.delete_namespaced_pod(name, self.namespace, _preload_content=False)
        )

    def statefulset_update_revision(self, name: str) -> str | None:
        """The revision the StatefulSet's pods should be of; None until its controller has seen its spec."""
        response = _unless_missing(
            lambda: self._apps.read_namespaced_stateful_set(name, self.namespace, _preload_content=False)
        )
        if response is None:
            return None
        sts = json.loads(response.data)
        status = sts.get("status") or {}
        if int(status.get("observedGeneration") or 0) < int(sts["metadata"].get("generation") or 0):
            return None
        return status.get("updateRevision") or None

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
        self._custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            self.namespace,
            NODE_PLURAL,
            self.node,
            body,
            field_manager=manager,
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    @functools.cached_property
    def _apps(self) -> client.AppsV1Api:
        # Only release-node reads StatefulSets: the sidecar never loads the module (1.5 MiB of RSS).
        return client.AppsV1Api(self._api_client)

    def scale_to_zero(self, statefulset: str) -> None:
        self._apps.patch_namespaced_stateful_set_scale(statefulset, self.namespace, {"spec": {"replicas": 0}})

    def statefulset_pods(self, statefulset: str) -> int:
        """Pods the StatefulSet still has (terminating ones included); 0 when it does not exist."""
        sts = self._statefulset(statefulset)
        return int(sts.status.replicas or 0) if sts is not None and sts.status else 0

    def statefulset_outdated_pods(self, statefulset: str) -> int:
        """Pods still of an older revision than the StatefulSet's spec (all of them until the controller
        has seen the spec); 0 when it does not exist."""
        sts = self._statefulset(statefulset)
        if sts is None:
            return 0
        status = sts.status
        if status is None or (status.observed_generation or 0) < (sts.metadata.generation or 0):
            return max(1, int(sts.spec.replicas or 0))
        if status.current_revision == status.update_revision:
            return 0
        return int(status.replicas or 0) - int(status.updated_replicas or 0)

    def _statefulset(self, name: str) -> client.V1StatefulSet | None:
        return _unless_missing(lambda: self._apps.read_namespaced_stateful_set(name, self.namespace))

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
            self._core.create_namespaced_event(obj.namespace, event)
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
