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
from dataclasses import replace
from typing import Any, ClassVar

from chainlink_agent.control.controller import Result
from chainlink_agent.control.reconcile import WAIT_SECONDS, Collaborators, Reconciler
from chainlink_agent.model import pipeline
from chainlink_agent.model.conditions import Outcome
from chainlink_agent.model.errors import InvalidSpec, NodeError, NodeRejected, Waiting
from chainlink_agent.model.nodetypes import DesiredBridge
from chainlink_agent.model.phases import Phase, Reason
from chainlink_agent.model.placement import Record
from chainlink_agent.model.plan import BridgeConflict, CreateBridge, DeleteBridge, UpdateBridge, plan_bridge
from chainlink_agent.model.resource import ChainlinkBridge

log = logging.getLogger(__name__)


class BridgeReconciler(Reconciler[ChainlinkBridge, DesiredBridge]):
    NAMED: ClassVar[str] = "bridge name"
    DUPLICATE: ClassVar[Reason] = "DuplicateBridgeName"

    def __init__(self, deps: Collaborators, on_ready: Callable[[str], None]) -> None:
        super().__init__(deps)
        self._on_ready = on_ready  # wakes the jobs waiting for a bridge this agent just made

    def _parse(self, raw: dict[str, Any]) -> ChainlinkBridge:
        return ChainlinkBridge.from_dict(raw)

    def _keeping(self, recorded: Record | None, phase: Phase, reason: Reason, message: str) -> Outcome:
        """An outcome that keeps what the record says this resource owns on the node."""
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

    def _name(self, bridge: ChainlinkBridge) -> str | None:
        return bridge.bridge_name

    def _held(self, recorded: Record | None) -> str | None:
        return recorded.bridge_name if recorded is not None and recorded.owned else None

    def _without_held(self, recorded: Record) -> Record:
        return replace(recorded, owned=False, bridge_name=None, spec_hash=None)

    def _pinned(self, bridge: ChainlinkBridge, name: str) -> bool:
        return True  # a bridge has no name derived from its resource: any other may set the same

    def _on_node(self, name: str) -> bool:
        return bool(self._snapshot.bridges([name]))

    def _desired(self, bridge: ChainlinkBridge, recorded: Record | None) -> DesiredBridge:
        pipeline.check_bridge_name(bridge.bridge_name)
        url, hashed_url = bridge.url, bridge.url
        if bridge.url_from is not None:
            ref = bridge.url_from
            url, version = self._refs.secret_and_version(ref.name, ref.key)
            # The hash, shown in status, stands for a URL from a Secret by the Secret's key and version:
            # a hash of the URL itself would let a reader of the status test guesses at it (spec.py).
            hashed_url = f"\0{ref.name}\0{ref.key}\0{version}"
            if url is None:
                raise Waiting("SecretMissing", f"waiting for key {ref.key!r} of Secret {ref.name!r}")
        if not url or not url.strip():
            raise InvalidSpec("EmptyURL", "the bridge URL is empty")
        self._claim(bridge, recorded, bridge.bridge_name)
        spec = [bridge.bridge_name, hashed_url, bridge.confirmations, bridge.minimum_contract_payment]
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
        recorded: Record | None,
        desired: DesiredBridge | None,
        wanted: bool,
    ) -> Result:
        # A bridge made under its name while another resource held it, taken over as if made here.
        adopted = None if self._held(recorded) == bridge.bridge_name else self._inherited(bridge)
        names = {n for n in (desired and desired.name, recorded and recorded.bridge_name, adopted) if n}
        try:
            for action in plan_bridge(desired, recorded, self._snapshot.bridges(names), adopted):
                if isinstance(action, BridgeConflict):
                    message = (
                        f"a bridge named {action.name} already exists on the node and was not made by"
                        " this resource"
                    )
                    return self._stopped(bridge, recorded, InvalidSpec("BridgeExists", message))
                recorded = self._execute(bridge, recorded, action)
        except NodeError as exc:
            for name in names:
                self._recheck(self._snapshot.recheck_bridge, name)
            if isinstance(exc, NodeRejected) and exc.status == 409:
                # DELETE answers 409 while a job still uses the bridge: looked at again until the job is gone.
                outcome = self._keeping(recorded, "Deleting", "BridgeInUse", exc.detail)
                self._record(bridge, recorded, outcome, "Warning")
                return Result(requeue_after=WAIT_SECONDS)
            return self._stopped(bridge, recorded, exc)
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
        recorded: Record | None,
        action: CreateBridge | UpdateBridge | DeleteBridge,
    ) -> Record | None:
        """Does one action; returns the record as it now stands (a create writes one first)."""
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
            entry = self._record(bridge, recorded, ahead, None)
            recorded = Record(
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
