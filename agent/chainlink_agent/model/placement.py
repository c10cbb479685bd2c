"""ChainlinkPlacements: one per (resource, node), this node's record of what it made for a ChainlinkJob or
ChainlinkBridge and where that stands. Naming, the object the agent applies, and reading one back. Pure.

Each agent writes and watches only its own node's placements (label NODE_LABEL), so one node's progress
wakes no other agent; the elected aggregator (aggregator.py) copies them into the resources' status.

A placement outlives its node's release: uninstalling marks it RELEASED_LABEL (release.py) instead of
deleting it, because it is the only record of what the agent made in the node's database, which is kept. A
reinstall on that database finds them, so its agent removes the jobs of resources deleted meanwhile and keeps
its own bridges; the aggregator shows no released placement."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chainlink_agent.model.resource import API_VERSION, GROUP, KINDS, Resource, queue_key

PLURAL = "chainlinkplacements"
KIND = "ChainlinkPlacement"
NODE_LABEL = f"{GROUP}/node"
RELEASED_LABEL = f"{GROUP}/released"
_PREFIX = {"ChainlinkJob": "job", "ChainlinkBridge": "bridge"}
_PLURAL_OF = {kind.KIND: plural for plural, kind in KINDS.items()}
_MAX_NAME = 253


@dataclass(frozen=True)
class Record:
    """This node's record of a resource (its ChainlinkPlacement's status), as last written."""

    node: str
    uid: str = ""  # of the resource it was written for
    phase: str | None = None
    job_id: str | None = None
    external_job_id: str | None = None
    spec_hash: str | None = None
    conditions: tuple[Mapping[str, Any], ...] = ()
    owned: bool = False
    bridge_name: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    # Kept while the node's release was uninstalled (release.py): hidden from status until its agent,
    # back on the same database, has reconciled the resource again.
    released: bool = False


def name(kind: str, resource: str, node: str) -> str:
    """<job|bridge>.<resource>.<node>: node names are DNS labels (no dots), so the name reads back. A
    resource name too long for that is cut and suffixed with a hash of it, keeping names distinct."""
    prefix = _PREFIX[kind]
    full = f"{prefix}.{resource}.{node}"
    if len(full) <= _MAX_NAME:
        return full
    digest = hashlib.sha256(resource.encode()).hexdigest()[:10]
    room = _MAX_NAME - len(prefix) - len(node) - len(digest) - 3
    return f"{prefix}.{resource[:room].rstrip('.-')}-{digest}.{node}"


def body(obj: Resource, node: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The whole placement, as one server-side apply sends it."""
    return body_of(obj.KIND, obj.name, obj.uid, obj.namespace, node, entry)


def body_of(
    kind: str,
    resource: str,
    uid: str,
    namespace: str,
    node: str,
    entry: Mapping[str, Any],
    released: bool = False,
) -> dict[str, Any]:
    """The whole placement of `kind` `resource` (UID `uid`) on `node`, labelled released if so."""
    labels = {NODE_LABEL: node, **({RELEASED_LABEL: "true"} if released else {})}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name(kind, resource, node), "namespace": namespace, "labels": labels},
        "spec": {"kind": kind, "name": resource, "uid": uid, "node": node},
        "status": dict(entry),
    }


def resource_key(obj: Mapping[str, Any]) -> str:
    """The queue key of the resource a placement is for."""
    spec = obj.get("spec") or {}
    return queue_key(_PLURAL_OF[spec["kind"]], obj["metadata"].get("namespace", ""), spec["name"])


def node_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("spec") or {}).get("node", ""))


def slim(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the agent reads of a placement: its identity, spec and status (no managedFields), and whether
    it is released."""
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in ("name", "namespace", "resourceVersion") if k in meta}
    if released(obj):
        kept["labels"] = {RELEASED_LABEL: "true"}
    return {"metadata": kept, "spec": obj.get("spec") or {}, "status": obj.get("status") or {}}


def claimed_text(obj: Mapping[str, Any]) -> str:
    """The names the placement records its resource holding on the node (an external job ID, a bridge
    name), as the claims scan (reconcile._holders) searches them."""
    status = obj.get("status") or {}
    return "\n".join(str(status[field]) for field in ("externalJobID", "bridgeName") if status.get(field))


def released(obj: Mapping[str, Any]) -> bool:
    return RELEASED_LABEL in ((obj.get("metadata") or {}).get("labels") or {})


def record(obj: Mapping[str, Any]) -> Record:
    """The placement as the reconcile reads its record (an empty status: made, nothing recorded yet)."""
    status = obj.get("status") or {}
    return Record(
        node=node_of(obj),
        uid=str((obj.get("spec") or {}).get("uid", "")),
        phase=status.get("phase"),
        job_id=status.get("jobID"),
        external_job_id=status.get("externalJobID"),
        spec_hash=status.get("specHash"),
        conditions=tuple(status.get("conditions") or ()),
        owned=bool(status.get("owned", False)),
        bridge_name=status.get("bridgeName"),
        raw=status,
        released=released(obj),
    )
