"""Runs gitops/argocd/health.lua as Argo CD does: the object as a Lua table named `obj`, the script's
returned table read as {status, message}. Lua 5.1 (lupa's lua51), the dialect of Argo CD's gopher-lua."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa import lua51

HEALTH_LUA = Path(__file__).resolve().parents[2] / "gitops" / "argocd" / "health.lua"


def health(obj: dict[str, Any]) -> tuple[str, str]:
    lua = lua51.LuaRuntime()
    script = lua.eval(f"function(obj)\n{HEALTH_LUA.read_text()}\nend")
    result = script(lua.table_from(obj, recursive=True))
    return str(result["status"]), str(result["message"])


KINDS = ("ChainlinkJob", "ChainlinkBridge")
CM_PATCH = HEALTH_LUA.with_name("argocd-cm-patch.yaml")


def cm_patch() -> str:
    """argocd-cm's two health keys, each holding health.lua: what `kubectl patch --patch-file` applies."""
    script = "".join(f"    {line}\n" if line else "\n" for line in HEALTH_LUA.read_text().splitlines())
    keys = "".join(
        f"  resource.customizations.health.chainlink-k8s.github.io_{kind}: |\n{script}" for kind in KINDS
    )
    return (
        "# Generated from health.lua: python -m tests.gitops.argocd --write\n"
        "# kubectl -n argocd patch configmap argocd-cm --patch-file gitops/argocd/argocd-cm-patch.yaml\n"
        f"data:\n{keys}"
    )


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write"]:
        CM_PATCH.write_text(cm_patch())
    else:
        print(cm_patch(), end="")
