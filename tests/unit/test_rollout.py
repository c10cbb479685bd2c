"""A new revision rolled out by the standby's agent: its own pod first, then the active one, so the node is
handed over once; and what the agents read of the two pods."""

from __future__ import annotations

from typing import Any

from chainlink_agent.standby.pods import REVISION_LABEL, PodView, peer, statefulset_of
from chainlink_agent.standby.role import ROLE_LABEL, Role
from chainlink_agent.standby.rollout import Rollout, step

NEW, OLD = "sts-new", "sts-old"


def view(
    revision: str | None = NEW, ready: bool = True, role: str | None = "standby", deleting: bool = False
) -> PodView:
    return PodView(revision, ready, role, deleting)


def pod(revision: str, role: str, ready: bool = True) -> dict[str, Any]:
    return {
        "metadata": {"labels": {REVISION_LABEL: revision, ROLE_LABEL: role}},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_the_standby_replaces_itself_first_then_hands_over_once_it_is_updated_and_ready() -> None:
    active_old = view(OLD, role="active")
    assert step(view(OLD), active_old, NEW) == "own"
    assert step(view(NEW, ready=False), active_old, NEW) is None  # the new pod is not Ready yet: wait
    assert step(view(NEW), active_old, NEW) == "other"
    assert step(view(NEW), view(NEW, role="active"), NEW) is None  # rolled out


def test_nothing_is_replaced_while_both_stand_by_the_revision_is_unknown_or_a_pod_goes() -> None:
    assert step(view(OLD), view(OLD), NEW) is None  # both stand by: let the nodes settle
    assert step(view(OLD), None, NEW) is None
    assert step(view(OLD), view(OLD, role="active"), None) is None  # the controller has not seen the spec
    assert step(view(OLD, deleting=True), view(OLD, role="active"), NEW) is None
    assert step(view(NEW), view(OLD, role="active", deleting=True), NEW) is None


def test_a_pod_stands_by_only_ready_not_deleted_and_not_labelled_active() -> None:
    assert PodView.of(pod(NEW, "standby")).standing_by
    assert not PodView.of(pod(NEW, "active")).standing_by
    assert not PodView.of(pod(NEW, "standby", ready=False)).standing_by
    deleted = pod(NEW, "standby")
    deleted["metadata"]["deletionTimestamp"] = "2026-12-04T00:00:00Z"
    assert not PodView.of(deleted).standing_by
    assert PodView.of({"metadata": {}}) == view(None, ready=False, role=None)


def test_the_peer_is_the_other_ordinal_of_the_statefulset() -> None:
    assert (peer("node-a-0"), peer("node-a-1"), peer("my-node-1")) == ("node-a-1", "node-a-0", "my-node-0")
    assert statefulset_of("node-a-chainlink-node-1") == "node-a-chainlink-node"


class FakePods:
    def __init__(self, pods: dict[str, dict[str, Any]], revision: str | None) -> None:
        self.pods, self.revision, self.deleted = pods, revision, list[str]()

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.pods.get(name)

    def delete_pod(self, name: str) -> None:
        self.deleted.append(name)

    def statefulset_update_revision(self, name: str) -> str | None:
        assert name == "n-chainlink-node"
        return self.revision


def test_turning_the_standby_on_replaces_the_single_pod_its_old_agent_never_labelled() -> None:
    assert step(view(NEW), view(OLD, role=None), NEW) == "other"


def test_the_standbys_agent_deletes_the_active_pod_of_an_old_revision() -> None:
    pods = FakePods(
        {"n-chainlink-node-1": pod(NEW, "standby"), "n-chainlink-node-0": pod(OLD, "active")}, NEW
    )
    Rollout(pods, Role(None), "n-chainlink-node-1").poll()
    assert pods.deleted == ["n-chainlink-node-0"]
