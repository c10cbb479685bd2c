"""The ChainlinkJob and ChainlinkBridge resources as the agent reads them: parsing, targeting and ownership
names. Pure."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chainlink_agent.model.spec import external_id_only

GROUP = "chainlink-k8s.github.io"
VERSION = "v1alpha1"
PLURAL = "chainlinkjobs"
KIND = "ChainlinkJob"
BRIDGE_PLURAL = "chainlinkbridges"
BRIDGE_KIND = "ChainlinkBridge"
NODE_PLURAL = "chainlinknodes"
NODE_KIND = "ChainlinkNode"
API_VERSION = f"{GROUP}/{VERSION}"
# Fixed namespace for deriving external job IDs: changing it would orphan every job already made.
EXTERNAL_ID_NAMESPACE = uuid.UUID("6f1d3c55-2b9e-5c3a-9a51-3f0e8f1b7c21")


# A reconcile derives its resource's ID twice (its desired spec, the jobs it owns); a few recent answers
# spare the second uuid5, at no memory cost at scale.
@functools.lru_cache(maxsize=64)
def derived_external_job_id(uid: str, node: str) -> str:
    """Stable across spec edits (direct-request consumers pin it on chain) and distinct per node."""
    return str(uuid.uuid5(EXTERNAL_ID_NAMESPACE, f"{uid}/{node}"))


def queue_key(plural: str, namespace: str, name: str) -> str:
    """Work-queue keys carry the kind, so one queue and one worker pool serve every kind."""
    return f"{plural}/{namespace}/{name}"


def split_key(key: str) -> tuple[str, str]:
    """(plural, "namespace/name") of a queue key."""
    plural, _, rest = key.partition("/")
    return plural, rest


@dataclass(frozen=True)
class ConfigMapKeyRef:
    name: str
    key: str


@dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True)
class LabelRequirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        return False  # an operator the CRD schema does not allow selects nothing


@dataclass(frozen=True)
class Selector:
    match_labels: Mapping[str, str] = field(default_factory=dict)
    expressions: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            r.matches(labels) for r in self.expressions
        )


@dataclass(frozen=True)
class Resource:
    """What every kind shares: identity, targeting and suspension."""

    PLURAL: ClassVar[str]
    KIND: ClassVar[str]

    namespace: str
    name: str
    uid: str
    generation: int
    resource_version: str
    creation_timestamp: str
    deleting: bool
    names: tuple[str, ...]
    selector: Selector | None
    suspend: bool

    @property
    def key(self) -> str:
        return queue_key(self.PLURAL, self.namespace, self.name)

    def targets(self, node: str, labels: Mapping[str, str]) -> bool:
        return node in self.names or (self.selector is not None and self.selector.matches(labels))


# What a reconcile reads of an object's metadata (_common, events, patches).
_KEPT_METADATA = (
    "namespace",
    "name",
    "uid",
    "generation",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
)


def slim(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object an agent reads: the metadata above, the spec, and a digest of the status (all
    the aggregator needs to tell whether its summary is already there). The rest can be most of an object:
    managedFields, kubectl's last-applied annotation (the whole object again) and every node's entry.
    client-go informers drop managedFields the same way (cache.TransformStripManagedFields)."""
    meta = obj.get("metadata") or {}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {k: meta[k] for k in _KEPT_METADATA if k in meta},
        "spec": obj.get("spec") or {},
        "statusDigest": status_digest(obj.get("status") or {}),
    }


# What an agent reads of a resource that does not target its node: whether it does now (targets), whether it
# is suspended, and the name it holds on every node (claims.py): a bridge's bridgeName, a job's external job
# ID (its toml, cut to external_id_only, or its tomlFrom, whose reference is small).
_KEPT_UNTARGETED = ("targets", "suspend", "bridgeName", "tomlFrom", "toml")


def slim_for_node(obj: Mapping[str, Any], node: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """slim(obj) for the agent of `node` (with its labels): the whole spec of a resource that targets it,
    and of one that does not only what that agent still reads (_KEPT_UNTARGETED), so every agent does not
    hold every resource's spec. Whether a resource targets a node changes only with its spec (the node's
    labels are fixed for the agent's life), and a spec edit arrives by the watch, slimmed again."""
    slimmed = slim(obj)
    try:
        targeted = Resource(**_common(slimmed)).targets(node, labels)
    except (KeyError, TypeError, ValueError, AttributeError):
        # Kept whole: its reconcile reports what is wrong, and the watch of every other resource goes on.
        return slimmed
    if targeted:
        return slimmed
    spec = {k: v for k, v in slimmed["spec"].items() if k in _KEPT_UNTARGETED}
    if isinstance(spec.get("toml"), str):
        spec["toml"] = external_id_only(spec["toml"])
    return {**slimmed, "spec": spec}


def status_digest(status: Mapping[str, Any]) -> str:
    """The same for equal statuses however their keys are ordered (the apiserver sorts them)."""
    return hashlib.sha256(json.dumps(status, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _common(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    targets = (obj.get("spec") or {}).get("targets") or {}
    sel = targets.get("selector")
    return {
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "generation": int(meta.get("generation") or 0),
        "resource_version": meta.get("resourceVersion", ""),
        "creation_timestamp": meta.get("creationTimestamp", ""),
        "deleting": bool(meta.get("deletionTimestamp")),
        "names": tuple(targets.get("names") or ()),
        "selector": None if sel is None else _selector(sel),
        "suspend": bool((obj.get("spec") or {}).get("suspend", False)),
    }


@dataclass(frozen=True)
class ChainlinkJob(Resource):
    PLURAL: ClassVar[str] = PLURAL
    KIND: ClassVar[str] = KIND

    toml: str | None = None
    toml_from: ConfigMapKeyRef | None = None

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> ChainlinkJob:
        spec = obj.get("spec") or {}
        ref = ((spec.get("tomlFrom") or {}).get("configMapKeyRef")) or None
        return cls(
            **_common(obj),
            toml=spec.get("toml"),
            toml_from=ConfigMapKeyRef(ref["name"], ref["key"]) if ref else None,
        )


@dataclass(frozen=True)
class ChainlinkBridge(Resource):
    PLURAL: ClassVar[str] = BRIDGE_PLURAL
    KIND: ClassVar[str] = BRIDGE_KIND

    bridge_name: str = ""
    url: str | None = None
    url_from: SecretKeyRef | None = None
    confirmations: int = 0
    minimum_contract_payment: str | None = None

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> ChainlinkBridge:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        ref = ((spec.get("urlFrom") or {}).get("secretKeyRef")) or None
        payment = spec.get("minimumContractPayment")
        return cls(
            **_common(obj),
            bridge_name=_bridge_name(spec, meta),
            url=spec.get("url"),
            url_from=SecretKeyRef(ref["name"], ref["key"]) if ref else None,
            confirmations=int(spec.get("confirmations") or 0),
            minimum_contract_payment=None if payment is None else str(payment),
        )


KINDS: dict[str, type[ChainlinkJob] | type[ChainlinkBridge]] = {
    PLURAL: ChainlinkJob,
    BRIDGE_PLURAL: ChainlinkBridge,
}


def claimed_text(plural: str, obj: Mapping[str, Any]) -> str:
    """Where a resource sets the name it claims on a node, as the claims scan (reconcile._winner) searches:
    a job's hand-set external job ID (spec.external_id_only's line, the ID in canonical form), a bridge's
    name; "" for a job that sets none (its ID is derived from its UID) or takes its TOML from a ConfigMap."""
    spec, meta = obj.get("spec") or {}, obj.get("metadata") or {}
    if plural == BRIDGE_PLURAL:
        return _bridge_name(spec, meta)
    toml = spec.get("toml")
    kept = external_id_only(toml) if isinstance(toml, str) else ""
    return kept if kept.startswith("externalJobID") else ""


def _bridge_name(spec: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    # The node lowercases bridge names (bridges.ParseBridgeName), so the agent compares lowercased.
    return str(spec.get("bridgeName") or meta.get("name", "")).lower()


def _selector(raw: Mapping[str, Any]) -> Selector:
    return Selector(
        match_labels=dict(raw.get("matchLabels") or {}),
        expressions=tuple(
            LabelRequirement(e["key"], e["operator"], tuple(e.get("values") or ()))
            for e in raw.get("matchExpressions") or ()
        ),
    )
