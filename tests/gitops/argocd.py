"""Runs gitops/argocd/*.lua as Argo CD does: the object as a Lua table named `obj`, the script's
returned table read as {status, message}. Lua 5.1 (lupa's lua51), the dialect of Argo CD's gopher-lua."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa import lua51

HEALTH_LUA = Path(__file__).resolve().parents[2] / "gitops" / "argocd" / "health.lua"
NODE_HEALTH_LUA = HEALTH_LUA.with_name("node-health.lua")
# Each kind's script: jobs and bridges share one, as their status has one shape.
SCRIPTS = {"ChainlinkJob": HEALTH_LUA, "ChainlinkBridge": HEALTH_LUA, "ChainlinkNode": NODE_HEALTH_LUA}
KINDS = tuple(SCRIPTS)


def health(obj: dict[str, Any], script: Path = HEALTH_LUA) -> tuple[str, str]:
    lua = lua51.LuaRuntime()
    run = lua.eval(f"function(obj)\n{script.read_text()}\nend")
    result = run(lua.table_from(obj, recursive=True))
    return str(result["status"]), str(result["message"])


CM_PATCH = HEALTH_LUA.with_name("argocd-cm-patch.yaml")


def cm_patch() -> str:
    """argocd-cm's health keys, one per kind, each holding its script: what `kubectl patch --patch-file`
    applies."""

    def block(script: Path) -> str:
        return "".join(f"    {line}\n" if line else "\n" for line in script.read_text().splitlines())

    keys = "".join(
        f"  resource.customizations.health.chainlink-k8s.github.io_{kind}: |\n{block(script)}"
        for kind, script in SCRIPTS.items()
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
