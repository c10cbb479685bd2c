"""The Kubernetes API calls the agent makes, and nothing else: the Roles in the chart mirror this file.

The sidecar: chainlinkjobs: list, watch, patch (finalizers); chainlinkjobs/status: patch (server-side
apply); configmaps: get; events: create.
release-node (the uninstall hook): chainlinkjobs: list, patch; chainlinkjobs/status: patch;
statefulsets: get; statefulsets/scale: patch.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from .conditions import now
from .resource import API_VERSION, GROUP, KIND, PLURAL, VERSION, ChainlinkJob

log = logging.getLogger(__name__)
COMPONENT = "chainlink-agent"


class Gone(Exception):
    """The watch's resourceVersion is too old (410): list again."""


class Kube:
    def __init__(self, api_client: client.ApiClient, namespace: str, node: str) -> None:
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self.namespace = namespace
        self.node = node
        # One field manager per node: each agent owns exactly its own status.nodes entry.
        self.field_manager = f"{COMPONENT}-{node}"

    def list_jobs(self) -> tuple[list[dict[str, Any]], str]:
        body = self._custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        return list(body.get("items") or []), str(body["metadata"]["resourceVersion"])

    def watch_jobs(self, resource_version: str, timeout_seconds: int) -> Iterator[dict[str, Any]]:
        """Raw watch events; the server ends the stream after timeout_seconds and bookmarks come every
        minute or so, so the read timeout only has to outlast one bookmark interval."""
        try:
            response = self._watch_request(resource_version, timeout_seconds)
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

    def _watch_request(self, resource_version: str, timeout_seconds: int) -> Any:
        return self._custom.list_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=timeout_seconds,
            _preload_content=False,
            _request_timeout=(10, 90),
        )

    def config_map_value(self, name: str, key: str) -> str | None:
        """None when the ConfigMap or the key is missing: the resource waits for it."""
        try:
            cm = self._core.read_namespaced_config_map(name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return (cm.data or {}).get(key)

    def add_finalizer(self, job: ChainlinkJob, finalizer: str) -> dict[str, Any]:
        # JSON patch: appending never clobbers another node's finalizer; creating the list is guarded by
        # the resourceVersion so two agents racing to create it cannot overwrite each other.
        if job.finalizers:
            ops: list[dict[str, Any]] = [{"op": "add", "path": "/metadata/finalizers/-", "value": finalizer}]
        else:
            ops = [
                {"op": "test", "path": "/metadata/resourceVersion", "value": job.resource_version},
                {"op": "add", "path": "/metadata/finalizers", "value": [finalizer]},
            ]
        return self._patch_object(job, ops)

    def remove_finalizer(self, job: ChainlinkJob, finalizer: str) -> dict[str, Any]:
        index = job.finalizers.index(finalizer)
        path = f"/metadata/finalizers/{index}"
        return self._patch_object(
            job, [{"op": "test", "path": path, "value": finalizer}, {"op": "remove", "path": path}]
        )

    def _patch_object(self, job: ChainlinkJob, ops: list[dict[str, Any]]) -> dict[str, Any]:
        return self._custom.patch_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, job.namespace, PLURAL, job.name, ops, _content_type="application/json-patch+json"
        )

    def apply_status(self, job: ChainlinkJob, entry: dict[str, Any] | None) -> dict[str, Any]:
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
            "kind": KIND,
            "metadata": {"name": job.name, "namespace": job.namespace},
            "status": status,
        }
        return self._custom.patch_namespaced_custom_object_status(  # type: ignore[no-any-return]
            GROUP,
            VERSION,
            job.namespace,
            PLURAL,
            job.name,
            body,
            field_manager=self.field_manager,
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    def scale_to_zero(self, statefulset: str) -> None:
        self._apps.patch_namespaced_stateful_set_scale(statefulset, self.namespace, {"spec": {"replicas": 0}})

    def statefulset_pods(self, statefulset: str) -> int:
        """Pods the StatefulSet still has (terminating ones included); 0 when it does not exist."""
        try:
            sts = self._apps.read_namespaced_stateful_set(statefulset, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return 0
            raise
        return int(sts.status.replicas or 0) if sts.status else 0

    def emit_event(self, job: ChainlinkJob, event_type: str, reason: str, message: str) -> None:
        timestamp = now()
        event = {
            "metadata": {"name": f"{job.name}.{uuid.uuid4().hex[:16]}", "namespace": job.namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": job.name,
                "namespace": job.namespace,
                "uid": job.uid,
                "resourceVersion": job.resource_version,
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
            self._core.create_namespaced_event(job.namespace, event)
        except ApiException as exc:
            # An Event is a courtesy: losing one must not fail the reconcile that produced it.
            log.warning(
                "could not record event", extra={"key": job.key, "reason": reason, "status": exc.status}
            )
