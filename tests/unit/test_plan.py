"""Desired vs actual -> actions, with no cluster and no node."""

from chainlink_agent.model.nodetypes import NodeJob
from chainlink_agent.model.placement import Record
from chainlink_agent.model.plan import Create, Delete, Replace, plan
from chainlink_agent.model.spec import render

EXT = "11111111-1111-5111-8111-111111111111"
OLD_EXT = "22222222-2222-5222-8222-222222222222"
TOML = 'type = "webhook"\nschemaVersion = 1\nobservationSource = "a [type=memo value=1]"\n'


def desired():
    return render(TOML, EXT)


def recorded(job_id="7", spec_hash=None, ext=EXT):
    return Record(
        node="node-a", job_id=job_id, external_job_id=ext, spec_hash=spec_hash or desired().spec_hash
    )


def test_missing_job_is_created():
    assert plan(desired(), {EXT}, None, {}) == [Create(desired(), restores=False)]


def test_job_deleted_on_the_node_is_restored():
    assert plan(desired(), {EXT}, recorded(), {}) == [Create(desired(), restores=True)]


def test_in_sync_job_needs_nothing():
    assert plan(desired(), {EXT}, recorded(), {EXT: NodeJob("7", EXT)}) == []


def test_spec_change_replaces_the_job():
    actions = plan(desired(), {EXT}, recorded(spec_hash="old"), {EXT: NodeJob("7", EXT)})
    assert actions == [Replace("7", desired())]


def test_job_replaced_by_hand_on_the_node_is_replaced_back():
    assert plan(desired(), {EXT}, recorded(job_id="7"), {EXT: NodeJob("9", EXT)}) == [Replace("9", desired())]


def test_crash_before_status_was_written_replaces_instead_of_duplicating():
    actions = plan(desired(), {EXT}, None, {EXT: NodeJob("7", EXT)})
    assert actions == [Replace("7", desired())]
    assert not any(isinstance(a, Create) for a in actions)


def test_no_desired_job_deletes_only_owned_jobs():
    node = {EXT: NodeJob("7", EXT), "hand-made": NodeJob("8", "hand-made")}
    assert plan(None, {EXT}, recorded(), node) == [Delete("7", EXT)]


def test_changed_external_id_deletes_the_old_job_and_creates_the_new():
    node = {OLD_EXT: NodeJob("7", OLD_EXT)}
    actions = plan(desired(), {EXT, OLD_EXT}, recorded(ext=OLD_EXT), node)
    assert actions == [Delete("7", OLD_EXT), Create(desired(), restores=True)]


def test_hand_made_jobs_are_never_in_a_plan():
    node = {"aaaaaaaa-0000-4000-8000-000000000000": NodeJob("1", "aaaaaaaa-0000-4000-8000-000000000000")}
    assert plan(desired(), {EXT}, None, node) == [Create(desired(), restores=False)]
    assert plan(None, {EXT}, None, node) == []


# Bridges --------------------------------------------------------------------------------------------

from chainlink_agent.model.nodetypes import DesiredBridge, NodeBridge  # noqa: E402
from chainlink_agent.model.plan import (  # noqa: E402 - the bridge half of the module
    BridgeConflict,
    CreateBridge,
    DeleteBridge,
    UpdateBridge,
    plan_bridge,
)

WANT = DesiredBridge("price", "https://ea", 1, "100", "h1")
SAME = NodeBridge("price", "https://ea", 1, "100")


def owned(name="price", phase="Synced"):
    return Record(node="n", phase=phase, owned=True, bridge_name=name)


def test_bridge_missing_is_created_and_restored_when_it_had_been_made():
    assert plan_bridge(WANT, None, {}) == [CreateBridge(WANT, restores=False)]
    assert plan_bridge(WANT, owned(phase="Pending"), {}) == [CreateBridge(WANT, restores=False)]
    assert plan_bridge(WANT, owned(), {}) == [CreateBridge(WANT, restores=True)]


def test_owned_bridge_is_updated_only_when_it_differs():
    assert plan_bridge(WANT, owned(), {"price": SAME}) == []
    drifted = NodeBridge("price", "https://elsewhere", 1, "100")
    assert plan_bridge(WANT, owned(), {"price": drifted}) == [UpdateBridge(WANT)]
    no_payment = DesiredBridge("price", "https://ea", 1, None, "h2")
    assert plan_bridge(no_payment, owned(), {"price": SAME}) == []


def test_a_bridge_this_resource_did_not_make_is_never_touched():
    assert plan_bridge(WANT, None, {"price": SAME}) == [BridgeConflict("price")]
    not_owned = Record(node="n", phase="Invalid", bridge_name="price")
    assert plan_bridge(WANT, not_owned, {"price": SAME}) == [BridgeConflict("price")]
    assert plan_bridge(None, not_owned, {"price": SAME}) == []
    assert plan_bridge(WANT, owned("other"), {"price": SAME}) == [BridgeConflict("price")]


def test_owned_bridge_is_deleted_when_unwanted_or_renamed():
    assert plan_bridge(None, owned(), {"price": SAME}) == [DeleteBridge("price")]
    assert plan_bridge(None, owned(), {}) == []
    renamed = DesiredBridge("volume", "https://ea", 1, "100", "h3")
    assert plan_bridge(renamed, owned(), {"price": SAME}) == [
        DeleteBridge("price"),
        CreateBridge(renamed, restores=False),
    ]


def test_an_adopted_bridge_is_updated_or_removed_like_an_owned_one_and_is_never_a_conflict():
    drifted = NodeBridge("price", "https://squatter", 1, "100")
    assert plan_bridge(WANT, None, {"price": drifted}, adopted="price") == [UpdateBridge(WANT)]
    assert plan_bridge(WANT, owned("volume"), {"price": SAME, "volume": SAME}, adopted="price") == [
        DeleteBridge("volume")
    ]
    assert plan_bridge(None, None, {"price": SAME}, adopted="price") == [DeleteBridge("price")]
