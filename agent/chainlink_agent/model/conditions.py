"""This node's entry for a resource (its placement's status) and its Synced condition, and the
metav1.Condition shape every status the agent writes uses. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chainlink_agent.model.phases import Phase, Reason
from chainlink_agent.model.placement import Record

SYNCED = "Synced"
# The CRDs' bounds on an entry (a placement's status, an item of a resource's status.nodes): what the agent
# writes is cut to them, so the apiserver never refuses a write for its size.
MAX_MESSAGE = 1024  # characters, of an entry's message and of each condition's
MAX_CONDITIONS = 4


@dataclass(frozen=True)
class Outcome:
    """What one reconcile found, before it is turned into a status entry."""

    phase: Phase
    reason: Reason
    message: str
    job_id: str | None = None
    external_job_id: str | None = None
    spec_hash: str | None = None
    owned: bool | None = None  # bridges: written before the agent creates the bridge
    bridge_name: str | None = None

    @property
    def synced(self) -> bool:
        return self.phase in ("Synced", "Suspended")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    kind: str,
    status: str,
    generation: int,
    reason: str,
    message: str,
    previous: Iterable[Mapping[str, Any]],
    timestamp: str,
) -> dict[str, Any]:
    """A metav1.Condition. Its lastTransitionTime stays that of the previous condition of its type while
    the status is the same, so an unchanged condition is identical (no write)."""
    held = next((c for c in previous if c.get("type") == kind), None)
    return {
        "type": kind,
        "status": status,
        "observedGeneration": generation,
        "lastTransitionTime": held["lastTransitionTime"]
        if held and held.get("status") == status
        else timestamp,
        "reason": reason,
        "message": message,
    }


def placement_status(
    generation: int, outcome: Outcome, previous: Record | None, timestamp: str
) -> dict[str, Any]:
    """The entry to apply. lastTransitionTime moves only when the condition's status changes, and
    lastSyncTime only when anything else does, so an unchanged job yields an identical entry (no write)."""
    status = "True" if outcome.synced else "False"
    message = bounded(outcome.message)
    synced = condition(
        SYNCED,
        status,
        generation,
        outcome.reason,
        message,
        previous.conditions if previous else (),
        timestamp,
    )
    entry: dict[str, Any] = {
        "phase": outcome.phase,
        "message": message,
        "observedGeneration": generation,
        "conditions": [synced],
    }
    for field, value in (
        ("jobID", outcome.job_id),
        ("externalJobID", outcome.external_job_id),
        ("specHash", outcome.spec_hash),
        ("owned", outcome.owned),
        ("bridgeName", outcome.bridge_name),
    ):
        if value is not None:
            entry[field] = value
    previous_sync = previous.raw.get("lastSyncTime") if previous else None
    if previous is not None and previous_sync and _without_sync_time(previous.raw) == entry:
        entry["lastSyncTime"] = previous_sync
    else:
        entry["lastSyncTime"] = timestamp
    return entry


def bounded(message: str) -> str:
    """The message, cut to MAX_MESSAGE characters (its last one an ellipsis when cut)."""
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "\u2026"


def bounded_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as the CRDs bound it: its messages cut and at most MAX_CONDITIONS conditions. For entries read
    from placements (the aggregator's copy), which may predate the bounds."""
    out = dict(entry)
    if isinstance(out.get("message"), str):
        out["message"] = bounded(out["message"])
    if isinstance(out.get("conditions"), list):
        out["conditions"] = [
            {**c, "message": bounded(c["message"])} if isinstance(c.get("message"), str) else c
            for c in out["conditions"][:MAX_CONDITIONS]
            if isinstance(c, Mapping)
        ]
    return out


def _without_sync_time(raw: Any) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k != "lastSyncTime"}
