"""``omega_core/server`` has no import cycles (issue 10, item 9): every import counts, at module
level, inside functions and under ``TYPE_CHECKING`` alike, so the modules form a DAG (ops see
the backend through ``context.OpsContext``, never by importing it)."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[3] / "omega_core" / "server"
PACKAGE = "omega_core.server"


def server_imports(path: Path) -> set[str]:
    """The sibling modules of ``omega_core.server`` that ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith(PACKAGE + "."):
                module = name[len(PACKAGE) + 1:].split(".")[0]
                if (SERVER / f"{module}.py").exists():
                    found.add(module)
    found.discard(path.stem)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a path of names (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for other in sorted(graph.get(name, ())):
            if state.get(other) == 1:
                return path[path.index(other):] + [other]
            if other not in state:
                cycle = visit(other)
                if cycle:
                    return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


def test_the_server_modules_import_each_other_without_a_cycle() -> None:
    graph = {path.stem: server_imports(path) for path in SERVER.glob("*.py")}
    assert "ops" in graph["backend"]  # the backend dispatches to the ops ...
    assert "backend" not in graph["ops"] and "backend" not in graph["ops_multi"]  # ... never the reverse
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
