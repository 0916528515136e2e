"""The project's import graph: no circles, and dependencies pointing one way.

Read from the source with ``ast`` (every import, at module level or inside a function),
so an import that only runs on some path still counts. The layers, top to bottom:
``lanyard_cli`` → ``lanyard_site`` → ``scheduler`` / ``unsubscribe_web`` → ``digest``,
and inside ``digest`` the vocabulary at the very bottom.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Top-level package → the folder it lives in.
PACKAGES = {
    "digest": ROOT / "digest",
    "scheduler": ROOT / "scheduler",
    "unsubscribe_web": ROOT / "unsubscribe_web",
    "lanyard_cli": ROOT / "lanyard_cli",
    "lanyard_site": ROOT / "site" / "lanyard_site",
    "templates_email": ROOT / "templates_email",
}
# What each top-level package must never import (besides anything not listed here).
FORBIDDEN = {
    "digest": {"scheduler", "unsubscribe_web", "lanyard_cli", "lanyard_site", "django", "celery", "kombu"},
    "unsubscribe_web": {"scheduler", "lanyard_cli", "lanyard_site", "django", "celery"},
    "scheduler": {"unsubscribe_web", "lanyard_cli", "lanyard_site", "django"},
    "lanyard_site": {"lanyard_cli", "unsubscribe_web"},
}
BOTTOM = "digest.vocabulary"  # imports nothing of lanyard


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Absolute names of what a module imports (a project module where one is named)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                targets.add(child if child in MODULES else source)
    return targets


def _project_module(target: str) -> str | None:
    """The project module an import loads (its longest known prefix), or None."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


GRAPH: dict[str, set[str]] = defaultdict(set)
EXTERNAL: dict[str, set[str]] = defaultdict(set)
for _name, _path in MODULES.items():
    for _target in _imports(_name, _path):
        _module = _project_module(_target)
        if _module is None:
            EXTERNAL[_name].add(_target.split(".")[0])
        elif _module != _name and not _name.startswith(_module + "."):
            # A module importing its own package's __init__ is how Python loads it anyway.
            GRAPH[_name].add(_module)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(graph).union(*graph.values())):
        if node not in index:
            visit(node)
    return found


def test_the_graph_was_read():
    assert len(MODULES) > 50
    assert "digest.stores.db" in GRAPH["digest.delivery.ledger"]
    assert "celery" in EXTERNAL["scheduler.app"] or "kombu" in EXTERNAL["scheduler.app"]


def test_no_import_circles():
    assert _circles(GRAPH) == []


def test_the_circle_finder_finds_one():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_one_way(package):
    wrong = []
    for name in MODULES:
        if name.split(".")[0] != package:
            continue
        reached = {m.split(".")[0] for m in GRAPH[name]} | EXTERNAL[name]
        wrong += [f"{name} imports {bad}" for bad in sorted(reached & FORBIDDEN[package])]
    assert wrong == []


def test_nothing_imports_the_command_line():
    assert [n for n, targets in GRAPH.items() if not n.startswith("lanyard_cli") and any(
        t.startswith("lanyard_cli") for t in targets)] == []


def test_the_vocabulary_is_the_bottom():
    assert GRAPH[BOTTOM] == set()


def test_every_inline_import_says_why():
    """ruff's PLC0415 is silenced line by line only with a reason: ``# noqa: PLC0415 -- why``."""
    bare = re.compile(r"#\s*noqa:[^#]*\bPLC0415\b(?!.*--\s*\S)")
    missing = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in MODULES.values()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if bare.search(line)
    ]
    assert missing == []


def test_command_modules_import_no_other_command_module():
    """Steps several commands share live in lanyard_cli's helpers (app, display, progress, steps)."""
    commands = [name for name in MODULES if name.startswith("lanyard_cli.commands.")]
    assert commands  # the commands were found
    assert [f"{name} imports {target}" for name in commands for target in sorted(GRAPH[name])
            if target.startswith("lanyard_cli.commands.")] == []


def test_the_benchmarks_do_not_import_the_command_line():
    """A bench builds on the core (digest.handles, digest.nightly.run_here, …), not on `lanyard`'s commands."""
    wrong = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{path.name} imports {n}" for n in names if n.split(".")[0] == "lanyard_cli"]
    assert wrong == []
