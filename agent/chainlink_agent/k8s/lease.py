"""Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it: the holder renews
every RENEW_SECONDS; another candidate takes the Lease over only after it has seen the same record unchanged
for its whole leaseDurationSeconds (by its own clock, so clock skew between pods does not matter); writes
carry the resourceVersion read, so two candidates cannot both win. The holder counts as leading only until
RENEW_DEADLINE_SECONDS after its last successful renewal, which ends before anyone else can take over.

Another holder's leaseDurationSeconds counts for at most MAX_DURATION_SECONDS: the Lease is writable by every
agent of the namespace, so one record claiming a duration of years (a compromised sidecar's, or an agent the
chart's admission policy does not cover) would otherwise stop every agent from ever taking it over, and no
status would be written again. The chart's admission policy refuses a longer duration from its agents.

`Election` runs the rounds and calls its `LeaderCallbacks` as a term starts and ends (client-go's
LeaderElector and LeaderCallbacks): what leads is told, and never polls the Lease itself."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from chainlink_agent.model.errors import Conflict, KubeError

log = logging.getLogger(__name__)
DURATION_SECONDS = 15
RENEW_SECONDS = 5.0
RENEW_DEADLINE_SECONDS = 10.0
MAX_DURATION_SECONDS = 60  # the most another holder's record is waited for; the admission policy's bound


class LeaseStore(Protocol):
    """kube.Kube's Lease calls."""

    def lease(self, name: str) -> dict[str, Any] | None: ...
    def write_lease(
        self, name: str, spec: dict[str, Any], resource_version: str | None
    ) -> dict[str, Any]: ...


class Lease:
    def __init__(self, store: LeaseStore, name: str, identity: str) -> None:
        self._store = store
        self._name = name
        self._identity = identity
        self._renewed = float("-inf")  # monotonic time of this candidate's last successful write
        self._seen: tuple[Any, float] | None = None  # (the other holder's record, when first seen)
        self._released = False  # release() has looked since the last time this candidate held the Lease
        self._written: dict[str, Any] | None = None  # the record this candidate last wrote, while it leads

    @property
    def leading(self) -> bool:
        return time.monotonic() - self._renewed < RENEW_DEADLINE_SECONDS

    def try_hold(self) -> bool:
        """Takes the Lease or renews it if it may; returns whether this candidate leads now."""
        try:
            # A leader renews from what it last wrote, without a read: had anyone written since, the write's
            # resourceVersion no longer matches, and the 409 sends the next round to read.
            current = self._written if self.leading else None
            current = current or self._store.lease(self._name)
            spec = (current or {}).get("spec") or {}
            holder = spec.get("holderIdentity") or ""
            if current is not None and holder and holder != self._identity and not self._expired(spec):
                return self.leading
            transitions = int(spec.get("leaseTransitions") or 0) + (bool(holder) and holder != self._identity)
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            acquired = spec.get("acquireTime") if holder == self._identity else stamp
            written = self._store.write_lease(
                self._name,
                {
                    "holderIdentity": self._identity,
                    "leaseDurationSeconds": DURATION_SECONDS,
                    "acquireTime": acquired or stamp,
                    "renewTime": stamp,
                    "leaseTransitions": transitions,
                },
                None if current is None else str(current["metadata"]["resourceVersion"]),
            )
        except Conflict:  # another candidate wrote first, which is the election working
            self._written = None
            return self.leading
        except KubeError as exc:
            self._written = None
            log.warning("could not take or renew the lease", extra={"lease": self._name, "error": str(exc)})
            return self.leading
        self._written = written
        self._renewed = time.monotonic()
        self._seen = None
        self._released = False
        return True

    def release(self) -> None:
        """Stops leading, and if the record still names this candidate (it led before it stepped out, or
        before a restart under the same identity) empties it, so another takes over at once instead of after
        its duration. Looks once per step out."""
        self._renewed = float("-inf")
        self._written = None
        if self._released:
            return
        self._released = True
        try:
            current = self._store.lease(self._name)
            spec = (current or {}).get("spec") or {}
            if current is None or spec.get("holderIdentity") != self._identity:
                return
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            spec = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": stamp}
            self._store.write_lease(self._name, spec, str(current["metadata"]["resourceVersion"]))
        except KubeError as exc:
            log.warning("could not hand the lease on", extra={"lease": self._name, "error": str(exc)})

    def _expired(self, spec: dict[str, Any]) -> bool:
        """Whether another holder's record has stood unchanged for its whole duration, by this clock."""
        record = (spec.get("holderIdentity"), spec.get("renewTime"))
        now = time.monotonic()
        if self._seen is None or self._seen[0] != record:
            self._seen = (record, now)
            return False
        return now - self._seen[1] > duration(spec)


@dataclass(frozen=True)
class LeaderCallbacks:
    """What an election tells the candidate: a term started, a term ended (lost, given up, or shut down)."""

    on_started_leading: Callable[[], None]
    on_stopped_leading: Callable[[], None]


class Election:
    """The rounds of one candidate: every RENEW_SECONDS it holds the Lease or gives it up, and a change
    either way starts or ends a term. `may_lead` False (a standby's agent) gives the Lease up; a term that
    is on at shutdown ends, and the Lease is handed on at once instead of after its duration."""

    def __init__(
        self, lease: Lease, callbacks: LeaderCallbacks, may_lead: Callable[[], bool] = lambda: True
    ) -> None:
        self._lease = lease
        self._callbacks = callbacks
        self._may_lead = may_lead
        self._term = False

    def run(self, stop: threading.Event, beat: Callable[[], None] = lambda: None) -> None:
        """Rounds until `stop`; `beat` (the supervisor's) once per round."""
        while not stop.is_set():
            beat()
            self.round()
            stop.wait(RENEW_SECONDS)
        if self._term:
            self._term = False
            self._callbacks.on_stopped_leading()
            self._lease.release()

    def round(self) -> bool:
        """Holds or gives up the Lease, and starts or ends a term; returns whether this candidate leads."""
        if self._may_lead():
            leading = self._lease.try_hold()
        else:
            self._lease.release()
            leading = False
        if leading != self._term:
            self._term = leading
            (self._callbacks.on_started_leading if leading else self._callbacks.on_stopped_leading)()
        return leading


def duration(spec: dict[str, Any]) -> float:
    """How long another holder's record must stand unchanged before it counts as expired: its
    leaseDurationSeconds, at most MAX_DURATION_SECONDS (DURATION_SECONDS if it has none or a malformed
    one)."""
    try:
        claimed = float(spec.get("leaseDurationSeconds") or DURATION_SECONDS)
    except (TypeError, ValueError):
        claimed = DURATION_SECONDS
    if not math.isfinite(claimed):
        claimed = MAX_DURATION_SECONDS
    return min(max(claimed, 0.0), MAX_DURATION_SECONDS)
