"""Runs the agent: the informers, the periodic resync, the workers (reconciler -> node client -> status)
and the HTTP endpoints, until a stop signal. wiring.py builds the parts; every thread is started by one
supervisor (supervisor.py), which /healthz reads."""

from __future__ import annotations

import logging
import threading
import time

from chainlink_agent.control.controller import Controller
from chainlink_agent.k8s.admission import CHECK_SECONDS as ADMISSION_CHECK_SECONDS
from chainlink_agent.k8s.informer import WATCH_SECONDS, Informer
from chainlink_agent.k8s.lease import RENEW_SECONDS
from chainlink_agent.model import retry
from chainlink_agent.model.errors import ImportFailed, NodeError
from chainlink_agent.model.nodetypes import NodeFacts
from chainlink_agent.model.resource import KINDS, split_key
from chainlink_agent.runtime.server import serve
from chainlink_agent.runtime.supervisor import Beat, Target
from chainlink_agent.standby.role import POLL_SECONDS as ROLE_POLL_SECONDS
from chainlink_agent.standby.rollout import POLL_SECONDS as ROLLOUT_POLL_SECONDS
from chainlink_agent.wiring import Parts

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 5.0
RESYNC_RETRY_SECONDS = 2.0  # the first wait after a failed resync; then doubling up to the period


class Agent:
    """Runs what wiring.wire built: the informers, the resync loop and the workers, plus the HTTP
    endpoints, and shuts it all down when `stop` is set."""

    def __init__(self, parts: Parts) -> None:
        self.settings = parts.settings
        self.metrics = parts.metrics
        self.stop = parts.stop
        self.queue = parts.queue
        self.node = parts.node
        self.snapshot = parts.snapshot
        self.importer = parts.importer
        self.informers = parts.informers
        self.placements = parts.placements
        self.reconcilers = parts.reconcilers
        self.election = parts.election
        self.status_writer = parts.status_writer
        self.import_error: str | None = None
        self.reporter = parts.reporter
        self.role = parts.role
        self.rollout = parts.rollout
        self.admission = parts.admission
        self.role.on_change = self._role_changed
        self._wake = threading.Event()  # ends the resync loop's wait early
        self.supervisor = parts.supervisor
        self.controller = Controller(
            "resources",
            self.queue,
            lambda key: self.reconcilers[split_key(key)[0]].reconcile(key),
            lambda key: KINDS[split_key(key)[0]].KIND,
            self.metrics,
            self.stop,
            self._may_work,
        )

    def healthy(self) -> str | None:
        """A thread that stopped, or a periodic one stuck past its bound (supervisor.py); None at shutdown."""
        return self.supervisor.problem()

    def ready(self) -> str | None:
        for informer in self._watches():
            if not informer.synced.is_set():
                return f"the {informer.plural} watch has not synced yet"
        if self.import_error:
            return self.import_error
        if self.admission is not None and (problem := self.admission.problem) is not None:
            return problem
        if not self.role.active.is_set():
            return None  # standing by is this pod's job while the other pod's node holds the lease
        if not self.snapshot.listed.is_set() or not self.node.last_call_ok:
            return "the Chainlink node is not answering"
        return None

    def run(self) -> None:
        server = serve(
            self.settings.http_host,
            self.settings.http_port,
            self.metrics.registry,
            self.healthy,
            self.ready,
            start=lambda name, target: self._start(name, lambda _beat: target()),
        )
        # Each periodic loop beats once per round and is given its longest healthy wait as its period; a
        # watch beats on each (re)connect, event and bookmark, and ends by WATCH_SECONDS however quiet.
        for informer in self._watches():
            self._start(f"informer-{informer.plural}", informer.run, WATCH_SECONDS)
        if self.role.standby:
            self._start("role", lambda beat: self.role.run(self.stop, beat), ROLE_POLL_SECONDS)
        if (rollout := self.rollout) is not None:
            self._start("rollout", lambda beat: rollout.run(self.stop, beat), ROLLOUT_POLL_SECONDS)
        if (admission := self.admission) is not None:
            self._start("admission", lambda beat: admission.run(self.stop, beat), ADMISSION_CHECK_SECONDS)
        self._start("resync", self._resync_loop, self.settings.resync_seconds)
        self._start("election", lambda beat: self.election.run(self.stop, beat), RENEW_SECONDS)
        # The writer blocks on its queue by design: no period, only its being alive counts.
        self._start("aggregator-writer", lambda _beat: self.status_writer.work())
        self._start(
            "report",
            lambda beat: self.reporter.run(self.stop, self.ready, beat),
            self.settings.report_seconds,
        )
        for i in range(self.settings.concurrency):
            self._start(f"worker-{i}", lambda _beat: self.controller.work())  # blocks on the queue: no period
        log.info(
            "agent started",
            extra={
                "node": self.settings.node_name,
                "namespace": self.settings.namespace,
                "port": server.server_port,
            },
        )
        self.stop.wait()
        log.info("stopping")
        self._wake.set()
        self.queue.shutdown()
        self.status_writer.queue.shutdown()
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        # The workers finish their reconciles; the election hands the Lease on if it holds it.
        for thread in self.supervisor.threads():
            if thread.name.startswith("worker") or thread.name == "election":
                thread.join(max(0.0, deadline - time.monotonic()))
        server.shutdown()
        self.node.close()

    def _watches(self) -> list[Informer]:
        return [*self.informers.values(), self.placements]

    def _start(self, name: str, target: Target, period: float | None = None) -> None:
        """The one place the agent starts a thread: `target(beat)` runs in it, watched by the supervisor
        (with a `period`, as a loop that beats once per round)."""
        self.supervisor.start(name, target, period)

    def _role_changed(self, active: bool) -> None:
        """With a standby: the node became this pod's (list it at once, a full pass) or the other's (stop
        reconciling until it is this pod's again: workers wait for a new list)."""
        if active:
            self._wake.set()
        else:
            self.snapshot.forget()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _may_work(self) -> bool:
        """Whether workers may reconcile: this pod's node is the node, listed since it became so, and every
        watch synced (a key reconciled before its placement is known would look like one never made)."""
        return (
            self.role.active.is_set()
            and self.snapshot.listed.is_set()
            and all(i.synced.is_set() for i in self._watches())
        )

    def _resync_loop(self, beat: Beat) -> None:
        """Imports the key bundles the node lacks, lists its jobs, bridges and keys (once per period), then
        reconciles the resources against that snapshot, which is what repairs drift made on the node and
        replaces jobs whose resolved spec changed (a rotated key): every resource when the node changed
        other than by the agent's own writes, else only those a resync can find stale (needs_resync).
        Until the first pass succeeds no worker reconciles, so a cold start can never mistake an existing
        job or bridge for a missing one, nor resolve a template against a key bundle the node made before
        the imported one arrived."""
        failures = 0
        while not self.stop.is_set():
            beat()  # each round waits resync_seconds at most, retries included
            if not self.role.active.is_set():  # standing by: no call to the node
                self._sleep(self.settings.resync_seconds)
                continue
            try:
                count = self.snapshot.refresh(*self._import_keys())
            except (NodeError, ImportFailed) as exc:
                wait = retry.delay(failures, RESYNC_RETRY_SECONDS, self.settings.resync_seconds)
                failures += 1
                log.warning(
                    "importing keys into or listing the node failed",
                    extra={"error": str(exc), "retry_seconds": wait},
                )
                self._sleep(wait)
                continue
            failures = 0
            self.reporter.resynced.set()
            full = self.snapshot.changed
            # A placement whose resource is gone (deleted while this agent was away) is a key too.
            every = {key for informer in self._watches() for key in informer.cached_keys()}
            keys = [key for key in every if full or self.reconcilers[split_key(key)[0]].needs_resync(key)]
            log.info("resync", extra={"node_jobs": count, "resources": len(keys), "full": full})
            for key in keys:
                self.queue.add_background(key)
            self._sleep(self.settings.resync_seconds)

    def _import_keys(self) -> tuple[frozenset[str], NodeFacts | None]:
        try:
            imported = self.importer.ensure()
        except ImportFailed as exc:
            self.import_error = str(exc)  # readiness says why, until a later pass succeeds
            raise
        self.import_error = None
        return imported
