"""The ChainlinkJob resource as the agent reads it: parsing, targeting and ownership names. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GROUP = "chainlink-k8s.github.io"
VERSION = "v1alpha1"
PLURAL = "chainlinkjobs"
KIND = "ChainlinkJob"
API_VERSION = f"{GROUP}/{VERSION}"
FINALIZER_PREFIX = f"nodes.{GROUP}/"
# Fixed namespace for deriving external job IDs: changing it would orphan every job already made.
EXTERNAL_ID_NAMESPACE = uuid.UUID("6f1d3c55-2b9e-5c3a-9a51-3f0e8f1b7c21")


def finalizer_for(node: str) -> str:
    """Each node holds its own finalizer, so one node's cleanup never waits on another's."""
    return FINALIZER_PREFIX + node


def derived_external_job_id(uid: str, node: str) -> str:
    """Stable across spec edits (direct-request consumers pin it on chain) and distinct per node."""
    return str(uuid.uuid5(EXTERNAL_ID_NAMESPACE, f"{uid}/{node}"))


@dataclass(frozen=True)
class ConfigMapKeyRef:
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
class StatusEntry:
    """This node's entry in status.nodes, as last written."""

    node: str
    phase: str | None = None
    job_id: str | None = None
    external_job_id: str | None = None
    spec_hash: str | None = None
    message: str | None = None
    observed_generation: int | None = None
    conditions: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainlinkJob:
    namespace: str
    name: str
    uid: str
    generation: int
    resource_version: str
    creation_timestamp: str
    deleting: bool
    finalizers: tuple[str, ...]
    toml: str | None
    toml_from: ConfigMapKeyRef | None
    names: tuple[str, ...]
    selector: Selector | None
    suspend: bool
    status_nodes: tuple[Mapping[str, Any], ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def targets(self, node: str, labels: Mapping[str, str]) -> bool:
        return node in self.names or (self.selector is not None and self.selector.matches(labels))

    def status_for(self, node: str) -> StatusEntry | None:
        for entry in self.status_nodes:
            if entry.get("node") == node:
                return StatusEntry(
                    node=node,
                    phase=entry.get("phase"),
                    job_id=entry.get("jobID"),
                    external_job_id=entry.get("externalJobID"),
                    spec_hash=entry.get("specHash"),
                    message=entry.get("message"),
                    observed_generation=entry.get("observedGeneration"),
                    conditions=tuple(entry.get("conditions") or ()),
                    raw=entry,
                )
        return None

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> ChainlinkJob:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        targets = spec.get("targets") or {}
        ref = ((spec.get("tomlFrom") or {}).get("configMapKeyRef")) or None
        sel = targets.get("selector")
        return cls(
            namespace=meta.get("namespace", ""),
            name=meta["name"],
            uid=meta.get("uid", ""),
            generation=int(meta.get("generation") or 0),
            resource_version=meta.get("resourceVersion", ""),
            creation_timestamp=meta.get("creationTimestamp", ""),
            deleting=bool(meta.get("deletionTimestamp")),
            finalizers=tuple(meta.get("finalizers") or ()),
            toml=spec.get("toml"),
            toml_from=ConfigMapKeyRef(ref["name"], ref["key"]) if ref else None,
            names=tuple(targets.get("names") or ()),
            selector=None if sel is None else _selector(sel),
            suspend=bool(spec.get("suspend", False)),
            status_nodes=tuple((obj.get("status") or {}).get("nodes") or ()),
        )


def _selector(raw: Mapping[str, Any]) -> Selector:
    return Selector(
        match_labels=dict(raw.get("matchLabels") or {}),
        expressions=tuple(
            LabelRequirement(e["key"], e["operator"], tuple(e.get("values") or ()))
            for e in raw.get("matchExpressions") or ()
        ),
    )
