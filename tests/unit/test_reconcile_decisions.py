"""The pure decisions of a reconcile (reconcile.step and reconcile.verdict): what it does first, and how
what stops it reads in the record and when its key comes back. Both kinds share them."""

import pytest
from chainlink_agent.control.controller import Result
from chainlink_agent.control.reconcile import WAIT_SECONDS, Seen, Step, Verdict, step, verdict
from chainlink_agent.model.errors import InvalidSpec, NodeRejected, NodeUnavailable, Unresolved, Waiting


def seen(**changed: bool) -> Seen:
    """A resource that exists, targets this node, is not suspended and has no placement here yet."""
    fields = {"present": True, "recorded": False, "deleting": False, "targeted": True, "suspended": False}
    return Seen(**{**fields, **changed})


def never_asked() -> bool:
    raise AssertionError("inherits() was asked though the step was already decided")


def test_a_targeting_resource_is_converged():
    assert step(seen(), never_asked) is Step.CONVERGE
    assert step(seen(recorded=True), never_asked) is Step.CONVERGE


def test_a_resource_gone_without_a_placement_here_is_only_forgotten():
    assert step(seen(present=False), never_asked) is Step.FORGET


@pytest.mark.parametrize("changed", [{"targeted": False}, {"deleting": True}], ids=["untargeted", "deleting"])
def test_an_unwanted_resource_removes_what_its_placement_records_and_is_forgotten_without_one(changed):
    assert step(seen(recorded=True, **changed), never_asked) is Step.REMOVE
    assert step(seen(**changed), lambda: False) is Step.FORGET


def test_an_unwanted_resource_without_a_placement_still_removes_what_it_inherits_on_the_node():
    # It wins a name another resource's placement left on the node: it takes that over, removing it.
    assert step(seen(targeted=False), lambda: True) is Step.REMOVE


def test_a_suspended_resource_removes_what_it_has_even_with_no_placement_yet():
    assert step(seen(suspended=True), never_asked) is Step.REMOVE
    assert step(seen(suspended=True, recorded=True), never_asked) is Step.REMOVE


def test_a_spec_that_waits_is_pending_and_looked_at_again_without_counting_a_failure():
    assert verdict(Unresolved('{{ node.ethAddress "1" }}', "no key")) == Verdict(
        "Pending",
        "UnresolvedReference",
        '{{ node.ethAddress "1" }}: no key',
        "Normal",
        Result(requeue_after=WAIT_SECONDS),
    )
    assert verdict(Waiting("BridgeMissing", "bridge x")).result == Result(requeue_after=WAIT_SECONDS)


def test_a_spec_only_an_edit_can_fix_is_invalid_and_not_retried():
    assert verdict(InvalidSpec("InvalidTOML", "line 1")) == Verdict(
        "Invalid", "InvalidTOML", "line 1", "Warning", Result()
    )


def test_the_nodes_refusal_is_invalid_in_its_own_words_and_its_silence_an_error_both_backing_off():
    assert verdict(NodeRejected(400, "bad job")) == Verdict(
        "Invalid", "NodeRejected", "bad job", "Warning", Result(retry=True)
    )
    assert verdict(NodeUnavailable("timed out")) == Verdict(
        "Error", "NodeUnavailable", "timed out", "Warning", Result(retry=True)
    )
