"""The admission self-test. RBAC cannot limit the agent's writes of ChainlinkPlacements to its own node's: the
chart's ValidatingAdmissionPolicy does, and when it is missing (not installed, its binding deleted, a cluster
without the API) every agent's ServiceAccount can rewrite or delete every node's placements, and through them
make an agent delete jobs. So the agent asks the API server, at start and every CHECK_SECONDS (RETRY_SECONDS
while the answer is no), to apply a placement of another node as a server-side dry run (dryRun=All: admitted
or refused, never stored). Refused by admission: the policy holds (chainlink_agent_admission_policy_enforced
1). Accepted: it does not (0), and, where the chart rendered the policy
(CHAINLINK_AGENT_ADMISSION_POLICY_REQUIRED), the agent is not ready, with the reason; with
agent.admissionPolicy.allowUnprotected, or run outside the chart, only the gauge says so. Any other answer
proves nothing either way: the last verdict stands and the check is made again after RETRY_SECONDS, doubling
up to CHECK_SECONDS while such answers go on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from chainlink_agent.model import retry
from chainlink_agent.model.errors import KubeError
from chainlink_agent.model.resource import ChainlinkJob, Resource
from chainlink_agent.runtime.metrics import Metrics

log = logging.getLogger(__name__)
CHECK_SECONDS = 300.0
RETRY_SECONDS = 15.0
PROBE = "chainlink-agent-admission-test"  # the probe's resource; it is never stored
NOT_ENFORCED = (
    "the API server accepted this agent a dry-run write of another node's ChainlinkPlacement: the chart's"
    " admission policy is missing or not enforced, so this node's agent could rewrite or delete every node's"
    " placements (install the chart with agent.admissionPolicy.enabled on Kubernetes 1.30+, or check that the"
    " ValidatingAdmissionPolicy and its binding exist)"
)


class Probe(Protocol):
    """kube.Kube's one call for this check."""

    node: str
    namespace: str

    def dry_run_placement(self, obj: Resource, node: str) -> None: ...


def other_node(node: str) -> str:
    """A node name that is not this node's."""
    return PROBE if node != PROBE else f"{PROBE}-2"


def verdict(status: int | None, message: str) -> bool | None:
    """Whether admission holds the agent to its own node, from the dry run's answer: `status` None (accepted)
    is False; refused by an admission policy or webhook is True; anything else (RBAC, an API error, a webhook
    that does not take dry runs) is None, unknown."""
    if status is None:
        return False
    by_admission = "ValidatingAdmissionPolicy" in message or "admission webhook" in message
    return True if status in (400, 403, 422) and by_admission and "denied" in message else None


class AdmissionCheck:
    def __init__(self, kube: Probe, metrics: Metrics, required: bool) -> None:
        self._kube = kube
        self._metrics = metrics
        self._required = required
        self.enforced: bool | None = None  # the last verdict; None until one is known

    @property
    def problem(self) -> str | None:
        """Readiness: why the agent is not ready, or None."""
        return NOT_ENFORCED if self._required and self.enforced is False else None

    def check(self) -> bool | None:
        """One dry run; returns its verdict (None: unknown) and records a known one."""
        probe = ChainlinkJob.from_dict(
            {"metadata": {"name": PROBE, "namespace": self._kube.namespace}, "spec": {}}
        )
        try:
            self._kube.dry_run_placement(probe, other_node(self._kube.node))
            status, message = None, ""
        except KubeError as exc:  # no answer is status 0: unknown, never "accepted"
            status, message = exc.status or 0, exc.message
        found = verdict(status, message)
        if found is None:
            log.warning(
                "the admission self-test could not tell whether the admission policy holds",
                extra={"status": status, "error": message[:500]},
            )
            return None
        if found != self.enforced:
            if found:
                log.info("the admission policy refuses this agent another node's placement")
            elif self._required:
                log.error(NOT_ENFORCED)
            else:
                log.warning(f"{NOT_ENFORCED}; ready anyway: no policy is required of this agent")
        self.enforced = found
        self._metrics.admission_policy_enforced.set(1 if found else 0)
        return found

    def run(self, stop: threading.Event, beat: Callable[[], None] = lambda: None) -> None:
        """Checks every CHECK_SECONDS while the policy holds, every RETRY_SECONDS while it does not (a policy
        installed with the pod reaches admission a moment later: the agent is ready once it does). `beat`
        (the supervisor's) is called once per check."""
        unknown = 0  # answers in a row that told nothing
        while not stop.is_set():
            beat()
            found = self.check()
            if found is None:
                stop.wait(retry.delay(unknown, RETRY_SECONDS, CHECK_SECONDS))
                unknown += 1
            else:
                unknown = 0
                stop.wait(CHECK_SECONDS if found else RETRY_SECONDS)
