"""Hot standby on real pods (issue 22): the drills only real containers can run.

tests/drills/test_standby.py runs the two nodes of `standby.enabled` as processes beside pod objects that
nothing runs; here the chart runs them as its StatefulSet's two pods on the kubelet node, with the chart's
probes, the agents' role labels, the Services that select them and kube-proxy in between. The drills:

* install: both pods Ready, exactly one labelled active, the API and P2P Services on it alone, the
  ChainlinkNode naming it, and a ChainlinkJob Synced;
* the standby's idle memory (the node waiting for the lease, and its agent), read in its pod;
* failover: `kubectl delete pod --grace-period=0 --force` of the active pod, timed to the node's API
  answering again through the API Service and to a job applied right after the delete being Synced; then
  the old job is on the node once, the ChainlinkNode counts the failover and the deleted pod comes back as
  the standby;
* upgrade: the longest time the API Service does not answer /health during a `helm upgrade` that changes
  only config.toml, with a standby and on a release without one (run first, alone on the node, so the two
  figures are comparable).

The figures are printed (`-s`) for the chart README ("upgrade outage with and without a standby"); targets
for them belong in the benchmarks, so nothing here asserts one. The API Service is polled at its ClusterIP
from this machine, through kube-proxy's rules, on a new connection each time (a kept-alive one would stay
on a pod the Service no longer selects).
"""

from __future__ import annotations

import base64
import math
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from chainlink_agent.model.resource import GROUP, NODE_PLURAL, VERSION
from chainlink_agent.standby.role import ROLE_LABEL
from kubernetes import client

from devkit.chart import CHART, run
from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.images import CURL_VERSION
from devkit.harness import Jobs, toml
from tests.realpods.helpers import waiting

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
RELEASE = "node-a"  # also the nodeName samples/webhook-job.yaml targets
NODE = f"{RELEASE}-chainlink-node"  # the StatefulSet, and the API Service
PODS = (f"{NODE}-0", f"{NODE}-1")
P2P_SERVICE = f"{NODE}-p2p"
API_PORT = 6688
INSTANCE = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=node"
REVISION_LABEL = "controller-revision-hash"  # the StatefulSet controller's, on each of its pods
VALUES = [f"--set=nodeName={RELEASE}", "--set=agent.reportSeconds=5", f"--set=tests.image.tag={CURL_VERSION}"]
# With its egress policy on: the bench's CNI enforces no NetworkPolicy, so this shows the policies install
# beside a standby release that works, not that they let exactly what it needs through.
STANDBY = ["--set=standby.enabled=true", "--set=networkPolicy.egress.enabled=true"]
CONFIG_CHANGE = "--set=node.logLevel=warn"  # Log.Level: only config.toml changes (and so the pods' checksum)
JOB = yaml.safe_load((REPO / "samples" / "webhook-job.yaml").read_text())
POLL_SECONDS = 0.2
FAILOVER_LIMIT = 300.0
# A job Synced on the node (its ChainlinkPlacement) -> its ChainlinkJob status saying so: 0.25 s normally.
STATUS_LAG_SECONDS = 60.0
MIN_IDLE_SECONDS = 30.0  # how long the standby has waited for the lease before its memory is read
UPGRADE_LIMIT = 900.0
OUTAGES: dict[str, float] = {}  # "with"/"without" a standby -> the longest outage of its upgrade, in seconds


def _install(cluster: ControlPlane, prefix: str, *values: str) -> str:
    """RELEASE installed in a new namespace (`--wait`); returns the namespace."""
    namespace = f"{prefix}-{int(time.time())}"
    run(["kubectl", "create", "namespace", namespace], cluster.env())
    install = ["helm", "install", RELEASE, str(CHART), "-n", namespace, *VALUES, *values]
    run([*install, "--wait", "--timeout", "10m"], cluster.env(), timeout=660)
    return namespace


def _uninstall(cluster: ControlPlane, namespace: str) -> None:
    env = cluster.env()
    run(["helm", "uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "5m"], env, timeout=330)
    run(["kubectl", "delete", "namespace", namespace, "--wait=false"], env)


@pytest.fixture
def plain_release(real_pods_cluster: ControlPlane) -> Iterator[str]:
    """RELEASE without a standby (one pod), alone on the node for as long as the one test that uses it."""
    namespace = _install(real_pods_cluster, "plain")
    yield namespace
    _uninstall(real_pods_cluster, namespace)


@pytest.fixture(scope="module")
def standby_release(real_pods_cluster: ControlPlane) -> Iterator[str]:
    """RELEASE with `standby.enabled`, its pair settled; shared by the standby drills (the lane is slow)."""
    namespace = _install(real_pods_cluster, "standby", *STANDBY)
    # helm's --wait skips a StatefulSet whose updateStrategy is not RollingUpdate (pkg/kube/ready.go), as the
    # chart's is with a standby (OnDelete: the standby's agent drives the roll), so it waits for no node pod.
    with real_pods_cluster.api_client() as api:
        _waiting(real_pods_cluster, namespace, lambda: _pair(api, namespace), 300, "the pair settled")
    yield namespace
    _uninstall(real_pods_cluster, namespace)


@pytest.fixture(scope="module")
def standby_job(
    real_pods_cluster: ControlPlane, standby_release: str, tmp_path_factory: Any
) -> dict[str, Any]:
    """samples/webhook-job.yaml applied with kubectl; its node entry once Synced."""
    manifest = tmp_path_factory.mktemp("standby-job") / "job.yaml"
    manifest.write_text(yaml.safe_dump(JOB))
    run(["kubectl", "apply", "-n", standby_release, "-f", str(manifest)], real_pods_cluster.env())
    with real_pods_cluster.api_client() as api:
        jobs = Jobs(api, standby_release)
        name = JOB["metadata"]["name"]
        return _waiting(
            real_pods_cluster,
            standby_release,
            lambda: (e := jobs.entry(name, RELEASE)) and e.get("phase") == "Synced" and e,
            180,
            f"{name} Synced on {RELEASE}",
        )


def test_a_config_upgrade_without_a_standby_takes_the_api_down_until_the_new_pod_is_ready(
    real_pods_cluster: ControlPlane, plain_release: str
) -> None:
    gaps, elapsed = _upgrade(real_pods_cluster, plain_release, replicas=1)
    OUTAGES["without"] = max(gaps, default=0.0)
    print(
        f"\nupgrade outage without a standby: {_outage(gaps)}; upgrade to the new pod serving {elapsed:.1f} s"
    )
    assert all(math.isfinite(gap) for gap in gaps), gaps


def test_a_standby_release_runs_one_active_pod_beside_a_ready_standby(
    real_pods_cluster: ControlPlane, standby_release: str, standby_job: dict[str, Any]
) -> None:
    namespace = standby_release
    with real_pods_cluster.api_client() as api:
        active, standby = _waiting(
            real_pods_cluster, namespace, lambda: _pair(api, namespace), 120, "the pair"
        )
        core = client.CoreV1Api(api)
        active_ip = core.read_namespaced_pod(active, namespace).status.pod_ip
        # Both Services select the active pod alone, the API Service answering from it.
        for service in (NODE, P2P_SERVICE):
            selects = partial(_selects_only, api, namespace, service, active_ip)
            _waiting(real_pods_cluster, namespace, selects, 60, f"{service} on {active} ({active_ip}) alone")
        url, selected = _health_url(api, namespace), time.monotonic()
        _waiting(real_pods_cluster, namespace, lambda: _answers(url), 30, "the API Service answering /health")
        print(
            f"\nthe API Service answered {time.monotonic() - selected:.1f} s after its endpoints"
            f" named {active} alone"
        )

        def reported() -> dict[str, Any] | None:
            st = _node_status(api, namespace)
            named = st.get("activePod") == active and st.get("standby") == {"pod": standby, "ready": True}
            return st if named else None

        st = _waiting(real_pods_cluster, namespace, reported, 60, f"the ChainlinkNode naming {active} active")
    assert st.get("failovers") == 0, st
    assert "lastFailoverTime" not in st, st
    assert standby_job["phase"] == "Synced", standby_job


def test_the_standby_pods_idle_memory_is_read_in_the_pod(
    real_pods_cluster: ControlPlane, standby_release: str
) -> None:
    namespace = standby_release
    with real_pods_cluster.api_client() as api:
        active, standby = _waiting(
            real_pods_cluster, namespace, lambda: _pair(api, namespace), 120, "the pair"
        )
        started = client.CoreV1Api(api).read_namespaced_pod(standby, namespace).status.start_time
    time.sleep(max(0.0, MIN_IDLE_SECONDS - (time.time() - started.timestamp())))
    idle = time.time() - started.timestamp()
    print(f"\nidle RSS (VmRSS of each container's process 1; the standby pod started {idle:.0f} s ago):")
    rss = {}
    for role, pod in (("standby", standby), ("active", active)):
        for container in ("node", "agent"):
            status = _proc_status(real_pods_cluster, namespace, pod, container)
            rss[role, container] = status["VmRSS"]
            where = f"{pod}/{container}"
            print(
                f"  {role:<8} {where:<32} {status['Name']:<16} VmRSS {status['VmRSS'] / 1024:7.1f} MiB"
                f"  VmHWM {status['VmHWM'] / 1024:7.1f} MiB"
            )
    assert rss["standby", "node"] > 0, rss


def test_deleting_the_active_pod_hands_the_node_and_its_jobs_to_the_standby(
    real_pods_cluster: ControlPlane, standby_release: str, standby_job: dict[str, Any]
) -> None:
    namespace, env = standby_release, real_pods_cluster.env()
    new_job = "after-failover"
    with real_pods_cluster.api_client() as api:
        core, jobs = client.CoreV1Api(api), Jobs(api, namespace)
        active, standby = _waiting(
            real_pods_cluster, namespace, lambda: _pair(api, namespace), 120, "the pair"
        )
        failovers = int(_node_status(api, namespace).get("failovers") or 0)
        old_uid = core.read_namespaced_pod(active, namespace).metadata.uid
        standby_ip = core.read_namespaced_pod(standby, namespace).status.pod_ip
        url = _health_url(api, namespace)

        began = time.monotonic()
        run(["kubectl", "delete", "pod", active, "-n", namespace, "--grace-period=0", "--force"], env)
        jobs.create(new_job, toml(new_job), targets={"names": [RELEASE]})
        # The API counts as back once the Service has the standby's address alone and answers from it: the
        # killed pod may answer for a moment before its containers stop. The new job is Synced on the node
        # once its ChainlinkPlacement (the agent's record) says so, and for its users once its status does.
        api_back = placed = synced = None
        deadline = began + FAILOVER_LIMIT
        while None in (api_back, placed, synced) and time.monotonic() < deadline:
            now = time.monotonic() - began
            if api_back is None and _endpoint_ips(api, namespace, NODE) == {standby_ip} and _answers(url):
                api_back = now
            if placed is None and _phase(jobs.placement(new_job, RELEASE)) == "Synced":
                placed = now
                deadline = min(deadline, time.monotonic() + STATUS_LAG_SECONDS)
            if synced is None and (jobs.entry(new_job, RELEASE) or {}).get("phase") == "Synced":
                synced = now
            time.sleep(POLL_SECONDS)
        print(
            f"\nfailover (kubectl delete pod {active} --grace-period=0 --force): the API Service answering"
            f" from {standby} after {_seconds(api_back)}; a job applied right after the delete Synced on the"
            f" node (its ChainlinkPlacement) after {_seconds(placed)}, in its ChainlinkJob status after"
            f" {_seconds(synced)}"
        )
        assert api_back is not None, _evidence(real_pods_cluster, namespace)
        assert placed is not None, _evidence(real_pods_cluster, namespace)

        def counted() -> dict[str, Any] | None:
            st = _node_status(api, namespace)
            return st if st.get("activePod") == standby and st.get("failovers") == failovers + 1 else None

        what = f"activePod {standby}, failovers {failovers + 1}"
        st = _waiting(real_pods_cluster, namespace, counted, 60, what)
        assert st.get("lastFailoverTime"), st

        # The deleted pod comes back, Ready as the standby, and the status says so.
        def back() -> Any:
            pod = _pod(core, namespace, active)
            fresh = pod is not None and pod.metadata.uid != old_uid and _ready(pod)
            return pod if fresh and _role(pod) == "standby" else None

        _waiting(real_pods_cluster, namespace, back, 300, f"{active} back, Ready, labelled standby")
        _waiting(
            real_pods_cluster,
            namespace,
            lambda: _node_status(api, namespace).get("standby") == {"pod": active, "ready": True},
            60,
            f"status.standby = {active}, ready",
        )

        # The job from before the failover is still Synced, as the same job on the node, and there once.
        old = jobs.entry(JOB["metadata"]["name"], RELEASE)
        assert old is not None
        assert old["phase"] == "Synced", old
        assert old["jobID"] == standby_job["jobID"], (old, standby_job)
        created = (jobs.placement(new_job, RELEASE) or {}).get("status") or {}
        listed = _node_jobs(api, namespace)
    external_ids = [job["attributes"]["externalJobID"] for job in listed]
    assert external_ids.count(standby_job["externalJobID"]) == 1, listed
    assert external_ids.count(created.get("externalJobID")) == 1, (created, listed)
    wide = run(["kubectl", "get", "chainlinknodes", "-n", namespace, "-o", "wide"], env)
    print(wide)
    assert standby in wide, wide
    # Last, so that everything above is checked whatever this finds: the new job's ChainlinkJob status.
    assert synced is not None, (
        f"{new_job} Synced on the node but not in its ChainlinkJob status within {STATUS_LAG_SECONDS:.0f} s"
        f" of that\n{_evidence(real_pods_cluster, namespace)}"
    )


def test_a_config_upgrade_with_a_standby_keeps_one_pod_active(
    real_pods_cluster: ControlPlane, standby_release: str
) -> None:
    namespace = standby_release
    with real_pods_cluster.api_client() as api:
        _waiting(
            real_pods_cluster, namespace, lambda: _pair(api, namespace), 300, "the pair before the upgrade"
        )
        before = _node_status(api, namespace).get("failovers") or 0
        gaps, elapsed = _upgrade(real_pods_cluster, namespace, replicas=2)
        pair = _pair(api, namespace)
        after = _waiting(
            real_pods_cluster,
            namespace,
            lambda: (st := _node_status(api, namespace)).get("activePod") == (pair or ("",))[0] and st,
            60,
            "the ChainlinkNode naming the active pod",
        )
    OUTAGES["with"] = max(gaps, default=0.0)
    print(
        f"\nupgrade outage with a standby: {_outage(gaps)}; upgrade to both pods Ready on the new revision"
        f" {elapsed:.1f} s; handovers counted in status.failovers: {(after.get('failovers') or 0) - before}"
    )
    if "without" in OUTAGES:
        print(
            f"upgrade outage (longest gap in /health through the API Service, polled every {POLL_SECONDS} s):"
            f" with a standby {OUTAGES['with']:.1f} s, without {OUTAGES['without']:.1f} s"
        )
    assert all(math.isfinite(gap) for gap in gaps), gaps
    assert pair is not None, "exactly one pod active after the upgrade"


# -- the upgrade measurement --------------------------------------------------------------------------


class ServicePoller:
    """GET /health on the API Service's ClusterIP every POLL_SECONDS, in a thread, for at most `limit`
    seconds; each answer (any HTTP status below 500) or its absence is kept with the time it was asked."""

    def __init__(self, url: str, limit: float) -> None:
        self.url = url
        self.limit = limit
        self.samples: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServicePoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            asked = time.monotonic()
            self.samples.append((asked, _answers(self.url)))
            self._stop.wait(max(0.0, POLL_SECONDS - (time.monotonic() - asked)))

    def answering(self) -> bool:
        return bool(self.samples) and self.samples[-1][1]

    def gaps(self) -> list[float]:
        """Each outage: from the last answer before it to the first after it (inf: none came)."""
        gaps: list[float] = []
        last_ok: float | None = None
        down_since: float | None = None
        for asked, ok in list(self.samples):
            if ok:
                if down_since is not None:
                    gaps.append(asked - (last_ok if last_ok is not None else down_since))
                    down_since = None
                last_ok = asked
            elif down_since is None:
                down_since = asked
        if down_since is not None:
            gaps.append(math.inf)
        return gaps


def _upgrade(cluster: ControlPlane, namespace: str, replicas: int) -> tuple[list[float], float]:
    """`helm upgrade --reuse-values` changing config.toml, polled through the API Service from before it
    until every pod runs Ready on the new revision (with a standby: one labelled active, the other standby)
    and the Service answers. Returns the outages and the seconds from the upgrade to that point."""
    with cluster.api_client() as api:
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        old = apps.read_namespaced_stateful_set(NODE, namespace).status.update_revision
        url = _health_url(api, namespace)
        _waiting(
            cluster, namespace, lambda: _answers(url), 120, "the API Service answering before the upgrade"
        )

        with ServicePoller(url, UPGRADE_LIMIT + 60) as poller:
            began = time.monotonic()
            upgrade = [
                "helm",
                "upgrade",
                RELEASE,
                str(CHART),
                "-n",
                namespace,
                "--reuse-values",
                CONFIG_CHANGE,
            ]
            run(upgrade, cluster.env(), timeout=300)

            def rolled() -> str | None:
                revision = apps.read_namespaced_stateful_set(NODE, namespace).status.update_revision
                pods = _pods(core, namespace)
                new = [p for p in pods.values() if p.metadata.labels.get(REVISION_LABEL) == revision]
                if revision == old or len(pods) != replicas or len(new) != replicas:
                    return None
                if not all(_ready(p) for p in new):
                    return None
                if replicas == 2 and sorted(str(_role(p)) for p in new) != ["active", "standby"]:
                    return None
                return revision if poller.answering() else None

            _waiting(
                cluster, namespace, rolled, UPGRADE_LIMIT, "every pod Ready on the new revision, serving"
            )
            elapsed = time.monotonic() - began
    return poller.gaps(), elapsed


def _outage(gaps: list[float]) -> str:
    if not gaps:
        return "none seen"
    listed = ", ".join(f"{gap:.1f} s" for gap in gaps)
    return f"longest {max(gaps):.1f} s ({len(gaps)} gap{'s' if len(gaps) > 1 else ''}: {listed})"


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


# -- reading the release -------------------------------------------------------------------------------


def _pods(core: Any, namespace: str) -> dict[str, Any]:
    return {p.metadata.name: p for p in core.list_namespaced_pod(namespace, label_selector=INSTANCE).items}


def _pod(core: Any, namespace: str, name: str) -> Any:
    try:
        return core.read_namespaced_pod(name, namespace)
    except client.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _ready(pod: Any) -> bool:
    conditions = pod.status.conditions or ()
    ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
    return ready and pod.metadata.deletion_timestamp is None


def _role(pod: Any) -> str | None:
    return (pod.metadata.labels or {}).get(ROLE_LABEL)


def _pair(api: Any, namespace: str) -> tuple[str, str] | None:
    """(active, standby) once both pods run Ready, one labelled active and the other standby."""
    pods = _pods(client.CoreV1Api(api), namespace)
    if sorted(pods) != sorted(PODS) or not all(_ready(p) for p in pods.values()):
        return None
    roles = {_role(p): name for name, p in pods.items()}
    return (roles["active"], roles["standby"]) if sorted(map(str, roles)) == ["active", "standby"] else None


def _endpoint_ips(api: Any, namespace: str, service: str) -> set[str]:
    """The ready addresses of the Service's EndpointSlices."""
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    return {
        address
        for s in slices.items
        for e in s.endpoints or ()
        if e.conditions is None or e.conditions.ready is not False
        for address in e.addresses
    }


def _selects_only(api: Any, namespace: str, service: str, ip: str) -> bool:
    return _endpoint_ips(api, namespace, service) == {ip}


def _phase(obj: dict[str, Any] | None) -> str | None:
    return ((obj or {}).get("status") or {}).get("phase")


def _node_status(api: Any, namespace: str) -> dict[str, Any]:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, NODE_PLURAL, RELEASE
    )
    return obj.get("status") or {}


def _health_url(api: Any, namespace: str) -> str:
    ip = client.CoreV1Api(api).read_namespaced_service(NODE, namespace).spec.cluster_ip
    return f"http://{ip}:{API_PORT}/health"


def _answers(url: str) -> bool:
    """The node answered /health (200, or 207 with a check failing) on a new connection."""
    try:
        response = httpx.get(url, timeout=httpx.Timeout(2.0, connect=0.5), headers={"Connection": "close"})
    except httpx.HTTPError:
        return False
    return response.status_code < 500


def _node_jobs(api: Any, namespace: str) -> list[dict[str, Any]]:
    """The node's jobs, read through the API Service with the chart's credentials."""
    secret = client.CoreV1Api(api).read_namespaced_secret(f"{NODE}-api", namespace)
    email, password = base64.b64decode(secret.data["credentials"]).decode().splitlines()[:2]
    base = _health_url(api, namespace).removesuffix("/health")
    with httpx.Client(base_url=base, timeout=10) as node:
        node.post("/sessions", json={"email": email, "password": password}).raise_for_status()
        listed: list[dict[str, Any]] = node.get("/v2/jobs").json()["data"]
    return listed


def _proc_status(cluster: ControlPlane, namespace: str, pod: str, container: str) -> dict[str, Any]:
    """/proc/1/status of a container: its Name, and VmRSS and VmHWM in KiB."""
    out = run(
        ["kubectl", "exec", "-n", namespace, pod, "-c", container, "--", "cat", "/proc/1/status"],
        cluster.env(),
    )
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {
        "Name": fields["Name"].strip(),
        **{key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")},
    }


def _waiting(
    cluster: ControlPlane, namespace: str, check: Callable[[], T | None], timeout: float, what: str
) -> T:
    """eventually(), failing with the release's pods, ChainlinkNode and agent logs."""
    return waiting(check, timeout, what, lambda: _evidence(cluster, namespace))


def _evidence(cluster: ControlPlane, namespace: str) -> str:
    commands = [
        ["kubectl", "get", "pods", "-n", namespace, "-o", "wide", "--show-labels"],
        ["kubectl", "get", "statefulset", NODE, "-n", namespace, "-o", "jsonpath={.status}"],
        ["kubectl", "get", "endpointslices", "-n", namespace, "-o", "wide"],
        ["kubectl", "get", "chainlinknodes", "-n", namespace, "-o", "jsonpath={.items[*].status}"],
        ["kubectl", "get", "chainlinkjobs,chainlinkplacements", "-n", namespace, "-o", "wide"],
        [
            "kubectl",
            "get",
            "leases",
            "-n",
            namespace,
            "-o",
            "custom-columns=LEASE:.metadata.name,HOLDER:.spec.holderIdentity",
        ],
    ]
    commands += [["kubectl", "logs", "-n", namespace, pod, "-c", "agent", "--tail=25"] for pod in PODS]
    parts = []
    for cmd in commands:
        proc = subprocess.run(cmd, env=cluster.env(), capture_output=True, text=True, timeout=60, check=False)
        parts.append(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return "\n".join(parts)
