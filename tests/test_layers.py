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

# The layers inside digest/, bottom first: a module imports from its own layer or below,
# never above. A module belongs to the longest name listed that it starts with; each is
# drawn in docs/architecture.md. Callables are handed down where a lower layer needs
# something above it (a worker's command line to scheduler/local.py, probes to ops/health.py).
DIGEST_LAYERS: list[tuple[str, ...]] = [
    ("digest.vocabulary",),
    # values, names and errors: nothing of lanyard's stores or services
    ("digest.errors", "digest.clock", "digest.values", "digest.stores.keys", "digest.config", "digest.tokens",
     "digest.slugs", "digest.weburls", "digest.embeds", "digest.sealed", "digest.links", "digest.heal",
     "digest.faults"),
    # the stores and the guarded outgoing HTTP client
    ("digest.stores", "digest.http"),
    # state kept in the stores, each with its one owner (a run's rows read by delivery, owned above)
    ("digest.graph", "digest.ops", "digest.coverage", "digest.subscriptions", "digest.delivery",
     "digest.handles", "digest.demo"),
    ("digest.search", "digest.accounts"),
    ("digest.runs",),
    ("digest.bounces",),
    ("digest.nightly",),
    ("digest",),
]
# The site reaches the scheduler (to send tasks) only here.
SITE_TO_SCHEDULER = {"lanyard_site.stores"}


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


def _layer_of(module: str, layers: list[tuple[str, ...]]) -> int | None:
    """The index of the layer whose longest listed name ``module`` is or starts with."""
    best: tuple[int, int] | None = None
    for index, names in enumerate(layers):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > best[0]):
                best = (len(name), index)
    return None if best is None else best[1]


def _against_layers(graph: dict[str, set[str]], layers: list[tuple[str, ...]]) -> list[str]:
    wrong = []
    for name in sorted(graph):
        if not name.startswith("digest"):
            continue
        own = _layer_of(name, layers)
        if own is None:
            wrong.append(f"{name} is in no layer")
            continue
        for target in sorted(graph[name]):
            theirs = _layer_of(target, layers) if target.startswith("digest") else None
            if theirs is not None and theirs > own:
                wrong.append(f"{name} (layer {own}) imports {target} (layer {theirs}, above)")
    return wrong


def test_digest_imports_only_its_own_layer_or_below():
    digest = {name: GRAPH[name] for name in MODULES if name.startswith("digest")}
    assert _against_layers(digest, DIGEST_LAYERS) == []


def test_the_layer_check_can_fail():
    graph = {"digest.stores.db": {"digest.runs.state"}, "digest.runs.state": {"digest.stores.db"},
             "digest.unplaced": set()}
    layers = [("digest.stores",), ("digest.runs",)]
    assert _against_layers(graph, layers) == [
        "digest.stores.db (layer 0) imports digest.runs.state (layer 1, above)",
        "digest.unplaced is in no layer",
    ]
    assert _layer_of("digest.stores.keys", DIGEST_LAYERS) < _layer_of("digest.stores.db", DIGEST_LAYERS)


def test_the_site_reaches_the_scheduler_through_its_stores_only():
    reaching = {name for name in MODULES if name.startswith("lanyard_site")
                and any(t.split(".")[0] == "scheduler" for t in GRAPH[name])}
    assert reaching == SITE_TO_SCHEDULER


LAUNCH = re.compile(r"\b(lanyard_cli|lanyard_site|scheduler|unsubscribe_web)(\.\w+)*\b")


def _launches_by_string(package: str, tree: ast.AST) -> list[str]:
    """String constants naming a package a layer must not import (code run by ``-c``/``-m``,
    or an import by name), which the import graph cannot see."""
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}  # docstrings
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            for match in LAUNCH.finditer(node.value):
                if match.group(1) in FORBIDDEN.get(package, set()) and (
                    "import" in node.value or node.value == match.group(0)
                ):
                    found.append(node.value)
    return found


def test_no_layer_starts_one_above_it_by_name():
    wrong = [
        f"{name}: {text!r}"
        for name, path in MODULES.items()
        for text in _launches_by_string(name.split(".")[0], ast.parse(path.read_text(), filename=str(path)))
    ]
    assert wrong == []


def test_the_launch_check_can_fail():
    assert _launches_by_string("scheduler", ast.parse('CMD = "from lanyard_cli.main import main; main()"'))
    assert _launches_by_string("digest", ast.parse('name = "scheduler.tasks"'))
    assert not _launches_by_string("lanyard_cli", ast.parse('CMD = "from lanyard_cli.main import main; main()"'))
