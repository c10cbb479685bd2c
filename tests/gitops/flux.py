"""Evaluates gitops/flux/health-check-exprs.yaml as Flux's kustomize-controller does (RFC-0009, custom health
checks with CEL): the object's top-level fields are the variables; `inProgress`, then `failed`, then
`current` decide, and when none holds, or an expression fails on a missing field, the object is InProgress
(Flux waits). cel-python stands in for cel-go: these expressions use only the standard macros."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import celpy
import yaml
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

EXPRS = Path(__file__).resolve().parents[2] / "gitops" / "flux" / "health-check-exprs.yaml"


def checks() -> dict[str, dict[str, str]]:
    return {c["kind"]: c for c in yaml.safe_load(EXPRS.read_text())}


def flux_status(obj: dict[str, Any], kind: str) -> str:
    env = celpy.Environment()
    activation = {key: json_to_cel(value) for key, value in obj.items()}
    check = checks()[kind]
    for field, status in (("inProgress", "InProgress"), ("failed", "Failed"), ("current", "Current")):
        if field not in check:
            continue
        try:
            result = env.program(env.compile(check[field])).evaluate(activation)
        except CELEvalError:
            return "InProgress"
        if isinstance(result, CELEvalError):
            return "InProgress"
        if bool(result):
            return status
    return "InProgress"
