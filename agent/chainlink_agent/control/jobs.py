"""The ChainlinkJob reconciler: a resource's TOML, resolved and rendered for this node, made a job on the
node under an external job ID the resource owns (derived from its UID, or set in its TOML)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

from chainlink_agent.control.controller import Result
from chainlink_agent.control.reconcile import Collaborators, Reconciler
from chainlink_agent.model import pipeline, redaction, template
from chainlink_agent.model.conditions import SYNCED, Outcome
from chainlink_agent.model.errors import InvalidSpec, NodeError, NodeRejected, Waiting
from chainlink_agent.model.phases import Phase, Reason
from chainlink_agent.model.placement import Record
from chainlink_agent.model.plan import Action, Create, Replace, plan
from chainlink_agent.model.resource import ChainlinkJob, derived_external_job_id
from chainlink_agent.model.spec import RenderedSpec, render, rendered_before

T = TypeVar("T")

# The node's answer when a job names a bridge it does not have (job ORM.AssertBridgesExist, a 500).
NODE_BRIDGES_MISSING = "not all bridges exist"
# The node's answer when it committed the job, then could not make its services (job/spawner.go CreateJob
# -> StartService, which records the error on the job; web/jobs_controller.go Create and Update: a 500).
NODE_NOT_STARTED = "failed to create services for job: "
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


@dataclass(frozen=True)
class Resolved:
    """A job's TOML with its {{ }} references resolved for this node."""

    text: str  # what the node gets
    reads_objects: bool  # a Secret or ConfigMap was read, which no watch follows
    # When a Secret was read (else None): the spec with each Secret reference replaced by the Secret's
    # name, key and resourceVersion, which specHash is the hash of (spec.py); and the spec with the Secret
    # values left out, which is all that messages about the spec may quote.
    hashed_as: str | None = None
    blank: str | None = None


def checked(check: Callable[[str], T], text: str, blank: str | None) -> T:
    """check(text). Its InvalidSpec quotes text (a bridge name, a character and its column), so when text
    holds Secret values (blank: the spec without them) the error is told from blank instead: the same
    reason there gives its message; a fault only the Secret values make keeps its reason and says no more."""
    try:
        return check(text)
    except InvalidSpec as exc:
        if blank is None:
            raise
        try:
            check(blank)
        except InvalidSpec as own:
            if own.reason == exc.reason:
                raise own from None
        message = f"the job TOML is invalid ({exc.reason}) once its Secret values are in; not said where"
        raise InvalidSpec(exc.reason, message) from None


def shown_bridges(names: list[str], blank: str | None) -> list[str]:
    """names as a message may quote them: one that the pipeline has only with its Secret values in is
    made of them (the node lowercases it, so redacting the value would not catch it), and is redacted."""
    if blank is None:
        return names
    try:
        own = set(pipeline.bridge_names(blank))
    except InvalidSpec:
        own = set()
    return [name if name in own else redaction.REDACTED for name in names]


def settled_invalid(job: ChainlinkJob, recorded: Record | None) -> bool:
    """Whether the placement records job's current generation as Invalid for its own inline text: a new
    generation arrives through the watch, so a resync of an unchanged node need not parse it again. A TOML
    from a ConfigMap, which no watch follows, is never settled."""
    if recorded is None or recorded.uid != job.uid or recorded.phase != "Invalid":
        return False
    if job.toml_from is not None:
        return False
    return (
        recorded.raw.get("observedGeneration") == job.generation and _synced_reason(recorded) in TEXT_INVALID
    )


@dataclass(frozen=True)
class NotStarted:
    """The node holds a job's spec (job_id, spec_hash) but would not start it, as of the node's snapshot
    `changes`: the same spec sent again to the same node gets the same answer."""

    job_id: str
    spec_hash: str
    changes: int
    message: str


def _synced_reason(recorded: Record) -> str | None:
    """The reason of the record's Synced condition."""
    return next((c.get("reason") for c in recorded.conditions if c.get("type") == SYNCED), None)


def _same_id_without_secrets(desired: RenderedSpec, blank: str, derived: str) -> bool:
    """Whether the spec without its Secret values (blank) has desired's external job ID: else some of the ID
    is made of them. A blank that does not render cannot tell, and is taken as no."""
    try:
        return render(blank, derived).external_job_id == desired.external_job_id
    except InvalidSpec:
        return False


class JobReconciler(Reconciler[ChainlinkJob, RenderedSpec]):
    NAMED: ClassVar[str] = "external job ID"
    DUPLICATE: ClassVar[Reason] = "DuplicateExternalJobID"

    def __init__(self, deps: Collaborators) -> None:
        super().__init__(deps)
        # bridge name -> keys of the jobs waiting for it; a bridge the agent makes wakes them at once.
        self._waiting: dict[str, set[str]] = {}
        self._waiting_lock = threading.Lock()
        # Jobs whose spec reads a ConfigMap or Secret, which no watch follows: each resync reads them again.
        self._reads_objects: set[str] = set()
        # Jobs the node holds but would not start, by key: not sent again until the spec or the node changes.
        self._not_started: dict[str, NotStarted] = {}

    def needs_resync(self, key: str) -> bool:
        """A Synced or Suspended job stays so until its resource changes (a watch event), the node changes
        (snapshot.changed: another's job edit, a key rotation) or an object its spec reads changes: only
        the last needs the resync. So an unchanged pass costs a set lookup per job, not a reconcile. An
        Invalid job is passed over too while its own text is what is wrong (settled_invalid), or while the
        node, unchanged, holds its spec and would not start it (JobNotStarted)."""
        if key in self._reads_objects:
            return True
        held = self._not_started.get(key)
        if held is not None and held.changes == self._snapshot.changes:
            return False
        phase = self.phases.get(key)
        if phase == "Invalid":
            raw = self._cache.get(key)
            return raw is None or not settled_invalid(ChainlinkJob.from_dict(raw), self.recorded(key))
        return phase not in ("Synced", "Suspended")

    def _ahead(self, desired: RenderedSpec) -> Outcome:
        # With the external job ID: a job made under a hand-set ID is found by that ID alone, so after a crash
        # between the create and the next write, with the resource deleted meanwhile, only the record has it.
        return replace(super()._ahead(desired), external_job_id=desired.external_job_id)

    def bridge_ready(self, name: str) -> None:
        with self._waiting_lock:
            keys = self._waiting.pop(name, set())
        for key in sorted(keys):
            self._enqueue(key)

    def _parse(self, raw: dict[str, Any]) -> ChainlinkJob:
        return ChainlinkJob.from_dict(raw)

    def _keeping(self, recorded: Record | None, phase: Phase, reason: Reason, message: str) -> Outcome:
        """An outcome that leaves the node's job as it was, so the record keeps pointing at it."""
        if recorded is None:
            return Outcome(phase, reason, message)
        return Outcome(phase, reason, message, recorded.job_id, recorded.external_job_id, recorded.spec_hash)

    def _converge(
        self,
        job: ChainlinkJob,
        recorded: Record | None,
        desired: RenderedSpec | None,
        wanted: bool,
    ) -> Result:
        derived = derived_external_job_id(job.uid, self._node_name)
        # Only names this resource holds: the recorded one was checked at the start of the reconcile and
        # the desired one in _desired; its derived one another resource may have set by hand, and won.
        owned = {derived} if self._taker(job, derived) is None else set()
        if recorded and recorded.external_job_id:
            owned.add(recorded.external_job_id)
        if desired is not None:
            owned.add(desired.external_job_id)
        elif (inherited := self._inherited(job)) is not None:
            owned.add(inherited)
        held, as_planned = self._asked_before(job, recorded)
        try:
            present = self._snapshot.subset(owned)
            if desired is None and not present and recorded is not None and recorded.external_job_id:
                # About to let go of a job the record holds, which the snapshot does not show: ask the
                # node, as a list can miss a job (snapshot._find_missed) and letting go leaves it running.
                self._snapshot.recheck(recorded.external_job_id)
                present = self._snapshot.subset(owned)
            actions = plan(desired, owned, as_planned, present)
            for action in actions:
                self._execute(job, action)
        except NodeError as exc:
            return self._failed(job, recorded, desired, exc)
        synced = None
        if desired is not None:
            current = self._snapshot.subset([desired.external_job_id])[desired.external_job_id]
            if (
                not actions
                and held is not None
                and (held.job_id, held.spec_hash) == (current.id, desired.spec_hash)
            ):
                return self._not_started_held(job, recorded, desired, held)
            message = f"job {current.id} runs generation {job.generation}'s spec"
            synced = Outcome(
                "Synced", "JobSynced", message, current.id, desired.external_job_id, desired.spec_hash
            )
        return self._settled(job, recorded, synced, wanted)

    def _asked_before(
        self, job: ChainlinkJob, recorded: Record | None
    ) -> tuple[NotStarted | None, Record | None]:
        """The node's refusal to start this job's spec if the node as it is now gave it (else None), and the
        record to plan from: without its spec hash, so that the spec is sent once more, when the recorded
        refusal came from the node before it changed (a restart may have brought what it lacked) or before
        this agent started (it did not see the answer)."""
        held = self._not_started.pop(job.key, None)
        if held is not None and held.changes == self._snapshot.changes:
            return held, recorded
        if recorded is not None and _synced_reason(recorded) == "JobNotStarted":
            return None, replace(recorded, spec_hash=None)
        return None, recorded

    def _failed(
        self, job: ChainlinkJob, recorded: Record | None, desired: RenderedSpec | None, exc: NodeError
    ) -> Result:
        if desired is not None:
            self._recheck(self._snapshot.recheck, desired.external_job_id)
            made = self._snapshot.subset([desired.external_job_id]).get(desired.external_job_id)
            if made is not None and isinstance(exc, NodeRejected) and exc.detail.startswith(NODE_NOT_STARTED):
                held = NotStarted(made.id, desired.spec_hash, self._snapshot.changes, exc.detail)
                return self._not_started_held(job, recorded, desired, held)
        if isinstance(exc, NodeRejected) and exc.detail.startswith(NODE_BRIDGES_MISSING):
            # The snapshot thought the bridges were there; the node knows better. Wait, as for any
            # missing bridge, instead of reporting a refusal.
            message = f"waiting for bridges the node does not have: {exc.detail}"
            return self._stopped(job, recorded, Waiting("BridgeMissing", message))
        return self._stopped(job, recorded, exc)

    def _not_started_held(
        self, job: ChainlinkJob, recorded: Record | None, desired: RenderedSpec, held: NotStarted
    ) -> Result:
        """The node holds the spec and said why it would not start it. Invalid: the author can change the
        spec (or have the node changed); sending the same spec again replaces the job only to be refused
        again. No retry: a spec edit is a watch event, a node change is a full resync."""
        self._not_started[job.key] = held
        outcome = Outcome(
            "Invalid", "JobNotStarted", held.message, held.job_id, desired.external_job_id, desired.spec_hash
        )
        self._record(job, recorded, outcome, event="Warning")
        return Result()

    def _desired(self, job: ChainlinkJob, recorded: Record | None) -> RenderedSpec:
        toml = job.toml
        if job.toml_from is not None:
            ref = job.toml_from
            toml = self._refs.config_map(ref.name, ref.key)
            if toml is None:
                raise Waiting("ConfigMapMissing", f"waiting for key {ref.key!r} of ConfigMap {ref.name!r}")
        if not toml:
            raise InvalidSpec("EmptySpec", "the job TOML is empty")
        derived = derived_external_job_id(job.uid, self._node_name)
        spec = self._resolve(toml)
        if spec.reads_objects or job.toml_from is not None:
            self._reads_objects.add(job.key)
        else:
            self._reads_objects.discard(job.key)
        desired = (
            rendered_before(spec.text, derived, recorded.external_job_id, recorded.spec_hash, spec.hashed_as)
            if recorded is not None
            else None
        ) or checked(lambda text: render(text, derived, spec.hashed_as), spec.text, spec.blank)
        if spec.blank is not None and not _same_id_without_secrets(desired, spec.blank, derived):
            # It is recorded in status and in Events, which everyone who may read the resource reads: a
            # Secret's value, or any part of it spliced into the ID, would be shown to all of them.
            raise InvalidSpec(
                "SecretNotAllowed",
                "externalJobID may not come from a Secret: it must be the same without the Secret values",
            )
        self._claim(job, recorded, desired.external_job_id)
        self._await_bridges(job, checked(pipeline.bridge_names, desired.toml, spec.blank), spec.blank)
        return desired

    def _name(self, job: ChainlinkJob) -> str | None:
        """The external job ID its inline TOML sets; for a TOML this cannot tell (from a ConfigMap, or one
        that parses only once its references are resolved), the one its last reconcile claimed."""
        if not job.toml:
            return self._claims.name_of(job.key)
        derived = derived_external_job_id(job.uid, self._node_name)
        if "externaljobid" not in job.toml.lower():
            return derived  # no TOML parse for the many that set none
        try:
            return render(job.toml, derived).external_job_id
        except InvalidSpec:
            return self._claims.name_of(job.key)

    def _held(self, recorded: Record | None) -> str | None:
        return recorded.external_job_id if recorded is not None else None

    def _without_held(self, recorded: Record) -> Record:
        return replace(recorded, external_job_id=None, job_id=None, spec_hash=None)

    def _pinned(self, job: ChainlinkJob, name: str) -> bool:
        return name != derived_external_job_id(job.uid, self._node_name)

    def _on_node(self, name: str) -> bool:
        return bool(self._snapshot.subset([name]))

    def _resolve(self, toml: str) -> Resolved:
        """The TOML with its {{ }} references resolved for this node. Secret values go only into the text
        sent to the node: not into its hash, and into no message (each is also redacted from all)."""
        refs = template.references(toml)
        if not refs:
            return Resolved(toml, False)
        values: dict[tuple[str, str, str], str | None] = {}
        stand_ins: dict[tuple[str, str, str], str | None] = {}
        for fn, name, key in sorted(template.lookups(refs)):
            if fn == "secret":
                values[(fn, name, key)], version = self._refs.secret_and_version(name, key)
                # NUL, which no TOML that parses holds, sets it apart from any text the author wrote.
                stand_ins[(fn, name, key)] = "\0" + json.dumps([name, key, version]) + "\0"
            else:
                values[(fn, name, key)] = self._refs.config_map(name, key)
        facts = self._snapshot.facts()
        text = template.substitute(toml, facts, values)
        if not stand_ins:
            return Resolved(text, bool(values))
        hashed_as = template.substitute(toml, facts, {**values, **stand_ins})
        blank = template.substitute(toml, facts, {**values, **dict.fromkeys(stand_ins, "")})
        return Resolved(text, True, hashed_as, blank)

    def _await_bridges(self, job: ChainlinkJob, names: list[str], blank: str | None) -> None:
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
            shown = ", ".join(shown_bridges(missing, blank))
            raise Waiting("BridgeMissing", f"waiting for {plural} {shown}")

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
