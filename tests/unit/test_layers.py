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


REPO = PACKAGE.parents[1]


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        files = sorted((REPO / folder).rglob("*.py"))
        assert files, f"no Python in {folder}/"
        yield from files


def test_the_dev_kit_and_the_benchmarks_import_nothing_from_the_tests():
    taking = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in _python_files("devkit", "bench")
        for name in _all_imports(path)
        if name.split(".")[0] == "tests"
    ]
    assert taking == []


def test_no_module_imports_a_conftest_or_a_test_module():
    """Fixtures come from plugins (devkit/pytest_plugin.py) and helpers from helper modules; a test module
    imported elsewhere runs its tests twice, and an imported conftest's fixtures shadow the plugin's."""
    taking = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in _python_files("devkit", "bench", "tests")
        for name in _all_imports(path)
        if name.rsplit(".", 1)[-1] == "conftest" or name.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert taking == []


def _all_imports(path: Path) -> Iterator[str]:
    """Every module a file imports, relative ones resolved against its package."""
    package = path.relative_to(REPO).parent.parts
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(p for p in (*package[: len(package) - node.level + 1], node.module or "") if p)
            module = (node.module or "") if node.level == 0 else base
            yield module
            yield from (f"{module}.{a.name}" for a in node.names)
