"""The words the agent writes where people read them: the phase of a status entry, and the reason of its
Synced condition and of each Event. Literal types, so a reason mistyped anywhere fails the type check;
docs/jobs-and-bridges.md's phase table and Events list the same words."""

from __future__ import annotations

from typing import Literal, get_args

Phase = Literal["Synced", "Pending", "Invalid", "Error", "Suspended", "Deleting"]
PHASES: tuple[Phase, ...] = get_args(Phase)
EventType = Literal["Normal", "Warning"]
Reason = Literal[
    # Synced, and what the agent did on the node (Events)
    "JobSynced",
    "JobCreated",
    "JobRestored",
    "JobReplaced",
    "JobDeleted",
    "BridgeSynced",
    "BridgeCreated",
    "BridgeRestored",
    "BridgeUpdated",
    "BridgeDeleted",
    "Suspended",
    # Pending: waiting for something that does not exist yet
    "Creating",
    "BridgeMissing",
    "ConfigMapMissing",
    "SecretMissing",
    "UnresolvedReference",
    # Invalid: only a spec edit fixes it
    "InvalidTOML",
    "InvalidExternalJobID",
    "InvalidReference",
    "InvalidBridgeName",
    "TooManyBridges",
    "EmptySpec",
    "EmptyURL",
    "SecretNotAllowed",
    "ConfigMapNotAllowed",
    "DuplicateExternalJobID",
    "DuplicateBridgeName",
    "BridgeExists",
    "NodeRejected",
    "JobNotStarted",
    # Error and Deleting: the node, retried
    "NodeUnavailable",
    "BridgeInUse",
]
