"""Builds the agent's parts from its settings and connects them: informer -> queue -> workers
(reconciler -> node client -> placement), and placement -> aggregator -> the resources' status. Nothing
here runs; app.Agent runs what this builds."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from chainlink_agent.control.access import Allowlist
from chainlink_agent.control.bridges import BridgeReconciler
from chainlink_agent.control.controller import Controller
from chainlink_agent.control.jobs import JobReconciler
from chainlink_agent.control.reconcile import Collaborators, Reconciler
from chainlink_agent.control.references import References
from chainlink_agent.control.workqueue import WorkQueue
from chainlink_agent.k8s.admission import AdmissionCheck
from chainlink_agent.k8s.informer import Informer, own_placements, resources
from chainlink_agent.k8s.kube import AGGREGATOR, Kube
from chainlink_agent.k8s.lease import Election, Lease
from chainlink_agent.model.resource import BRIDGE_PLURAL, PLURAL
from chainlink_agent.node.keyimport import KeyImporter
from chainlink_agent.node.nodeclient import NodeClient
from chainlink_agent.node.ratelimit import RateLimit
from chainlink_agent.node.snapshot import NodeSnapshot
from chainlink_agent.runtime import heap
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.settings import Credentials, Settings
from chainlink_agent.runtime.supervisor import Supervisor
from chainlink_agent.standby.role import Role
from chainlink_agent.standby.rollout import Rollout
from chainlink_agent.status.aggregator import Aggregator
from chainlink_agent.status.nodestatus import NodeReporter


@dataclass(frozen=True)
class Parts:
    settings: Settings
    metrics: Metrics
    stop: threading.Event
    supervisor: Supervisor  # starts every thread, and /healthz reads it
    queue: WorkQueue
    node: NodeClient
    snapshot: NodeSnapshot
    importer: KeyImporter
    informers: dict[str, Informer]  # by plural: one per kind, one queue and one worker pool for all
    placements: Informer  # this node's, under their resources' keys
    reconcilers: dict[str, Reconciler[Any, Any]]  # by plural: queue keys carry the kind
    reporter: NodeReporter
    election: Election  # starts and ends the aggregator's terms
    status_writer: Controller  # the aggregator's: its keys are resources, its reconcile writes their status
    role: Role
    rollout: Rollout | None  # with a standby only
    admission: AdmissionCheck | None = None  # the admission self-test


def wire(
    settings: Settings, api_client: client.ApiClient, credentials: Credentials, metrics: Metrics
) -> Parts:
    stop = threading.Event()
    supervisor = Supervisor(stop)
    # Once a burst is reconciled, what its parsing left free goes back to the system (issue 24's RSS).
    queue = WorkQueue(on_depth=metrics.queue_depth.set, on_idle=heap.trim)
    kube = Kube(api_client, settings.namespace, settings.node_name)
    pace = RateLimit(settings.node_rate_limit, settings.node_rate_period_seconds)
    node = NodeClient(settings.node_url, credentials, settings.node_timeout_seconds, metrics, pace)
    snapshot = NodeSnapshot(node)
    allowlist = Allowlist(settings.node_name, settings.allowed_secrets, settings.allowed_config_maps)
    refs = References(kube, allowlist)
    informers = {
        plural: Informer(
            kube, queue.add, metrics, stop, resources(plural, settings.node_name, settings.node_labels)
        )
        for plural in (PLURAL, BRIDGE_PLURAL)
    }
    placements = Informer(kube, queue.add, metrics, stop, own_placements(settings.node_name))
    role = Role(node if settings.standby else None, kube, settings.pod_name)
    # Per pod: a node's two pods (the chart's standby) are two candidates.
    lease = Lease(kube, AGGREGATOR, settings.pod_name or settings.node_name)
    status_queue = WorkQueue(base_delay=1.0, max_delay=60.0)
    aggregator = Aggregator(
        kube, placements, informers, status_queue, lambda: lease.leading, supervisor, metrics
    )
    status_writer = Controller(
        "aggregator", status_queue, aggregator.reconcile, aggregator.kind, metrics, stop
    )
    # A standby's agent does not lead: its node's placements change only through the active pod's agent,
    # whose writes reach a leader by the other-placements watch, which leaves out the leader's own node.
    election = Election(lease, aggregator.callbacks, role.active.is_set)

    def deps(plural: str) -> Collaborators:
        return Collaborators(
            node_name=settings.node_name,
            node_labels=settings.node_labels,
            cache=informers[plural],
            placements=placements,
            enqueue=queue.add,
            summarize=aggregator.touch,
            kube=kube,
            node=node,
            snapshot=snapshot,
            refs=refs,
        )

    jobs = JobReconciler(deps(PLURAL))
    reconcilers: dict[str, Reconciler[Any, Any]] = {
        PLURAL: jobs,
        BRIDGE_PLURAL: BridgeReconciler(deps(BRIDGE_PLURAL), on_ready=jobs.bridge_ready),
    }
    return Parts(
        settings=settings,
        metrics=metrics,
        stop=stop,
        supervisor=supervisor,
        queue=queue,
        node=node,
        snapshot=snapshot,
        importer=KeyImporter(node, settings.import_keys),
        informers=informers,
        placements=placements,
        reconcilers=reconcilers,
        reporter=NodeReporter(
            kube,
            node,
            snapshot.facts,
            lambda: snapshot.listed_at,
            {plural: reconciler.phases for plural, reconciler in reconcilers.items()},
            metrics,
            settings.report_seconds,
            role,
            settings.pod_name,
            backups=settings.backup_enabled,
        ),
        election=election,
        status_writer=status_writer,
        role=role,
        rollout=Rollout(kube, role, settings.pod_name) if settings.standby and settings.pod_name else None,
        admission=AdmissionCheck(kube, metrics, settings.admission_policy_required),
    )
