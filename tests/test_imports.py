"""Imports run one way: read from the source (``ast``), so a cycle or a layer skipped fails here, not in review.

The graph's nodes are claimdesk's packages and top-level modules. The HTTP layer of an area (its ``endpoints``
and ``views`` modules) is a node of its own on top: it may import ``claimdesk.api``, which itself imports the
areas' services, without that counting as a cycle of the area.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "claimdesk"
HTTP_LAYER = {"endpoints", "views"}
# What the guide's rules must never need: a web framework, a database, the network, templates.
NOT_IN_RULES = {"sqlalchemy", "fastapi", "starlette", "httpx", "httpcore", "anyio", "jinja2", "psycopg", "alembic"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(module: str) -> bool:
    path = SRC.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@cache
def imports() -> dict[str, set[str]]:
    """Every module of claimdesk and the modules it imports (absolute names; a name imported from a package
    counts as the package's module of that name when there is one)."""
    found: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                targets.add(module)
                targets.update(f"{module}.{alias.name}" for alias in node.names if _exists(f"{module}.{alias.name}"))
        found[name] = targets
    return found


def node(module: str) -> str:
    """The graph node of a claimdesk module: its package (or top-level module), or the package's HTTP layer."""
    parts = module.split(".")
    if len(parts) > 2 and parts[2] in HTTP_LAYER:
        return f"{parts[1]}.{parts[2]}"
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph() -> dict[str, dict[str, list[str]]]:
    """node -> node it imports -> the module imports that make the edge (for the failure message)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, targets in imports().items():
        for target in targets:
            if target.startswith("claimdesk.") and _exists(target) and node(module) != node(target):
                graph[node(module)][node(target)].append(f"{module} -> {target}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_the_packages_and_their_imports() -> None:
    graph = package_graph()
    assert {"tickets", "staff", "events", "files", "webhooks", "staff.endpoints"} <= set(graph)
    assert "rules" in graph["tickets"]
    assert "tickets" in graph["staff.endpoints"]


def test_no_package_cycles() -> None:
    graph = package_graph()
    problems = [
        f"{a} -> {b}: {edge}"
        for component in cycles(graph)
        for a in component
        for b in component
        for edge in graph[a].get(b, [])
    ]
    assert problems == []


def test_cycles_are_found() -> None:
    """The check itself: a graph with a loop through three nodes is reported."""
    graph: dict[str, dict[str, list[str]]] = {"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}
    assert cycles(graph) == [["a", "b", "c"]]


def _top(target: str) -> str:
    return target.split(".", 1)[0]


def test_rules_import_nothing_of_claimdesk_and_no_framework() -> None:
    wrong = {
        f"{module} -> {target}"
        for module, targets in imports().items()
        if module.startswith("claimdesk.rules")
        for target in targets
        if (target.startswith("claimdesk.") and node(target) != "rules") or _top(target) in NOT_IN_RULES
    }
    assert wrong == set()


def test_models_build_only_on_rules() -> None:
    wrong = {
        f"{module} -> {target}"
        for module, targets in imports().items()
        if module.startswith("claimdesk.models")
        for target in targets
        if target.startswith("claimdesk.") and node(target) not in ("models", "rules")
    }
    assert wrong == set()


@pytest.mark.parametrize("module", sorted(m for m in imports() if m.rsplit(".", 1)[-1] in ("service", "lifecycle")))
def test_a_service_imports_no_task_module_and_owns_no_unit_of_work(module: str) -> None:
    """Tasks and endpoints call services, never the other way; the unit of work (``claimdesk.db``) is theirs."""
    wrong = {
        t for t in imports()[module] if t.rsplit(".", 1)[-1] == "tasks" or t in ("claimdesk.db", "claimdesk.worker")
    }
    assert wrong == set()
