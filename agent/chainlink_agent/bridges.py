"""Reconcile one ChainlinkBridge on this node: the same path as jobs (cached resource -> plan_bridge ->
node client -> status), with ownership written ahead because bridges have no external ID.

The bridge's URL may come from a Secret (through references.py): it is sent to the node and nowhere else.
Status, Events and logs carry the bridge's name and a hash of its spec, and are redacted of the URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from . import pipeline
from .conditions import Outcome
from .errors import InvalidSpec, NodeRejected, NodeUnavailable, Waiting
from .nodetypes import DesiredBridge
from .phases import Phase, Reason
from .plan import BridgeConflict, CreateBridge, DeleteBridge, UpdateBridge, plan_bridge
from .reconcile import Collaborators, Reconciler, Result
from .resource import ChainlinkBridge, StatusEntry

log = logging.getLogger(__name__)


class BridgeReconciler(Reconciler[ChainlinkBridge, DesiredBridge]):
    def __init__(self, deps: Collaborators, on_ready: Callable[[str], None]) -> None:
        super().__init__(deps)
        self._on_ready = on_ready  # wakes the jobs waiting for a bridge this agent just made

    def _parse(self, raw: dict[str, Any]) -> ChainlinkBridge:
        return ChainlinkBridge.from_dict(raw)

    def _hold(self, recorded: StatusEntry | None, phase: Phase, reason: Reason, message: str) -> Outcome:
        return _held(recorded, phase, reason, message)

    def _desired(self, bridge: ChainlinkBridge, recorded: StatusEntry | None) -> DesiredBridge:
        pipeline.check_bridge_name(bridge.bridge_name)
        url = bridge.url
        if bridge.url_from is not None:
            ref = bridge.url_from
            url = self._refs.secret(ref.name, ref.key)
            if url is None:
                raise Waiting("SecretMissing", f"waiting for key {ref.key!r} of Secret {ref.name!r}")
        if not url or not url.strip():
            raise InvalidSpec("EmptyURL", "the bridge URL is empty")
        self._claim(
            bridge, f"bridge:{bridge.bridge_name}", f"bridge name {bridge.bridge_name}", "DuplicateBridgeName"
        )
        spec = [bridge.bridge_name, url, bridge.confirmations, bridge.minimum_contract_payment]
        return DesiredBridge(
            bridge.bridge_name,
            url,
            bridge.confirmations,
            bridge.minimum_contract_payment,
            hashlib.sha256(json.dumps(spec).encode()).hexdigest(),
        )

    def _converge(
        self,
        bridge: ChainlinkBridge,
        recorded: StatusEntry | None,
        desired: DesiredBridge | None,
        wanted: bool,
    ) -> Result:
        names = {n for n in (desired and desired.name, recorded and recorded.bridge_name) if n}
        try:
            for action in plan_bridge(desired, recorded, self._snapshot.bridges(names)):
                if isinstance(action, BridgeConflict):
                    message = (
                        f"a bridge named {action.name} already exists on the node and was not made by"
                        " this resource"
                    )
                    outcome = _held(recorded, "Invalid", "BridgeExists", message)
                    self._report(bridge, recorded, outcome, "Warning")
                    return Result()
                recorded = self._execute(bridge, recorded, action)
        except NodeRejected as exc:
            for name in names:
                self._recheck(self._snapshot.recheck_bridge, name)
            if exc.status == 409:
                # DELETE answers 409 while a job still uses the bridge: retried until the job is gone.
                outcome = _held(recorded, "Deleting", "BridgeInUse", exc.detail)
            else:
                outcome = _held(recorded, "Invalid", "NodeRejected", exc.detail)
            self._report(bridge, recorded, outcome, "Warning")
            return Result(retry=True)
        except NodeUnavailable as exc:
            for name in names:
                self._recheck(self._snapshot.recheck_bridge, name)
            self._report(bridge, recorded, _held(recorded, "Error", "NodeUnavailable", str(exc)), "Warning")
            return Result(retry=True)
        synced = None
        if desired is not None:
            message = f"bridge {desired.name} matches generation {bridge.generation}'s spec"
            synced = Outcome(
                "Synced",
                "BridgeSynced",
                message,
                spec_hash=desired.spec_hash,
                owned=True,
                bridge_name=desired.name,
            )
        return self._settled(bridge, recorded, synced, wanted)

    def _execute(
        self,
        bridge: ChainlinkBridge,
        recorded: StatusEntry | None,
        action: CreateBridge | UpdateBridge | DeleteBridge,
    ) -> StatusEntry | None:
        """Does one action; returns the status entry as it now stands (a create writes one first)."""
        if isinstance(action, CreateBridge):
            desired = action.bridge
            # Write-ahead: the entry claims the name before the bridge exists, so a crash right after the
            # create finds a bridge this resource owns instead of someone else's.
            ahead = Outcome(
                "Pending",
                "Creating",
                f"creating bridge {desired.name}",
                spec_hash=recorded.spec_hash if recorded else None,
                owned=True,
                bridge_name=desired.name,
            )
            entry = self._report(bridge, recorded, ahead, None)
            recorded = StatusEntry(
                node=self._node_name, phase="Pending", owned=True, bridge_name=desired.name, raw=entry
            )
            made = self._node.create_bridge(desired)
            self._snapshot.put_bridge(made)
            reason: Reason = "BridgeRestored" if action.restores else "BridgeCreated"
            self._event(bridge, "Normal", reason, f"created bridge {made.name}")
            self._on_ready(made.name)
        elif isinstance(action, UpdateBridge):
            made = self._node.update_bridge(action.bridge)
            self._snapshot.put_bridge(made)
            self._event(bridge, "Normal", "BridgeUpdated", f"updated bridge {made.name}")
        else:
            self._node.delete_bridge(action.name)
            self._snapshot.remove_bridge(action.name)
            self._event(bridge, "Normal", "BridgeDeleted", f"deleted bridge {action.name}")
        return recorded


def _held(recorded: StatusEntry | None, phase: Phase, reason: Reason, message: str) -> Outcome:
    """An outcome that keeps what the entry says this resource owns on the node."""
    if recorded is None:
        return Outcome(phase, reason, message)
    return Outcome(
        phase,
        reason,
        message,
        spec_hash=recorded.spec_hash,
        owned=recorded.owned or None,
        bridge_name=recorded.bridge_name,
    )
