"""`lanyard demo` run again: it says what it would replace and does so only when asked."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from digest.stores import db
from tests.cli.test_cli import run
from tests.conftest import REDIS_URL

SMALL = ["demo", "--people", "40", "--events", "6", "--subscribers", "10"]


@pytest.fixture
def env(short_tmp, redis_client):
    return {"LANYARD_DATA_DIR": str(short_tmp), "LANYARD_REDIS_URL": REDIS_URL}


def people(env) -> int:
    engine = create_engine(f"sqlite:///{env['LANYARD_DATA_DIR']}/lanyard.sqlite3")
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(db.person)).scalar_one()
    engine.dispose()
    return count


def add_account(env, username: str, *, staff: bool) -> None:
    """A site account as sign-up makes it (the demo data set has none), its profile among the people."""
    engine = create_engine(f"sqlite:///{env['LANYARD_DATA_DIR']}/lanyard.sqlite3")
    with engine.begin() as connection:
        user_id = connection.execute(text(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES ('!', :staff, :name, '', '', '', :staff, 1, '2026-01-01') RETURNING id"
        ), {"name": username, "staff": staff}).scalar_one()
        connection.execute(insert(db.person).values(
            name=username, handle=username, bio="", avatar_url="", timezone="UTC", cache_version=1, user_id=user_id,
        ))
    engine.dispose()


def usernames(env) -> list[str]:
    engine = create_engine(f"sqlite:///{env['LANYARD_DATA_DIR']}/lanyard.sqlite3")
    with engine.connect() as connection:
        names = connection.execute(text("SELECT username FROM auth_user ORDER BY username")).scalars().all()
    engine.dispose()
    return list(names)


def outbox(env) -> set[str]:
    return set(os.listdir(os.path.join(env["LANYARD_DATA_DIR"], "outbox", "new")))


def test_a_second_demo_refuses_without_reset_then_replaces_with_it(env):
    first = run(SMALL, env, timeout=600)
    assert first.returncode == 0, first.stderr
    add_account(env, "zelda", staff=False)
    add_account(env, "sam", staff=True)
    old_mail = outbox(env)
    assert old_mail and people(env) == 42

    again = run(SMALL, env, timeout=600)  # not a terminal: no question, a refusal
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "the database holds 42 people from an earlier run" in again.stderr
    assert "lanyard demo --reset" in again.stderr
    assert people(env) == 42 and outbox(env) == old_mail and usernames(env) == ["sam", "zelda"]

    reset = run([*SMALL, "--reset"], env, timeout=600)
    assert reset.returncode == 0, reset.stderr
    assert "replacing the earlier run: 42 people" in reset.stdout
    assert people(env) == 40
    assert not outbox(env) & old_mail  # the old run's emails are gone; this run's are there
    assert outbox(env)
    # No dead-end account: the sign-up account went with its profile; the staff one stays
    # (and the site offers it a new profile).
    assert usernames(env) == ["sam"]


def test_at_a_terminal_it_asks_and_a_no_changes_nothing(env):
    assert run(SMALL, env, timeout=600).returncode == 0
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    full_env.update(env)
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "lanyard_cli", *SMALL], env=full_env, stdin=terminal,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(terminal)
    os.write(controller, b"n\n")
    stdout, stderr = process.communicate(timeout=300)
    os.close(controller)
    assert process.returncode == 1 and "Traceback" not in stderr
    assert "Go on?" in stdout and "Aborted" in stderr
    assert people(env) == 40
