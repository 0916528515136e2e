"""Old code on the new schema (README: "Deploys"): the newest migrations applied, then the
previous release's code (a `git worktree` of the parent of the last commit that changed a
migration) seeds, runs a short digest batch and serves a page crawl against that schema,
without an error. The old tree is imported through PYTHONPATH (ahead of this checkout's
installed package), so no second virtualenv is built."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import (
    REDIS_URL,
    ROOT,
    TEST_SECRET,
    create_postgres_database,
    django_migrate,
    drop_postgres_database,
)

pytestmark = pytest.mark.slow

MIGRATIONS = ":(glob)site/lanyard_site/*/migrations/*.py"
DAY = "2026-12-01"


def git(*args: str) -> str:
    result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def previous_release() -> str:
    """The commit before the newest schema change: the code a deploy of it runs beside."""
    if git("rev-parse", "--is-shallow-repository") == "true":
        git("fetch", "--unshallow", "--quiet")  # CI's clone is full; a shallow one is deepened
    newest = git("log", "-1", "--no-merges", "--format=%H", "--", MIGRATIONS)
    assert newest, "no commit changed a migration"
    return git("rev-parse", f"{newest}~1")


@pytest.fixture
def old_tree():
    commit = previous_release()
    path = Path(tempfile.mkdtemp(prefix="lanyard-old-")) / "tree"
    git("worktree", "add", "--detach", str(path), commit)
    try:
        yield path, commit
    finally:
        git("worktree", "remove", "--force", str(path))
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture
def new_schema(tmp_path):
    url = create_postgres_database()
    try:
        django_migrate(url, tmp_path / "migrate")  # this checkout's migrations: the newest schema
        yield url
    finally:
        drop_postgres_database(url)


def test_the_previous_release_runs_a_batch_and_serves_pages_on_the_newest_schema(old_tree, new_schema, tmp_path):
    tree, commit = old_tree
    env = {
        **os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'site'}", "LANYARD_DATABASE_URL": new_schema,
        "LANYARD_DATA_DIR": str(tmp_path / "var"), "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_REDIS_PREFIX": f"old{secrets.token_hex(3)}:", "LANYARD_SECRET_KEYS": TEST_SECRET,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def old(*args: str) -> str:
        result = subprocess.run([sys.executable, *args], env=env, cwd=tree, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, (
            f"the release {commit[:10]} failed: {' '.join(args)[:200]}\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout

    lanyard = ("-c", "from lanyard_cli.main import main; main()")
    assert old("-c", "import digest; print(digest.__file__)").startswith(str(tree))  # really the old code
    old(*lanyard, "seed", "--people", "80", "--events", "20", "--subscribers", "25", "--seed", "3", "--today", DAY)
    summary = old(*lanyard, "digest", "run", "--date", DAY, "--chunk-size", "7")
    assert "sent" in summary, summary
    outbox = tmp_path / "var" / "outbox" / "new"
    assert outbox.is_dir() and any(outbox.iterdir()), f"the old worker sent nothing:\n{summary}"
    # Its source given with -c: run as a file, its folder (tests/, which holds a package
    # named `digest`) would come first on sys.path.
    crawl = old("-c", (ROOT / "tests" / "old_release_crawl.py").read_text(), "60")
    assert f"site from {tree}" in crawl, crawl
    crawled = int(crawl.split("crawled ")[1].split()[0])
    assert crawled >= 30, crawl  # events, people, talks and topics were reached, not just /
    print(summary, crawl)
