"""The node's ChainlinkPlacements saved beside each backup, and made again, released, by its restore. Pure.

A restored database holds the jobs and bridges the agent had made, under external job IDs derived from the
UIDs of resources that, after a lost namespace or cluster, exist no more: without the record of them the agent
would call them hand-made, never touch them, and make each job a second time for the re-applied resource. The
placements saved with the dump are that record. Restored as released ones (placement.py), they make the agent
remove what belonged to the old resources and make the new ones' as for a reinstall on a kept database, then
take each back (reconcile.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from chainlink_agent.model import placement

SUFFIX = ".placements.json.age"


def records_key(dump_key: str) -> str:
    """Where a backup's placements are: beside its dump, `<time>.placements.json.age`."""
    return dump_key.removesuffix(".dump.age") + SUFFIX


def saved(placements: Iterable[Mapping[str, Any]]) -> bytes:
    """What of each placement a restore needs: which resource it is for (kind, name, UID) and its status."""
    kept = [
        {
            "kind": (p.get("spec") or {}).get("kind"),
            "name": (p.get("spec") or {}).get("name"),
            "uid": (p.get("spec") or {}).get("uid", ""),
            "status": p.get("status") or {},
        }
        for p in placements
    ]
    return json.dumps(
        sorted(kept, key=lambda r: (str(r["kind"]), str(r["name"]))), separators=(",", ":")
    ).encode()


def restored(data: bytes, node: str, namespace: str) -> list[dict[str, Any]]:
    """The placements to make for `node` in `namespace` from saved ones (another node's too, when a restore
    clones one), each released: the aggregator shows none until the agent has reconciled its resource."""
    return [
        placement.body_of(
            r["kind"], r["name"], r["uid"], namespace, node, r.get("status") or {}, released=True
        )
        for r in json.loads(data)
        if r.get("kind") in ("ChainlinkJob", "ChainlinkBridge") and r.get("name")
    ]
