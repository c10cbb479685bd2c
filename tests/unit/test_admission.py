"""The admission self-test (issue 28 item 5): another node's placement, applied as a dry run, must be refused
by admission; accepted, the agent is not ready and its gauge says 0."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from chainlink_agent.k8s import admission
from chainlink_agent.k8s.admission import NOT_ENFORCED, AdmissionCheck, other_node, verdict
from chainlink_agent.k8s.kube import translate
from chainlink_agent.model.errors import KubeError
from chainlink_agent.model.resource import Resource
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.settings import Settings

from tests.unit.fakes import agent_with

POLICY_DENIAL = (
    'chainlinkplacements.chainlink-k8s.github.io "job.chainlink-agent-admission-test.admission-test" is'
    " forbidden: ValidatingAdmissionPolicy 'r-chainlink-node-agent.ns.chainlink-k8s.github.io' with binding"
    " 'r-chainlink-node-agent.ns.chainlink-k8s.github.io' denied request: node node-a's agent may write only"
    " its own node's placements (spec.node: node-a)"
)


class Kube:
    """The one call, answering as the API server would: accepted (None) or refused."""

    namespace = "ns"

    def __init__(self, node: str = "node-a", refusal: KubeError | None = None) -> None:
        self.node = node
        self.refusal = refusal
        self.calls: list[tuple[str, str, str]] = []

    def dry_run_placement(self, obj: Resource, node: str) -> None:
        self.calls.append((obj.KIND, obj.name, node))
        if self.refusal is not None:
            raise self.refusal


def refused(status: int, message: str) -> KubeError:
    return translate(status, message)


def gauge(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("chainlink_agent_admission_policy_enforced")


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (None, "", False),
        (403, POLICY_DENIAL, True),
        (422, 'admission webhook "validate.kyverno.svc" denied the request: no', True),
        (403, 'User "system:serviceaccount:ns:r" cannot patch resource "chainlinkplacements"', None),
        (400, 'admission webhook "x.example.com" does not support dry run', None),
        (500, "etcdserver: request timed out", None),
        (0, "connection refused", None),
    ],
)
def test_only_a_refusal_by_admission_proves_the_policy_and_only_an_acceptance_disproves_it(
    status, message, expected
):
    assert verdict(status, message) is expected


def test_the_probe_is_another_nodes_placement_and_refused_the_agent_is_ready_with_gauge_1():
    kube, metrics = Kube(refusal=refused(403, POLICY_DENIAL)), Metrics()
    check = AdmissionCheck(kube, metrics, required=True)
    assert check.check() is True
    assert kube.calls == [("ChainlinkJob", admission.PROBE, admission.PROBE)]
    assert check.problem is None
    assert gauge(metrics) == 1


def test_accepted_the_agent_is_not_ready_saying_why_and_its_gauge_is_0():
    kube, metrics = Kube(), Metrics()
    check = AdmissionCheck(kube, metrics, required=True)
    assert check.check() is False
    assert check.problem == NOT_ENFORCED
    assert "admission policy is missing or not enforced" in NOT_ENFORCED
    assert gauge(metrics) == 0
    agent = agent_with(None, None, None, Role())  # type: ignore[arg-type]
    agent.admission = check
    assert agent.ready() == NOT_ENFORCED


def test_accepted_but_allowed_to_run_unprotected_the_agent_stays_ready_and_its_gauge_still_says_0():
    metrics = Metrics()
    check = AdmissionCheck(Kube(), metrics, required=False)
    assert check.check() is False
    assert check.problem is None
    assert gauge(metrics) == 0


def test_an_unknown_answer_keeps_the_last_verdict():
    kube, metrics = Kube(refusal=refused(403, POLICY_DENIAL)), Metrics()
    check = AdmissionCheck(kube, metrics, required=True)
    check.check()
    kube.refusal = refused(503, "the server is currently unable to handle the request")
    assert check.check() is None
    assert (check.enforced, gauge(metrics)) == (True, 1)
    fresh = AdmissionCheck(Kube(refusal=refused(500, "boom")), Metrics(), required=True)
    assert fresh.check() is None
    assert fresh.problem is None  # unknown is not proof: readiness waits for a verdict against


def test_the_probe_node_is_never_this_node():
    assert other_node("node-a") == admission.PROBE
    assert other_node(admission.PROBE) != admission.PROBE


def test_the_check_runs_until_stopped(monkeypatch):
    stop = threading.Event()
    kube = Kube(refusal=refused(403, POLICY_DENIAL))
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        kube.refusal = None if len(waits) == 1 else kube.refusal
        if len(waits) == 2:
            stop.set()
        return stop.is_set()

    monkeypatch.setattr(stop, "wait", wait)
    check = AdmissionCheck(kube, Metrics(), required=True)
    check.run(stop)
    assert waits == [admission.CHECK_SECONDS, admission.RETRY_SECONDS]  # gone: looked at again soon
    assert check.enforced is False  # the second check found the policy gone


class Role:
    """A role.Role without a standby: active."""

    def __init__(self) -> None:
        self.active = threading.Event()
        self.active.set()
        self.on_change: Any = None


def test_only_the_chart_makes_the_policy_a_condition_of_readiness(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINLINK_AGENT_NODE_NAME", "node-a")
    monkeypatch.setenv("CHAINLINK_AGENT_NAMESPACE", "ns")
    monkeypatch.setenv("CHAINLINK_AGENT_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    assert Settings.from_environment().admission_policy_required is False  # run by hand, unprotected
    monkeypatch.setenv("CHAINLINK_AGENT_ADMISSION_POLICY_REQUIRED", "true")  # as the chart sets it
    assert Settings.from_environment().admission_policy_required is True


def test_answers_that_tell_nothing_are_retried_sooner_backing_off_to_the_period(monkeypatch):
    stop = threading.Event()
    kube = Kube(refusal=refused(503, "the server is currently unable to handle the request"))
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 7:
            kube.refusal = refused(403, POLICY_DENIAL)
        if len(waits) == 8:
            stop.set()
        return stop.is_set()

    monkeypatch.setattr(stop, "wait", wait)
    AdmissionCheck(kube, Metrics(), required=True).run(stop)
    assert waits[:3] == [admission.RETRY_SECONDS, 2 * admission.RETRY_SECONDS, 4 * admission.RETRY_SECONDS]
    assert waits[5:] == [admission.CHECK_SECONDS] * 3  # capped, then a verdict: the period
