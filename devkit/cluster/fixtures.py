"""pytest fixtures for the control-plane bench (loaded as a plugin through devkit/pytest_plugin.py).

Fixtures:

* ``cluster`` (session) -> ``ControlPlane``. At most one control plane per session: if any selected
  test needs ``full_cluster``, ``cluster`` *is* that full bench (one start instead of two; light tests
  then run with controllers present); otherwise a light one (etcd + kube-apiserver, ~3-4 s).
* ``full_cluster`` (session) -> ``ControlPlane`` with controller-manager, scheduler, kwok (node
  ``kwok-node-0``) and the default StorageClass ``standard`` (dynamic hostPath provisioning).
* ``real_pods_cluster`` (session) -> ``ControlPlane`` whose node is a real kubelet with containerd
  (``bench-node-0``): real containers from the images the chart defaults to, built here and cached
  (devkit/cluster/images.py). Started only when a selected test asks for it; ``CHAINLINK_K8S_REAL_PODS=0``
  skips those tests.
* ``kube_api`` (function) -> ``kubernetes.client.ApiClient`` with admin rights on ``cluster``.
* ``namespace`` (function) -> ``str``: a fresh namespace on ``cluster`` (on a full bench, ready to take
  Pods: its ``default`` ServiceAccount exists); deleted afterwards without waiting.

Use ``bench.env()`` for subprocesses (``helm``, ``kubectl``, ``ct``), ``bench.kubeconfig``,
``bench.service_account_kubeconfig(ns, sa)`` / ``bench.service_account_token(ns, sa)`` to act as a
ServiceAccount, ``bench.api_client(token)`` for a client with some other token.

Markers are applied from the fixtures a test uses (directly or through other fixtures): ``realpods`` if it
needs ``real_pods_cluster``, ``fullcluster`` if it needs ``full_cluster``, else ``cluster`` if it needs
``cluster``. So ``-m cluster`` selects the
light-bench tests, ``-m fullcluster`` the full-bench ones, ``-m "not cluster and not fullcluster"``
the rest.

Environment: ``CHAINLINK_BENCH_DIR=DIR`` reuses a bench started with ``python -m devkit.cluster up
--dir DIR`` (see devkit/cluster/__main__.py); ``CHAINLINK_BENCH_TIMEOUT`` (seconds, default 120) bounds
each component's start-up. Logs of benches the session started stay under pytest's basetemp
(``bench-*/logs``), named in the terminal summary.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from devkit.cluster.controlplane import BenchError, ControlPlane

_STARTED: pytest.StashKey[list[ControlPlane]] = pytest.StashKey()


class _Server(Protocol):
    def start(self) -> object: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=_Server)


def serving(server: S, what: str) -> Iterator[S]:
    """For a fixture to yield from: `server` started, and stopped after. One that cannot start fails the
    test with why (for a missing binary, the command that builds it)."""
    try:
        server.start()
    except BenchError as e:
        pytest.fail(f"{what} did not start: {e}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the bench they need (before -m deselects, hence tryfirst)."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "real_pods_cluster" in names:
            item.add_marker(pytest.mark.realpods)
        if "full_cluster" in names:
            item.add_marker(pytest.mark.fullcluster)
        elif "cluster" in names:
            item.add_marker(pytest.mark.cluster)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for bench in config.stash.get(_STARTED, []):
        terminalreporter.write_line(
            f"bench: {bench.mode} control plane started in {bench.startup_seconds:.1f}s, "
            f"logs in {bench.logs_dir}"
        )


def _start(request: pytest.FixtureRequest, *, full: bool, real_pods: bool = False) -> Iterator[ControlPlane]:
    shared = os.environ.get("CHAINLINK_BENCH_DIR")
    if shared:
        attached = ControlPlane.attach(Path(shared))
        if attached.real_pods == real_pods and (attached.full or not full):
            yield attached
            return
    factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    timeout = float(os.environ.get("CHAINLINK_BENCH_TIMEOUT", "120"))
    mode = "real-pods" if real_pods else "full" if full else "light"
    bench = ControlPlane(factory.mktemp(f"bench-{mode}"), full=full, real_pods=real_pods, timeout=timeout)
    try:
        bench.start()
    except BenchError as e:
        pytest.fail(f"control plane did not start: {e}", pytrace=False)
    request.config.stash.setdefault(_STARTED, []).append(bench)
    try:
        yield bench
    finally:
        bench.stop()


@pytest.fixture(scope="session")
def full_cluster(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    yield from _start(request, full=True)


@pytest.fixture(scope="session")
def real_pods_cluster(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    if os.environ.get("CHAINLINK_K8S_REAL_PODS") == "0":
        pytest.skip("CHAINLINK_K8S_REAL_PODS=0: the real-pod lane is off")
    yield from _start(request, full=True, real_pods=True)


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    if any("full_cluster" in getattr(item, "fixturenames", ()) for item in request.session.items):
        yield request.getfixturevalue("full_cluster")
    else:
        yield from _start(request, full=False)


@pytest.fixture
def kube_api(cluster: ControlPlane) -> Iterator[Any]:
    with cluster.api_client() as api:
        yield api


def _namespace_name(test_name: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-") or "t"
    return f"{base}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(cluster: ControlPlane, kube_api: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    cluster.check_alive()
    core = client.CoreV1Api(kube_api)
    name = _namespace_name(request.node.name)
    core.create_namespace({"metadata": {"name": name, "labels": {"chainlink-k8s.test/bench": "true"}}})
    if cluster.full:  # Pods are refused until the controller-manager creates the default ServiceAccount
        deadline = time.monotonic() + 30
        while True:
            try:
                core.read_namespaced_service_account("default", name)
                break
            except ApiException as e:
                if e.status != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    yield name
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except ApiException as e:
        if e.status != 404:
            raise
