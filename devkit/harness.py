"""Running the agent as a real process against the bench, and the small helpers its tests share."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import yaml
from chainlink_agent.control.access import ALLOWED_NODES
from chainlink_agent.k8s.kube import Kube
from chainlink_agent.model import placement
from chainlink_agent.model.errors import KubeError
from chainlink_agent.model.resource import (
    API_VERSION,
    BRIDGE_KIND,
    BRIDGE_PLURAL,
    GROUP,
    KIND,
    PLURAL,
    VERSION,
    ChainlinkJob,
)
from chainlink_agent.node.nodeclient import NodeClient
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.settings import Credentials
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from pydantic import SecretStr

from devkit.chart import CHART

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
CRD_FILES = sorted((ROOT / "crds").glob("*.yaml"))


def eventually(check: Callable[[], T | None], timeout: float = 30.0, what: str = "condition") -> T:
    """Polls check until it returns something truthy; fails with what was last seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last saw {last!r}")


# A minimal job spec every scenario, drill and benchmark can make one of per name.
WEBHOOK = """type = "webhook"
schemaVersion = 1
name = "{name}"
observationSource = \"\"\"
    fetch [type=memo value="1"]
\"\"\"
"""


def toml(name: str) -> str:
    return WEBHOOK.format(name=name)


def synced(
    jobs: Any, name: str, node: str, job_id_not: str | None = None, hash_not: str | None = None
) -> Any:
    """Waits until `name`'s entry for `node` is Synced (with another job ID / spec hash, if given)."""

    def check() -> Any:
        entry = jobs.entry(name, node)
        if entry and entry["phase"] == "Synced" and entry.get("jobID") != job_id_not:
            return entry if hash_not is None or entry["specHash"] != hash_not else None
        return None

    return eventually(check, 30, f"{name} Synced on {node}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AgentProcess:
    """`python -m chainlink_agent` with the environment the chart gives the sidecar; with in_pod, configured
    for the API server as in a pod (devkit/inpod.py) rather than by KUBECONFIG."""

    def __init__(
        self,
        workdir: Path,
        kubeconfig: str,
        namespace: str,
        node_name: str,
        node_url: str,
        email: str,
        password: str,
        labels: dict[str, str] | None = None,
        resync_seconds: float = 2.0,
        env: dict[str, str] | None = None,
        in_pod: bool = False,
    ) -> None:
        self.node_name = node_name
        self.log_path = workdir / f"agent-{node_name}.log"
        credentials = workdir / f"agent-{node_name}.api"
        credentials.write_text(f"{email}\n{password}\n")
        self.port = free_port()
        self.env = {
            **os.environ,
            "KUBECONFIG": kubeconfig,
            "CHAINLINK_AGENT_NODE_NAME": node_name,
            "CHAINLINK_AGENT_NODE_LABELS": json.dumps(labels or {}),
            "CHAINLINK_AGENT_NAMESPACE": namespace,
            "CHAINLINK_AGENT_NODE_URL": node_url,
            "CHAINLINK_AGENT_CREDENTIALS_FILE": str(credentials),
            "CHAINLINK_AGENT_RESYNC_SECONDS": str(resync_seconds),
            "CHAINLINK_AGENT_HTTP_HOST": "127.0.0.1",
            "CHAINLINK_AGENT_HTTP_PORT": str(self.port),
            **(env or {}),
        }
        self.module = "chainlink_agent"
        if in_pod:
            self.module = "devkit.inpod"
            del self.env["KUBECONFIG"]
            self.env.update(_pod_credentials(Path(kubeconfig), workdir / f"agent-{node_name}-serviceaccount"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_ready: bool = True) -> AgentProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module], env=self.env, stdout=log, stderr=log
            )
        if wait_ready:
            eventually(self._ready, 30, f"agent {self.node_name} /readyz\n{self.log_tail()}")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"agent exited with {self.proc.returncode}\n{self.log_tail()}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def readyz(self) -> str:
        """/readyz's status and reason, e.g. "503 the ... watch has not synced yet"."""
        return self._probe("readyz")

    def healthz(self) -> str:
        """/healthz's status and reason, e.g. "503 threads stopped: aggregator-writer"."""
        return self._probe("healthz")

    def _probe(self, path: str) -> str:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.port}/{path}", timeout=5)
        except httpx.HTTPError as exc:  # not listening yet
            return f"no answer: {exc}"
        return f"{response.status_code} {response.text.strip()}"

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM, as the kubelet does; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"agent ignored SIGTERM\n{self.log_tail()}") from None
        return self.proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _pod_credentials(kubeconfig: Path, directory: Path) -> dict[str, str]:
    """What a pod gives the agent instead of a kubeconfig (devkit/inpod.py): the API server's address in
    KUBERNETES_SERVICE_HOST/PORT, a token file and a CA file, here the bench kubeconfig's own."""
    doc = yaml.safe_load(kubeconfig.read_text())
    cluster, user = doc["clusters"][0]["cluster"], doc["users"][0]["user"]
    server = urlsplit(cluster["server"])
    directory.mkdir(parents=True, exist_ok=True)
    token, ca = directory / "token", directory / "ca.crt"
    token.write_text(user["token"])
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    return {
        "KUBERNETES_SERVICE_HOST": str(server.hostname),
        "KUBERNETES_SERVICE_PORT": str(server.port),
        "DEVKIT_INPOD_TOKEN_FILE": str(token),
        "DEVKIT_INPOD_CA_FILE": str(ca),
    }


def apply_chart_templates(
    cluster: Any, namespace: str, *templates: str, sets: dict[str, str] | None = None, release: str = "r"
) -> None:
    """Renders only these templates of the chart (node-a's, release "r") and applies them; hook annotations
    are inert here. Cluster-scoped objects (the admission policy) are named after the namespace."""
    show = [arg for t in templates for arg in ("--show-only", f"templates/{t}")]
    values = {"nodeName": "node-a", "credentials.generateOffline": "true", **(sets or {})}
    rendered = subprocess.run(
        ["helm", "template", release, str(CHART), "-n", namespace, *show]
        + [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")],
        env=cluster.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    subprocess.run(
        ["kubectl", "apply", "-n", namespace, "-f", "-"],
        input=rendered,
        env=cluster.env(),
        text=True,
        capture_output=True,
        check=True,
    )


def wait_for_policy(cluster, kubeconfig, namespace: str) -> None:
    """Until the admission policy refuses the agent a placement of another node: a policy reaches the
    apiserver's admission plugin a moment after it is created."""
    as_agent = Kube(config.new_client_from_config(str(kubeconfig)), namespace, "nobody")
    probe = ChainlinkJob.from_dict({"metadata": {"name": "policy-probe", "namespace": namespace}, "spec": {}})
    attempts = iter(range(1000))

    def refused() -> bool:
        # A different message each time: an apply that changes nothing never reaches admission.
        try:
            as_agent.apply_placement(probe, {"phase": "Pending", "message": str(next(attempts))})
        except KubeError as exc:
            return exc.status == 403 and "only its own node's placements" in exc.message
        return False

    eventually(refused, 30, "the admission policy to refuse another node's placement")
    with cluster.api_client() as admin:
        Kube(admin, namespace, "nobody").delete_placement(KIND, "policy-probe")


def node_statefulset(apps: client.AppsV1Api, namespace: str, name: str) -> None:
    """A one-replica StatefulSet standing in for the chart's node (kwok runs its pod)."""
    labels = {"app": name}
    apps.create_namespaced_stateful_set(
        namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "serviceName": name,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "node", "image": "chainlink"}]},
                },
            },
        },
    )


def wide_table(env: dict[str, str], namespace: str, plural: str) -> tuple[str, str]:
    """`kubectl get PLURAL -o wide` as a person reads it: its header line and its first row."""
    table = subprocess.run(
        ["kubectl", "get", plural, "-n", namespace, "-o", "wide"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    header, row = table.splitlines()[:2]
    return header, row


def node_client(url: str, email: str, password: str) -> NodeClient:
    """What a person at the node's UI does, through the same API (not the agent's instance)."""
    return NodeClient(url, Credentials(email, SecretStr(password)), 10.0, Metrics())


def install_crd(api: client.ApiClient) -> None:
    """Every CRD of crds/."""
    for path in CRD_FILES:
        _install_one(api, yaml.safe_load(path.read_text()))


def _install_one(api: client.ApiClient, body: dict[str, Any]) -> None:
    ext = client.ApiextensionsV1Api(api)
    try:
        ext.create_custom_resource_definition(body)
    except client.exceptions.ApiException as exc:
        if exc.status != 409:
            raise
        current = ext.read_custom_resource_definition(body["metadata"]["name"])
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        ext.replace_custom_resource_definition(body["metadata"]["name"], body)

    def established() -> bool:
        crd = ext.read_custom_resource_definition(body["metadata"]["name"])
        return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])

    eventually(established, 30, "the CRD to be established")


class Jobs:
    """ChainlinkJob resources in one namespace (ChainlinkBridges with Bridges)."""

    plural, kind, text_field = PLURAL, KIND, "toml"

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.api = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.namespace = namespace

    def create(self, name: str, toml: str | None = None, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "metadata": {"name": name},
            "spec": {**({self.text_field: toml} if toml is not None else {}), **spec},
        }
        return self.api.create_namespaced_custom_object(GROUP, VERSION, self.namespace, self.plural, body)

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.api.get_namespaced_custom_object(GROUP, VERSION, self.namespace, self.plural, name)
        except client.exceptions.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.api.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, self.plural, name, {"spec": spec}
        )

    def delete(self, name: str) -> None:
        self.api.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, self.plural, name)

    def entry(self, name: str, node: str) -> dict[str, Any] | None:
        obj = self.get(name) or {}
        return next((e for e in (obj.get("status") or {}).get("nodes") or [] if e["node"] == node), None)

    def placement(self, name: str, node: str) -> dict[str, Any] | None:
        """`node`'s ChainlinkPlacement of the resource `name`: that agent's own record of it."""
        try:
            return self.api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, placement.PLURAL, placement.name(self.kind, name, node)
            )
        except client.exceptions.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def cleaned(self, name: str) -> bool:
        """The resource is gone and so is every node's placement of it: each agent removed what it made."""
        if self.get(name) is not None:
            return False
        listed = self.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, placement.PLURAL)
        return not any(
            p["spec"]["kind"] == self.kind and p["spec"]["name"] == name for p in listed.get("items") or ()
        )

    def events(self, name: str) -> list[Any]:
        listed = self.core.list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}")
        return list(listed.items)


class Bridges(Jobs):
    """ChainlinkBridge resources in one namespace; create(name, url, **spec)."""

    plural, kind, text_field = BRIDGE_PLURAL, BRIDGE_KIND, "url"

    def secret(self, name: str, data: dict[str, str], allowed_nodes: str | None = "*") -> None:
        """A Secret whose owner lets these nodes use it in specs (access.ALLOWED_NODES); None: no one."""
        annotations = {ALLOWED_NODES: allowed_nodes} if allowed_nodes is not None else {}
        metadata = {"name": name, "annotations": annotations}
        self.core.create_namespaced_secret(self.namespace, {"metadata": metadata, "stringData": data})


def allow(secrets: tuple[str, ...] = (), config_maps: tuple[str, ...] = ()) -> dict[str, str]:
    """The agent's environment for the chart values agent.allowedSecrets and agent.allowedConfigMaps."""
    return {
        "CHAINLINK_AGENT_ALLOWED_SECRETS": json.dumps(list(secrets)),
        "CHAINLINK_AGENT_ALLOWED_CONFIG_MAPS": json.dumps(list(config_maps)),
    }


def release_node(env: dict[str, str]) -> None:
    """`chainlink-agent release-node` as the chart's hook Job runs it (env: the agent's, with the hook's
    ServiceAccount as KUBECONFIG), which must succeed."""
    release = subprocess.run(
        [sys.executable, "-m", "chainlink_agent", "release-node"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert release.returncode == 0, release.stderr


def refusal(call: Callable[[], object]) -> tuple[int, str]:
    """The status and the apiserver's message of a call that must be refused, made through the agent's
    boundary (a KubeError) or the plain client (an ApiException)."""
    try:
        call()
    except KubeError as exc:
        return exc.status or 0, exc.message
    except ApiException as exc:
        return exc.status, json.loads(exc.body)["message"]
    raise AssertionError("the call was not refused")


def entry_where(resources, name, node, phase, reason=None, timeout=30.0, placed=False):
    """The node's entry once it shows phase (and reason): in the resource's status, or with placed=True in
    the node's placement (a deleted resource's cleanup is reported there only)."""

    def check():
        entry = (
            (resources.placement(name, node) or {}).get("status") if placed else resources.entry(name, node)
        )
        if entry and entry["phase"] == phase and reason in (None, entry["conditions"][0]["reason"]):
            return entry
        return None

    return eventually(check, timeout, f"{name} {phase}/{reason} on {node}")
