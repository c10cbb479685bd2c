"""The one worker loop every queue of the agent runs, as controller-runtime's reconcileHandler does: take a
key, reconcile it, and let the result or the error decide when the key comes back. Nothing a reconcile
raises ends a worker: an error the agent knows (errors.py) is logged in one line, anything else is a bug and
is logged with its traceback, both redacted, and the key backs off."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chainlink_agent.control.workqueue import WorkQueue
from chainlink_agent.model import redaction
from chainlink_agent.model.errors import AgentError
from chainlink_agent.runtime.metrics import Metrics

log = logging.getLogger(__name__)
GATE_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Result:
    """What a reconcile asks of the queue. `retry`: it failed (the node's error, reported): back off, longer
    each time. `requeue_after`: it waits for something (a bridge, a key, another resource): look again then,
    with no failure counted. Neither: done until the next event."""

    retry: bool = False
    requeue_after: float | None = None


class Controller:
    """A queue and the reconcile its workers run. `kind` names a key's kind in the metrics; `may_work` gates
    the workers (a standby's, or before the watches synced): they wait, and a key taken while the gate closed
    goes back to the queue."""

    def __init__(
        self,
        name: str,
        queue: WorkQueue,
        reconcile: Callable[[str], Result],
        kind: Callable[[str], str],
        metrics: Metrics,
        stop: threading.Event,
        may_work: Callable[[], bool] = lambda: True,
    ) -> None:
        self.name = name
        self.queue = queue
        self._reconcile = reconcile
        self._kind = kind
        self._metrics = metrics
        self._stop = stop
        self._may_work = may_work

    def work(self) -> None:
        """One worker: runs until the queue shuts down or `stop` is set while the gate is closed."""
        while True:
            while not self._may_work():
                if self._stop.wait(GATE_POLL_SECONDS):
                    return
            if (key := self.queue.get()) is None:
                return
            if not self._may_work():  # the gate closed while this worker waited
                self.queue.add(key)  # marked dirty while processing: done() puts it back
                self.queue.done(key)
                continue
            self.process(key)

    def process(self, key: str) -> None:
        kind = self._kind(key)
        started = time.perf_counter()
        # The Secret values this reconcile reads are redacted from all it reports, its failure included.
        with redaction.scope():
            try:
                result = self._reconcile(key)
            except Exception as exc:
                self._metrics.reconciles.labels(kind, "error").inc()
                self._metrics.reconcile_errors.labels(kind, type(exc).__name__).inc()
                delay = self.queue.add_rate_limited(key)
                log.warning(
                    "reconcile failed",
                    extra={
                        "controller": self.name,
                        "key": key,
                        "error": redaction.redact(f"{type(exc).__name__}: {exc}")[:1000],
                        "retry_seconds": delay,
                    },
                    # An error the agent raises on purpose is described in full above; anything else is a
                    # bug, and its traceback (redacted like the rest of the line) is what finds it.
                    exc_info=not isinstance(exc, AgentError),
                )
            else:
                if result.retry:
                    self._metrics.reconciles.labels(kind, "retry").inc()
                    self.queue.add_rate_limited(key)
                else:
                    waiting = result.requeue_after is not None
                    self._metrics.reconciles.labels(kind, "waiting" if waiting else "success").inc()
                    self.queue.forget(key)
                    if result.requeue_after is not None:
                        self.queue.add_after(key, result.requeue_after)
            finally:
                self._metrics.reconcile_seconds.labels(kind).observe(time.perf_counter() - started)
                self.queue.done(key)
