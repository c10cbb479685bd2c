"""The node's two pods (the chart's `standby`) as the agents read them: their names and what their objects
say. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainlink_agent.standby.role import ROLE_LABEL

REVISION_LABEL = "controller-revision-hash"  # the StatefulSet controller's, on each pod


def peer(pod: str) -> str:
    """The other pod of a two-pod StatefulSet: <name>-0 <-> <name>-1."""
    base, _, ordinal = pod.rpartition("-")
    return f"{base}-{1 if ordinal == '0' else 0}"


def statefulset_of(pod: str) -> str:
    return pod.rpartition("-")[0]


@dataclass(frozen=True)
class PodView:
    revision: str | None
    ready: bool
    role: str | None  # as its agent labels it: active, standby, or None (an agent without a standby)
    deleting: bool

    @classmethod
    def of(cls, pod: Mapping[str, Any]) -> PodView:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        conditions = (pod.get("status") or {}).get("conditions") or ()
        return cls(
            revision=labels.get(REVISION_LABEL),
            ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
            role=labels.get(ROLE_LABEL),
            deleting=bool(meta.get("deletionTimestamp")),
        )

    @property
    def active(self) -> bool:
        return self.role == "active"

    @property
    def standing_by(self) -> bool:
        """Ready (the chart's probes pass for a node waiting for the lease), not labelled active, not being
        deleted: what status.standby.ready says."""
        return self.ready and not self.active and not self.deleting
