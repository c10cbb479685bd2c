"""The Kubernetes API calls the agent makes, and nothing else: the Roles in the chart mirror this file.

The sidecar: chainlinkjobs and chainlinkbridges: list, watch, patch (finalizers); their /status: patch
(server-side apply); its own chainlinknode (resourceNames): get, and its /status: patch; configmaps: get
(tomlFrom, {{ configMap }}) and secrets: get (urlFrom, {{ secret }}), both limited to the names the chart
lists (resourceNames); events: create.
release-node (the uninstall hook): chainlinkjobs and chainlinkbridges: list, patch; their /status: patch;
statefulsets: get; statefulsets/scale: patch.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from .conditions import now
from .errors import Gone
from .resource import API_VERSION, GROUP, NODE_KIND, NODE_PLURAL, VERSION, Resource

log = logging.getLogger(__name__)
COMPONENT = "chainlink-agent"
LIST_PAGE = 100
FINALIZER_ATTEMPTS = 4
T = TypeVar("T")


class Kube:
    def __init__(self, api_client: client.ApiClient, namespace: str, node: str) -> None:
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._api_client = api_client
        self.namespace = namespace
        self.node = node
        # One field manager per node: each agent owns exactly its own status.nodes entry.
        self.field_manager = f"{COMPONENT}-{node}"

    def list_objects(self, plural: str, convert: Callable[[dict[str, Any]], T]) -> tuple[list[T], str]:
        """Every object, converted, in pages of LIST_PAGE as client-go's pager lists: each page is converted
        before the next is read, so the peak memory of a list is one page of decoded objects, not the whole
        namespace. All pages are of one snapshot, whose resourceVersion the watch starts from."""
        items: list[T] = []
        token: str | None = None
        while True:
            body = self._custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, limit=LIST_PAGE, _continue=token
            )
            items.extend(map(convert, body.get("items") or []))
            token = body["metadata"].get("continue")
            if not token:
                return items, str(body["metadata"]["resourceVersion"])

    def watch_objects(
        self, plural: str, resource_version: str, timeout_seconds: int
    ) -> Iterator[dict[str, Any]]:
        """Raw watch events; the server ends the stream after timeout_seconds and bookmarks come every
        minute or so, so the read timeout only has to outlast one bookmark interval."""
        try:
            response = self._watch_request(plural, resource_version, timeout_seconds)
        except ApiException as exc:
            if exc.status == 410:
                raise Gone(str(exc.reason)) from exc
            raise
        try:
            for line in iter_resp_lines(response):
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if status.get("code") == 410:
                        raise Gone(status.get("message", "resourceVersion too old"))
                    raise ApiException(status=status.get("code"), reason=status.get("message"))
                yield event
        finally:
            response.close()
            response.release_conn()

    def _watch_request(self, plural: str, resource_version: str, timeout_seconds: int) -> Any:
        return self._custom.list_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            plural,
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

    def add_finalizer(self, obj: Resource, finalizer: str) -> dict[str, Any]:
        # JSON patch: appending never clobbers another node's finalizer; creating the list is guarded by
        # the resourceVersion so two agents racing to create it cannot overwrite each other.
        def ops(finalizers: list[str], resource_version: str) -> list[dict[str, Any]] | None:
            if finalizer in finalizers:
                return None
            if finalizers:
                return [{"op": "add", "path": "/metadata/finalizers/-", "value": finalizer}]
            return [
                {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
                {"op": "add", "path": "/metadata/finalizers", "value": [finalizer]},
            ]

        return self._patch_finalizers(obj, ops)

    def remove_finalizer(self, obj: Resource, finalizer: str) -> dict[str, Any]:
        def ops(finalizers: list[str], _resource_version: str) -> list[dict[str, Any]] | None:
            if finalizer not in finalizers:
                return None
            path = f"/metadata/finalizers/{finalizers.index(finalizer)}"
            return [{"op": "test", "path": path, "value": finalizer}, {"op": "remove", "path": path}]

        return self._patch_finalizers(obj, ops)

    def _patch_finalizers(
        self, obj: Resource, ops: Callable[[list[str], str], list[dict[str, Any]] | None]
    ) -> dict[str, Any]:
        """Patches built from the finalizers as last seen. When another node's agent changed the list in
        between (its `test` op fails: 422), the object is read again and the patch rebuilt, as client-go's
        RetryOnConflict does, rather than failing the reconcile: 20 agents adding their finalizers to one
        new resource at once would otherwise fail most of them once."""
        finalizers, version = list(obj.finalizers), obj.resource_version
        attempt = 1
        while True:
            patch = ops(finalizers, version)
            if patch is None:
                return self._get_object(obj)
            try:
                return self._patch_object(obj, patch)
            except ApiException as exc:
                if exc.status != 422 or attempt == FINALIZER_ATTEMPTS:
                    raise
            attempt += 1
            fresh = self._get_object(obj)
            finalizers = list(fresh["metadata"].get("finalizers") or [])
            version = str(fresh["metadata"]["resourceVersion"])

    def _get_object(self, obj: Resource) -> dict[str, Any]:
        return self._custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, obj.namespace, obj.PLURAL, obj.name
        )

    def _patch_object(self, obj: Resource, ops: list[dict[str, Any]]) -> dict[str, Any]:
        return self._custom.patch_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP,
            VERSION,
            obj.namespace,
            obj.PLURAL,
            obj.name,
            ops,
            _content_type="application/json-patch+json",
        )

    def apply_status(self, obj: Resource, entry: dict[str, Any] | None) -> dict[str, Any]:
        """Server-side apply of this node's entry and its keys in the phases/jobIDs summaries; applying
        none removes what this node's field manager owns."""
        # Empty summaries are left out: applying {} over the last key makes the map null.
        status: dict[str, Any] = {"nodes": [entry] if entry else []}
        if entry:
            status["phases"] = {self.node: entry["phase"]}
            if "jobID" in entry:
                status["jobIDs"] = {self.node: entry["jobID"]}
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
            field_manager=self.field_manager,
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    def node_generation(self) -> int | None:
        """This node's ChainlinkNode's metadata.generation; None while it does not exist."""
        found = _unless_missing(
            lambda: self._custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, NODE_PLURAL, self.node
            )
        )
        return None if found is None else int(found["metadata"].get("generation") or 0)

    def apply_node_status(self, status: dict[str, Any]) -> None:
        """Server-side apply of this node's ChainlinkNode status, the whole of it (this agent owns it)."""
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
            field_manager=self.field_manager,
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
        except ApiException as exc:
            # An Event is a courtesy: losing one must not fail the reconcile that produced it.
            log.warning(
                "could not record event", extra={"key": obj.key, "reason": reason, "status": exc.status}
            )


def _unless_missing(read: Callable[[], T]) -> T | None:
    """read()'s answer, or None when the object does not exist (404)."""
    try:
        return read()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
