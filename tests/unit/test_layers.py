"""The agent's packages are layers: each imports only the layers below it, and no module imports itself
back through others. A newcomer reads the tree as the house plan, so the plan must stay true."""

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import chainlink_agent

PACKAGE = Path(chainlink_agent.__file__).parent

# Lowest first. The composition root (app, wiring, cli, __main__) sits on top and may import any of them.
LAYERS = ["model", "runtime", "k8s", "node", "standby", "control", "status", "backups"]
ROOT = len(LAYERS)


@functools.cache
def _modules() -> dict[str, Path]:
    return {
        ".".join(("chainlink_agent", *p.relative_to(PACKAGE).with_suffix("").parts)): p
        for p in PACKAGE.rglob("*.py")
    }


def _imports(path: Path) -> Iterator[str]:
    """Every chainlink_agent module a file imports, at its top or inside a function (cli's lazy ones)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("chainlink_agent."))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chainlink_agent"):
            assert node.level == 0, f"{path}: relative import"
            # `from chainlink_agent.model import errors` names a module; `from ...errors import X` a member.
            for alias in node.names:
                named = f"{node.module}.{alias.name}"
                yield named if named in _modules() else str(node.module)


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 2 else ROOT


def test_every_module_lives_in_a_layer_except_the_composition_root():
    loose = {m for m in _modules() if _layer(m) == ROOT} - {"chainlink_agent.__init__"}
    assert loose == {f"chainlink_agent.{m}" for m in ("app", "wiring", "cli", "__main__")}
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(LAYERS)


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{module} imports {imported}"
        for module, path in _modules().items()
        for imported in _imports(path)
        if _layer(imported) > _layer(module)
    ]
    assert upward == []


def test_no_import_cycles():
    graph = {m: {i for i in _imports(p) if i != m} for m, p in _modules().items()}
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            cycles.append([*trail[trail.index(module) :], module])
            return
        if module in done:
            return
        for imported in graph.get(module, ()):
            visit(imported, [*trail, module])
        done.add(module)

    for module in graph:
        visit(module, [])
    assert cycles == []
