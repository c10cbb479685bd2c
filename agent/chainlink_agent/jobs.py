"""The ChainlinkJob reconciler: a resource's TOML, resolved and rendered for this node, made a job on the
node under an external job ID the resource owns (derived from its UID, or set in its TOML)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from . import pipeline, placement, redaction, template
from .conditions import SYNCED, Outcome
from .errors import InvalidSpec, NodeError, NodeRejected, Waiting
from .phases import Phase, Reason
from .plan import Action, Create, Replace, plan
from .reconcile import Collaborators, Reconciler, Result, kept
from .resource import ChainlinkJob, StatusEntry, derived_external_job_id
from .spec import RenderedSpec, render, rendered_before

# The node's answer when a job names a bridge it does not have (job ORM.AssertBridgesExist, a 500).
NODE_BRIDGES_MISSING = "not all bridges exist"
# Invalid for what the job's text says. Only a node's facts or a Secret could be substituted into it, so on
# an unchanged node, with no Secret read, parsing the same text gives the same error.
TEXT_INVALID: frozenset[Reason] = frozenset(
    {
        "EmptySpec",
        "InvalidTOML",
        "InvalidExternalJobID",
        "InvalidReference",
        "InvalidBridgeName",
        "TooManyBridges",
    }
)


def settled_invalid(job: ChainlinkJob, recorded: StatusEntry | None) -> bool:
    """Whether the placement records job's current generation as Invalid for its own inline text: a new
    generation arrives through the watch, so a resync of an unchanged node need not parse it again. A TOML
    from a ConfigMap, which no watch follows, is never settled."""
    if recorded is None or recorded.uid != job.uid or recorded.phase != "Invalid":
        return False
    if job.toml_from is not None:
        return False
    synced = next((c for c in recorded.conditions if c.get("type") == SYNCED), {})
    return recorded.raw.get("observedGeneration") == job.generation and synced.get("reason") in TEXT_INVALID


class JobReconciler(Reconciler[ChainlinkJob, RenderedSpec]):
    def __init__(self, deps: Collaborators) -> None:
        super().__init__(deps)
        # bridge name -> keys of the jobs waiting for it; a bridge the agent makes wakes them at once.
        self._waiting: dict[str, set[str]] = {}
        self._waiting_lock = threading.Lock()
        # Jobs whose spec reads a ConfigMap or Secret, which no watch follows: each resync reads them again.
        self._reads_objects: set[str] = set()

    def needs_resync(self, key: str) -> bool:
        """A Synced or Suspended job stays so until its resource changes (a watch event), the node changes
        (snapshot.changed: another's job edit, a key rotation) or an object its spec reads changes: only
        the last needs the resync. So an unchanged pass costs a set lookup per job, not a reconcile. An
        Invalid job is passed over too while its own text is what is wrong (settled_invalid)."""
        if key in self._reads_objects:
            return True
        phase = self.phases.get(key)
        if phase == "Invalid":
            raw = self._cache.get(key)
            return raw is None or not settled_invalid(ChainlinkJob.from_dict(raw), self.recorded(key))
        return phase not in ("Synced", "Suspended")

    def bridge_ready(self, name: str) -> None:
        with self._waiting_lock:
            keys = self._waiting.pop(name, set())
        for key in sorted(keys):
            self._enqueue(key)

    def _parse(self, raw: dict[str, Any]) -> ChainlinkJob:
        return ChainlinkJob.from_dict(raw)

    def _hold(self, recorded: StatusEntry | None, phase: Phase, reason: Reason, message: str) -> Outcome:
        return kept(recorded, phase, reason, message)

    def _converge(
        self,
        job: ChainlinkJob,
        recorded: StatusEntry | None,
        desired: RenderedSpec | None,
        wanted: bool,
    ) -> Result:
        owned = {derived_external_job_id(job.uid, self._node_name)}
        if recorded and recorded.external_job_id:
            owned.add(recorded.external_job_id)
        if desired is not None:
            owned.add(desired.external_job_id)
        try:
            present = self._snapshot.subset(owned)
            if desired is None and not present and recorded is not None and recorded.external_job_id:
                # About to let go of a job the status records, which the snapshot does not show: ask the
                # node, as a list can miss a job (snapshot._find_missed) and letting go leaves it running.
                self._snapshot.recheck(recorded.external_job_id)
                present = self._snapshot.subset(owned)
            for action in plan(desired, owned, recorded, present):
                self._execute(job, action)
        except NodeError as exc:
            if desired is not None:
                self._recheck(self._snapshot.recheck, desired.external_job_id)
            if isinstance(exc, NodeRejected) and exc.detail.startswith(NODE_BRIDGES_MISSING):
                # The snapshot thought the bridges were there; the node knows better. Wait, as for any
                # missing bridge, instead of reporting a refusal.
                message = f"waiting for bridges the node does not have: {exc.detail}"
                outcome = kept(recorded, "Pending", "BridgeMissing", message)
                self._report(job, recorded, outcome, event="Normal")
                return Result(retry=True)
            if isinstance(exc, NodeRejected):
                outcome = kept(recorded, "Invalid", "NodeRejected", exc.detail)
            else:
                outcome = kept(recorded, "Error", "NodeUnavailable", str(exc))
            self._report(job, recorded, outcome, event="Warning")
            return Result(retry=True)
        synced = None
        if desired is not None:
            current = self._snapshot.subset([desired.external_job_id])[desired.external_job_id]
            message = f"job {current.id} runs generation {job.generation}'s spec"
            synced = Outcome(
                "Synced", "JobSynced", message, current.id, desired.external_job_id, desired.spec_hash
            )
        return self._settled(job, recorded, synced, wanted)

    def _desired(self, job: ChainlinkJob, recorded: StatusEntry | None) -> RenderedSpec:
        toml = job.toml
        if job.toml_from is not None:
            ref = job.toml_from
            toml = self._refs.config_map(ref.name, ref.key)
            if toml is None:
                raise Waiting("ConfigMapMissing", f"waiting for key {ref.key!r} of ConfigMap {ref.name!r}")
        if not toml:
            raise InvalidSpec("EmptySpec", "the job TOML is empty")
        derived = derived_external_job_id(job.uid, self._node_name)
        resolved, reads_objects = self._resolve(toml)
        if reads_objects or job.toml_from is not None:
            self._reads_objects.add(job.key)
        else:
            self._reads_objects.discard(job.key)
        desired = (
            rendered_before(resolved, derived, recorded.external_job_id, recorded.spec_hash)
            if recorded is not None
            else None
        ) or render(resolved, derived)
        if redaction.is_secret_uuid(desired.external_job_id):
            # It is recorded in status and in Events, which everyone who may read the resource reads.
            raise InvalidSpec("SecretNotAllowed", "externalJobID may not come from a Secret")
        hand_set = desired.external_job_id != derived
        if hand_set:
            self._learn_claims(job, desired.external_job_id)
        self._claim(
            job,
            desired.external_job_id,
            f"external job ID {desired.external_job_id}",
            "DuplicateExternalJobID",
            only_if_contested=not hand_set,
        )
        self._await_bridges(job, pipeline.bridge_names(desired.toml))
        return desired

    def _learn_claims(self, job: ChainlinkJob, external_id: str) -> None:
        """Claims are otherwise learnt as resources are reconciled, in whatever order the workers take them;
        a TOML-set external job ID is checked against every resource in the cache that could hold it on
        this node, so the oldest wins at a cold start too. A resource holds it while it wants it (inline
        TOML setting it) or while its placement records a job under it."""
        # Either way its JSON names the ID (a UUID: nothing in it is escaped), so only those are read.
        for found in self._cache.cached_containing(external_id):
            other = ChainlinkJob.from_dict(found)
            if other.key != job.key and self._wants_inline(other, external_id):
                self._claims.seed(external_id, other.key, other.creation_timestamp)
        for held in self._placements.cached_containing(external_id):
            key = placement.resource_key(held)
            if key == job.key or placement.entry(held).external_job_id != external_id:
                continue
            raw = self._cache.get(key)
            # A resource already gone still holds the job until its cleanup is done: it comes first.
            created = "" if raw is None else ChainlinkJob.from_dict(raw).creation_timestamp
            self._claims.seed(external_id, key, created)

    def _wants_inline(self, job: ChainlinkJob, external_id: str) -> bool:
        active = not job.deleting and not job.suspend and job.targets(self._node_name, self._node_labels)
        if not active or not job.toml or external_id not in job.toml.lower():
            return False
        try:
            return render(job.toml, "").external_job_id == external_id
        except InvalidSpec:
            return False

    def _resolve(self, toml: str) -> tuple[str, bool]:
        """The TOML with its {{ }} references resolved for this node, and whether it read a Secret or
        ConfigMap for them. Secret values go only into the returned text, which is sent to the node and
        hashed; every message is redacted of them."""
        refs = template.references(toml)
        if not refs:
            return toml, False
        values: dict[tuple[str, str, str], str | None] = {}
        for fn, name, key in sorted(template.lookups(refs)):
            read = self._refs.secret if fn == "secret" else self._refs.config_map
            values[(fn, name, key)] = read(name, key)
        return template.substitute(toml, self._snapshot.facts(), values), bool(values)

    def _await_bridges(self, job: ChainlinkJob, names: list[str]) -> None:
        missing = self._missing_bridges(names)
        if missing:
            # Made by hand since the last list? One list answers for every name and every waiting job (the
            # snapshot bounds how often); a failed one leaves them missing, and the retry asks again.
            with contextlib.suppress(NodeError):
                self._snapshot.relist_bridges()
            missing = self._missing_bridges(missing)
        with self._waiting_lock:
            for waiters in self._waiting.values():
                waiters.discard(job.key)
            for name in missing:
                self._waiting.setdefault(name, set()).add(job.key)
        if missing:
            plural = "bridge" if len(missing) == 1 else "bridges"
            raise Waiting("BridgeMissing", f"waiting for {plural} {', '.join(missing)}")

    def _missing_bridges(self, names: list[str]) -> list[str]:
        known = self._snapshot.bridges(names)
        return [name for name in names if name not in known]

    def _execute(self, job: ChainlinkJob, action: Action) -> None:
        if isinstance(action, Create):
            made = self._node.create_job(action.spec.toml)
            self._snapshot.put(made)
            reason: Reason = "JobRestored" if action.restores else "JobCreated"
            self._event(
                job, "Normal", reason, f"created job {made.id} (external job ID {made.external_job_id})"
            )
        elif isinstance(action, Replace):
            made = self._node.replace_job(action.job_id, action.spec.toml)
            self._snapshot.put(made)
            self._event(job, "Normal", "JobReplaced", f"replaced job {action.job_id} with job {made.id}")
        else:
            self._node.delete_job(action.job_id)
            self._snapshot.remove(action.external_job_id)
            self._event(job, "Normal", "JobDeleted", f"deleted job {action.job_id}")
