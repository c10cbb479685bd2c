"""Which of a node's two pods is active: the agent beside each follows its node's web server, which answers
only while the node holds the database lease, and labels its pod for the Services."""

from __future__ import annotations

from chainlink_agent.model.errors import KubeRejected
from chainlink_agent.standby.role import DEMOTE_AFTER, ROLE_LABEL, Role, State, step


class FakeNode:
    def __init__(self) -> None:
        self.answering = False

    def serving(self) -> bool:
        return self.answering


class FakePods:
    def __init__(self) -> None:
        self.labels: dict[str, dict[str, str]] = {}
        self.refuse = False

    def label_pod(self, name: str, key: str, value: str) -> None:
        if self.refuse:
            raise KubeRejected(403, "pods is forbidden")
        self.labels.setdefault(name, {})[key] = value


def test_a_node_is_active_from_its_first_answer_and_stands_by_only_after_several_misses() -> None:
    state = step(State(), answered=True)
    assert state.active
    for _ in range(DEMOTE_AFTER - 1):
        state = step(state, answered=False)
        assert state.active  # one missed answer under load is not a lost lease
    assert not step(state, answered=False).active
    assert not step(State(), answered=False).active


def test_without_a_standby_the_node_is_active_from_the_start_and_nothing_polls() -> None:
    role = Role(None)
    assert role.active.is_set()
    assert not role.standby


def test_the_agent_labels_its_pod_and_tells_the_agent_each_change() -> None:
    node, pods, changes = FakeNode(), FakePods(), list[bool]()
    role = Role(node, pods, "node-a-1", changes.append)
    role.poll()
    assert not role.active.is_set()
    assert pods.labels == {"node-a-1": {ROLE_LABEL: "standby"}}
    node.answering = True
    role.poll()
    assert role.active.is_set()
    assert changes == [True]
    assert pods.labels["node-a-1"][ROLE_LABEL] == "active"
    node.answering = False
    for _ in range(DEMOTE_AFTER):
        role.poll()
    assert not role.active.is_set()
    assert changes == [True, False]
    assert pods.labels["node-a-1"][ROLE_LABEL] == "standby"


def test_a_refused_label_is_written_again_on_the_next_poll() -> None:
    node, pods = FakeNode(), FakePods()
    node.answering, pods.refuse = True, True
    role = Role(node, pods, "node-a-0")
    role.poll()
    assert role.active.is_set()
    assert pods.labels == {}
    pods.refuse = False
    role.poll()
    assert pods.labels == {"node-a-0": {ROLE_LABEL: "active"}}
