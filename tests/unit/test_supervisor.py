"""The supervisor behind /healthz (supervisor.py): threads that stop or get stuck show, threads that block by
design or end on purpose do not. Its clock is one the tests move by hand."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from chainlink_agent.control.controller import Controller
from chainlink_agent.control.workqueue import WorkQueue
from chainlink_agent.k8s.informer import WATCH_SECONDS, Informer, resources
from chainlink_agent.k8s.lease import Election, Lease
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.supervisor import GRACE_SECONDS, Beat, Supervisor, bound
from chainlink_agent.status.aggregator import Aggregator

PERIOD = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def supervised() -> tuple[Supervisor, threading.Event, Clock]:
    stop, clock = threading.Event(), Clock()
    return Supervisor(stop, clock), stop, clock


def blocked(release: threading.Event) -> Callable[[Beat], None]:
    """A thread body that never beats: it blocks until `release`."""

    def body(_beat: Beat) -> None:
        release.wait(10)

    return body


def on(queue: WorkQueue) -> Callable[[Beat], None]:
    """A worker's body: blocked on its queue by design, until the queue shuts down."""

    def body(_beat: Beat) -> None:
        queue.get()

    return body


def finished(thread: threading.Thread) -> None:
    thread.join(5)
    assert not thread.is_alive()


def test_a_thread_that_ended_while_the_agent_runs_shows_and_one_that_failed_is_logged(caplog):
    supervisor, stop, _ = supervised()
    release = threading.Event()
    supervisor.start("resync", blocked(release), PERIOD)

    def fail(_beat: Beat) -> None:
        raise RuntimeError("a bug")

    with caplog.at_level(logging.ERROR, logger="chainlink_agent.runtime.supervisor"):
        finished(supervisor.start("worker-0", lambda _beat: None))
        finished(supervisor.start("report", fail, PERIOD))
    assert supervisor.problem() == "threads stopped: worker-0, report"
    [failed] = [r for r in caplog.records if r.getMessage() == "a thread failed"]
    assert failed.exc_info is not None
    assert failed.thread_name == "report"
    stop.set()  # the blocked one then ends on purpose, unreported after the test
    release.set()


def test_a_periodic_thread_that_stops_beating_shows_after_its_bound_and_clears_when_it_beats_again(caplog):
    supervisor, stop, clock = supervised()
    release = threading.Event()
    supervisor.start("role", blocked(release), PERIOD)  # its start counts as its first beat
    assert bound(PERIOD) == 3 * PERIOD + GRACE_SECONDS
    clock.now += bound(PERIOD)
    assert supervisor.problem() is None  # at the bound, not past it
    clock.now += 1
    with caplog.at_level(logging.ERROR, logger="chainlink_agent.runtime.supervisor"):
        assert supervisor.problem() == "threads stuck: role (no beat for 316 s, bound 315 s)"
        assert supervisor.problem() is not None
    [logged] = [r for r in caplog.records if "no progress" in r.getMessage()]  # once, not per probe
    assert "release.wait" in logged.stack  # where it is stuck
    supervisor.beat("role")
    assert supervisor.problem() is None
    stop.set()
    release.set()


def test_the_beat_a_thread_is_given_is_its_own():
    supervisor, _, clock = supervised()
    beats: list[Beat] = []
    release = threading.Event()

    def body(beat: Beat) -> None:
        beats.append(beat)
        release.wait(10)

    supervisor.start("rollout", body, PERIOD)
    while not beats:
        threading.Event().wait(0.01)
    clock.now += bound(PERIOD) + 1
    assert supervisor.problem() is not None
    beats[0]()
    assert supervisor.problem() is None
    release.set()


def test_a_queue_worker_blocked_for_days_is_healthy():
    supervisor, stop, clock = supervised()
    queue = WorkQueue()
    supervisor.start("worker-0", on(queue))  # no period: only its being alive counts
    supervisor.start("aggregator-writer", on(queue))
    clock.now += 3 * 24 * 3600
    assert supervisor.problem() is None
    stop.set()
    queue.shutdown()


def test_a_thread_ended_by_its_own_stop_is_not_reported_and_its_name_can_start_again():
    supervisor, _, clock = supervised()
    term, release = threading.Event(), threading.Event()
    old = supervisor.start("informer-other-placements", blocked(release), WATCH_SECONDS, stop=term)
    term.set()  # stepped down: winding down, and no longer beating
    clock.now += bound(WATCH_SECONDS) + 1
    assert supervisor.problem() is None
    new = supervisor.start(
        "informer-other-placements", blocked(threading.Event()), WATCH_SECONDS
    )  # led again
    release.set()
    finished(old)
    assert supervisor.problem() is None
    assert supervisor.threads() == [new]
    with pytest.raises(ValueError, match="running already"):
        supervisor.start("informer-other-placements", lambda _beat: None)


def test_at_shutdown_nothing_is_reported_and_the_threads_that_end_are_forgotten():
    supervisor, stop, clock = supervised()
    release = threading.Event()
    dead = supervisor.start("worker-0", lambda _beat: None)
    finished(dead)
    stuck = supervisor.start("resync", blocked(release), PERIOD)
    clock.now += bound(PERIOD) + 1
    assert supervisor.problem() == (
        "threads stopped: worker-0; threads stuck: resync (no beat for 316 s, bound 315 s)"
    )
    stop.set()
    assert supervisor.problem() is None
    release.set()
    finished(stuck)
    assert supervisor.threads() == [dead]  # the one that ended before the stop


class Watches:
    """The Kubernetes calls of an informer and the aggregator: an empty list, short quiet watches, no
    Lease. `timeline` records each watch opened and each event played."""

    node = "node-a"

    def __init__(self, stop: threading.Event, events: list[dict[str, Any]] | None = None) -> None:
        self.stop = stop
        self.events = events
        self.timeline: list[str] = []

    def list_objects(self, plural: str, convert: Any, label_selector: str | None = None) -> Any:
        return [], "1"

    def watch_objects(
        self, plural: str, version: str, timeout: int, selector: str | None = None, opened: Any = None
    ) -> Iterator[Any]:
        self.timeline.append("watch")
        if self.events is None:
            threading.Event().wait(0.01)  # a quiet watch, ended by the server
            return
        for event in self.events:
            self.timeline.append(event["type"])
            yield event
        self.stop.set()

    def lease(self, name: str) -> None:
        return None  # never held: taken at each round

    def write_lease(self, name: str, spec: dict[str, Any], version: str | None) -> dict[str, Any]:
        return {"metadata": {"resourceVersion": "1"}, "spec": spec}


def test_a_watch_beats_on_each_connect_event_and_bookmark():
    stop = threading.Event()
    job = {"metadata": {"name": "a", "namespace": "ns", "resourceVersion": "2"}}
    kube = Watches(stop, [{"type": "ADDED", "object": job}, {"type": "BOOKMARK", "object": job}])
    informer = Informer(kube, lambda key: None, Metrics(), stop, resources("chainlinkjobs", "node-a", {}))  # type: ignore[arg-type]
    informer.run(lambda: kube.timeline.append("beat"))
    # (re)connect: before the list and before the watch; then one per event, the bookmark included
    assert kube.timeline == ["beat", "beat", "watch", "ADDED", "beat", "BOOKMARK", "beat"]


def test_the_aggregators_threads_are_the_supervisors_and_a_stepped_down_watch_is_not_reported(monkeypatch):
    monkeypatch.setattr("chainlink_agent.k8s.lease.RENEW_SECONDS", 0.01)
    stop, clock = threading.Event(), Clock()
    supervisor = Supervisor(stop, clock)
    kube = cast(Any, Watches(stop))
    lease = Lease(kube, "l", "a-0")
    queue = WorkQueue()
    aggregator = Aggregator(kube, cast(Any, None), {}, queue, lambda: lease.leading, supervisor, Metrics())
    writer = Controller("aggregator", queue, aggregator.reconcile, aggregator.kind, Metrics(), stop)
    may_lead = [True]  # False: its node stands by (the chart's standby), and it steps down
    election = Election(lease, aggregator.callbacks, lambda: may_lead[0])
    supervisor.start("election", lambda beat: election.run(stop, beat), 5.0)
    supervisor.start("aggregator-writer", lambda _beat: writer.work())
    while sorted(t.name for t in supervisor.threads()) != [
        "aggregator-writer",
        "election",
        "informer-other-placements",
    ]:
        threading.Event().wait(0.01)
    clock.now += 60  # the election beats; the writer has waited on its empty queue all along
    assert supervisor.problem() is None
    may_lead[0] = False
    while "informer-other-placements" in [t.name for t in supervisor.threads()]:  # ended, and forgotten
        threading.Event().wait(0.01)
    assert supervisor.problem() is None
    stop.set()
    queue.shutdown()  # as the agent's shutdown does
    for thread in supervisor.threads():
        finished(thread)
    assert supervisor.threads() == []  # the writer ended with the shutdown, on purpose
