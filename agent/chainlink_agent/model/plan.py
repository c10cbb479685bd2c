"""Desired job vs the node's jobs -> the actions that make them match. Pure, so it is tested without I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chainlink_agent.model.nodetypes import DesiredBridge, NodeBridge, NodeJob
from chainlink_agent.model.placement import Record
from chainlink_agent.model.spec import RenderedSpec


@dataclass(frozen=True)
class Create:
    spec: RenderedSpec
    restores: bool  # the job had been made before and vanished from the node: drift repaired


@dataclass(frozen=True)
class Replace:
    job_id: str
    spec: RenderedSpec


@dataclass(frozen=True)
class Delete:
    job_id: str
    external_job_id: str


Action = Create | Replace | Delete


def plan(
    desired: RenderedSpec | None,
    owned_external_ids: Iterable[str],
    recorded: Record | None,
    node_jobs: Mapping[str, NodeJob],
) -> list[Action]:
    """Actions for one resource on one node.

    owned_external_ids are the only jobs this resource may touch: the ID it derives, the one its TOML sets
    and the one its record holds (a previous spec's). A node job with any other external ID is someone
    else's and is never in the plan.

    A job whose ID or spec hash differs from what the record holds is replaced: either the spec changed,
    someone replaced the job on the node, or the agent died before recording what it made. Replacing is
    correct in all three, and the last costs one extra replace instead of a guess about the node's copy.
    """
    actions: list[Action] = []
    for ext in sorted(set(owned_external_ids)):
        job = node_jobs.get(ext)
        if job is not None and (desired is None or ext != desired.external_job_id):
            actions.append(Delete(job.id, ext))
    if desired is None:
        return actions
    current = node_jobs.get(desired.external_job_id)
    if current is None:
        actions.append(Create(desired, restores=recorded is not None and recorded.job_id is not None))
    elif recorded is None or recorded.job_id != current.id or recorded.spec_hash != desired.spec_hash:
        actions.append(Replace(current.id, desired))
    return actions


# Bridges ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateBridge:
    bridge: DesiredBridge
    restores: bool  # the resource had made it before and it vanished from the node


@dataclass(frozen=True)
class UpdateBridge:
    bridge: DesiredBridge


@dataclass(frozen=True)
class DeleteBridge:
    name: str


@dataclass(frozen=True)
class BridgeConflict:
    """A bridge of that name exists on the node and this resource did not make it: never touched."""

    name: str


BridgeAction = CreateBridge | UpdateBridge | DeleteBridge | BridgeConflict


def plan_bridge(
    desired: DesiredBridge | None,
    recorded: Record | None,
    node_bridges: Mapping[str, NodeBridge],
    adopted: str | None = None,
) -> list[BridgeAction]:
    """Actions for one ChainlinkBridge on one node.

    Bridges have no external ID, so ownership is written ahead: the record says `owned` (with the
    bridge's name) before the agent creates the bridge. A bridge on the node is this resource's only if
    the entry says so, or it is `adopted` (the agent made it for another resource that held the name,
    which this one now holds: claims.py); any other bridge of that name is a conflict, reported and never
    touched. A crash after the create finds `owned` and adopts the bridge.
    """
    owned_name = recorded.bridge_name if recorded is not None and recorded.owned else None
    owned = {name for name in (owned_name, adopted) if name is not None}
    actions: list[BridgeAction] = []
    for name in sorted(owned):
        if name in node_bridges and (desired is None or desired.name != name):
            actions.append(DeleteBridge(name))  # deleted, untargeted, suspended or renamed
    if desired is None:
        return actions
    current = node_bridges.get(desired.name)
    if current is None:
        made_before = owned_name == desired.name and recorded is not None and recorded.phase == "Synced"
        actions.append(CreateBridge(desired, restores=made_before))
    elif desired.name not in owned:
        actions.append(BridgeConflict(desired.name))
    elif not desired.matches(current):
        actions.append(UpdateBridge(desired))
    return actions
