"""The worker loop (controller.Controller, as the agent runs it) with a fake reconciler: results, failures and
what they log."""

import io
import json
import logging
import threading
from typing import Any

from chainlink_agent.app import Agent
from chainlink_agent.control.controller import Result
from chainlink_agent.control.workqueue import WorkQueue
from chainlink_agent.model import redaction
from chainlink_agent.node.snapshot import NodeSnapshot
from chainlink_agent.runtime.logs import JsonFormatter
from chainlink_agent.standby.role import Role

from tests.unit.fakes import FakeNode, agent_with

KEY = "chainlinkjobs/ns/feed"


class Failing:
    """A reconciler with a bug: it reads a Secret value, then fails quoting it."""

    def reconcile(self, key: str) -> Result:
        redaction.remember("s3cret-value")
        raise ValueError("cannot use s3cret-value")


def run_once(reconciler: Any) -> tuple[Agent, WorkQueue]:
    snapshot = NodeSnapshot(FakeNode())
    snapshot.refresh()
    queue = WorkQueue(base_delay=60)
    agent = agent_with(reconciler, snapshot, queue, Role(None))
    queue.add(KEY)
    worker = threading.Thread(target=agent.controller.work)
    worker.start()
    while len(queue) or queue._processing:  # one reconcile, then the key waits out its backoff
        threading.Event().wait(0.01)
    queue.shutdown()
    worker.join(5)
    return agent, queue


def test_an_unexpected_error_is_logged_with_its_traceback_redacted_and_the_key_backs_off():
    # Formatted as the agent's handler does, when the line is written: inside the reconcile's scope.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("chainlink_agent.control.controller")
    logger.addHandler(handler)
    try:
        agent, queue = run_once(Failing())
    finally:
        logger.removeHandler(handler)
    [line] = [x for x in stream.getvalue().splitlines() if '"reconcile failed"' in x]
    entry = json.loads(line)
    assert "Traceback" in entry["exception"]
    assert "ValueError" in entry["exception"]
    assert "s3cret-value" not in line
    assert entry["retry_seconds"] == 60
    errors = agent.metrics.registry.get_sample_value(
        "chainlink_agent_reconcile_errors_total", {"kind": "ChainlinkJob", "reason": "ValueError"}
    )
    assert errors == 1
    assert queue._failures == {KEY: 1}


class Node:
    answering = False

    def serving(self) -> bool:
        return self.answering


class Recording:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def reconcile(self, key: str) -> Result:
        self.keys.append(key)
        return Result()


def test_a_worker_beside_a_standby_node_reconciles_nothing_until_the_node_is_its_pods() -> None:
    node, reconciler = Node(), Recording()
    role = Role(node)
    snapshot = NodeSnapshot(FakeNode())  # a standby's agent never lists the node
    queue = WorkQueue()
    agent = agent_with(reconciler, snapshot, queue, role)
    queue.add(KEY)
    worker = threading.Thread(target=agent.controller.work, daemon=True)
    worker.start()
    threading.Event().wait(0.7)  # a worker polls its gate every 0.5 s
    assert reconciler.keys == []
    assert len(queue) == 1
    node.answering = True
    role.poll()  # the node took the lease; the resync lists it, and then workers reconcile
    snapshot.refresh()
    while not reconciler.keys:
        threading.Event().wait(0.01)
    agent.stop.set()
    queue.shutdown()
    worker.join(5)
    assert reconciler.keys == [KEY]


class Waiting:
    def reconcile(self, key: str) -> Result:
        return Result(requeue_after=60)


def test_a_reconcile_that_waits_comes_back_after_its_time_and_counts_no_failure():
    agent, queue = run_once(Waiting())
    assert queue._failures == {}
    assert KEY in queue._due  # back in 60 s, however often it waited before
    waits = agent.metrics.registry.get_sample_value(
        "chainlink_agent_reconciles_total", {"kind": "ChainlinkJob", "result": "waiting"}
    )
    assert waits == 1
