"""The code's shape: no module over 450 lines; no function over 60 lines or 6 parameters.

Read from the source with ``ast``, over every Python file of the project except
``tests/``, ``bench/`` and migrations (and the virtualenv and data folders), so a new
package is covered without being listed here.

How a function is measured:

- lines: from its ``def`` (decorators not included) to its last line, docstring and
  comments included: what a reader has to hold at once;
- parameters: every named parameter, positional or keyword-only, except ``self`` and
  ``cls``. ``*args`` and ``**kwargs`` do not count: they are not names a caller lines up,
  and a receiver whose caller fixes the keywords (a Django signal receiver) takes what it
  does not use through ``**kwargs`` rather than naming it;
- a click command counts the parameters its ``@click.option`` / ``@click.argument``
  decorators fill as one, the command line: each option is already named, typed and
  documented once in its decorator, and wrapping them in a dataclass would spell every
  name a third time. Its other parameters (the ``app`` of ``pass_obj``) count as usual.

Exemptions, if any, are listed in ``EXEMPT`` with their reasons; an exemption whose file no
longer breaks the rules, or no longer exists, fails the test, so the list cannot go stale.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {"tests", "bench", "migrations", ".venv", "var", "node_modules", ".git", "build"}
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 6

# path → why it may break the rules for now
EXEMPT: dict[str, str] = {}


@dataclass(frozen=True)
class Offence:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def project_files(root: Path = ROOT) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if not SKIPPED_DIRS.intersection(relative.parts[:-1]) and not relative.parts[0].startswith("."):
            yield path


def _is_click_parameter(decorator: ast.expr) -> bool:
    """``@click.option(...)`` / ``@click.argument(...)`` (or the bare names, imported)."""
    if not isinstance(decorator, ast.Call):
        return False
    name = decorator.func.attr if isinstance(decorator.func, ast.Attribute) else getattr(decorator.func, "id", "")
    return name in {"option", "argument"}


def parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = function.args
    named = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    count = len([name for name in named if name not in {"self", "cls"}])
    from_command_line = sum(_is_click_parameter(d) for d in function.decorator_list)
    if from_command_line:
        count = count - from_command_line + 1
    return count


def offences(source: str, path: str) -> list[Offence]:
    """What in ``source`` (the text of the module at ``path``) breaks the rules."""
    found = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(Offence(path, 1, f"module of {lines} lines (at most {MAX_MODULE_LINES})"))
    for node in ast.walk(ast.parse(source, filename=path)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > MAX_FUNCTION_LINES:
            found.append(Offence(path, node.lineno, f"{node.name}: {length} lines (at most {MAX_FUNCTION_LINES})"))
        parameters = parameter_count(node)
        if parameters > MAX_PARAMETERS:
            found.append(
                Offence(path, node.lineno, f"{node.name}: {parameters} parameters (at most {MAX_PARAMETERS})")
            )
    return found


def test_no_module_or_function_too_big():
    found: list[Offence] = []
    exempt_clean = []
    for path in project_files():
        relative = path.relative_to(ROOT).as_posix()
        here = offences(path.read_text(encoding="utf-8"), relative)
        if relative in EXEMPT:
            if not here:
                exempt_clean.append(relative)
            continue
        found.extend(here)
    assert not found, "too big (split it by step, or group parameters that travel together):\n" + "\n".join(
        map(str, found)
    )
    assert not exempt_clean, f"exempt but within the rules now, drop them from EXEMPT: {exempt_clean}"
    gone = [path for path in EXEMPT if not (ROOT / path).exists()]
    assert not gone, f"exempt but no longer there, drop them from EXEMPT: {gone}"


def test_the_walk_covers_every_package():
    walked = {path.relative_to(ROOT).parts[0] for path in project_files()}
    assert {"digest", "lanyard_cli", "scheduler", "site", "unsubscribe_web"} <= walked
    assert not walked & {"tests", "bench"}
    assert not any("migrations" in path.parts for path in project_files())


def test_the_checker_can_fail():
    long_body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    source = (
        f"def long():\n{long_body}\n\n"
        "def wide(a, b, c, d, e, f, g):\n    pass\n\n"
        "class C:\n    def method(self, a, b, c, d, e, f):\n        pass\n\n"
        "def spread(a, *args, **kwargs):\n    pass\n"
    )
    found = [o.what for o in offences(source, "synthetic.py")]
    assert found == [
        f"long: {MAX_FUNCTION_LINES + 1} lines (at most {MAX_FUNCTION_LINES})",
        "wide: 7 parameters (at most 6)",
    ]
    big = "\n" * MAX_MODULE_LINES + "x = 1\n"
    assert [o.what for o in offences(big, "big.py")] == [f"module of {MAX_MODULE_LINES + 1} lines (at most 450)"]


def test_a_click_command_counts_its_options_as_one():
    options = "".join(f"@click.option('--o{i}')\n" for i in range(7))
    source = f"@click.command()\n{options}@click.pass_obj\ndef command(app, o0, o1, o2, o3, o4, o5, o6):\n    pass\n"
    assert offences(source, "cli.py") == []
    (command,) = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]
    assert parameter_count(command) == 2
