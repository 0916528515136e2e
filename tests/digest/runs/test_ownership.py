"""The run has one owner: nothing outside digest/runs/ writes ``digest_run`` or ``digest_chunk``."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

OWNER = Path("digest/runs")
SOURCES = ["digest", "scheduler", "lanyard_cli", "unsubscribe_web", "site/lanyard_site"]
TABLES = {"digest_run", "digest_chunk"}
MODELS = {"DigestRun", "DigestChunk"}
WRITES = {"insert", "update", "delete"}
ORM_WRITES = {"create", "update", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}


def _writes(tree: ast.AST) -> list[int]:  # noqa: C901 -- one branch per kind of write it recognises
    """Lines writing the run or chunk tables: SQLAlchemy insert/update/delete of them
    (directly or through a local alias), raw SQL naming them, or Django ORM writes."""
    aliases = set(TABLES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = [
                t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])
            ]
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for target, value in zip(targets, values, strict=False):
                if isinstance(target, ast.Name) and isinstance(value, ast.Attribute) and value.attr in TABLES:
                    aliases.add(target.id)

    def is_table(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr in TABLES) or (
            isinstance(node, ast.Name) and node.id in aliases
        )

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func_ = node.func
            if isinstance(func_, ast.Name) and func_.id in WRITES and node.args and is_table(node.args[0]):
                found.append(node.lineno)
            if isinstance(func_, ast.Attribute) and func_.attr in WRITES and is_table(func_.value):
                found.append(node.lineno)
            if (
                isinstance(func_, ast.Attribute)
                and func_.attr in ORM_WRITES
                and "Digest" in ast.unparse(func_.value)
                and any(model in ast.unparse(func_.value) for model in MODELS)
            ):
                found.append(node.lineno)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if any(f"{verb} {quote}{table}" in text for verb in ("insert into", "update", "delete from")
                   for quote in ("", '"') for table in TABLES):
                found.append(node.lineno)
    return found


def test_the_run_and_its_chunks_are_written_from_one_module_only():
    writers = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            lines = _writes(ast.parse(path.read_text(), filename=str(path)))
            if lines:
                writers[str(relative)] = lines
    outside = {path: lines for path, lines in writers.items() if not Path(path).is_relative_to(OWNER)}
    assert outside == {}, f"the run is written outside {OWNER}/"
    # The owners are found, so the check reads what it should.
    assert {Path(path).name for path in writers} >= {"planning.py", "chunks.py", "state.py", "finishing.py"}


def test_the_ownership_check_sees_each_kind_of_write():
    samples = [
        "update(db.digest_run).values(status='x')",
        "c, r = db.digest_chunk, db.digest_run\nconnection.execute(update(r).values(status='x'))",
        "db.digest_run.insert().values(list='daily')",
        "cursor.execute('UPDATE \"digest_run\" SET status = 1')",
        "DigestRun.objects.filter(pk=1).update(status='x')",
    ]
    for sample in samples:
        assert _writes(ast.parse(sample)), sample
    assert not _writes(ast.parse("select(db.digest_run).where(db.digest_run.c.id == 1)"))
