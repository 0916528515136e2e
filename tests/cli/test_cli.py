"""The `lanyard` command as a user runs it: a real process, real stores."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from digest.stores import db
from digest.stores.redis_store import embedded_redis_running, stop_embedded_redis
from tests.conftest import REDIS_URL, TEST_SECRET

LANYARD = [sys.executable, "-m", "lanyard_cli"]


def run(args, env, timeout=300):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    full_env.update(env)
    return subprocess.run([*LANYARD, *args], env=full_env, capture_output=True, text=True, timeout=timeout)


def assert_one_clear_line(result, exit_code, *fragments):
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def data_dir(short_tmp):
    yield short_tmp
    stop_embedded_redis(short_tmp)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"LANYARD_DATABASE_URL": "mysql://db/x"}, "LANYARD_DATABASE_URL: unknown scheme 'mysql'"),
        ({"LANYARD_REDIS_URL": "memcached://x"}, "LANYARD_REDIS_URL: unknown scheme"),
        ({"LANYARD_ENV": "production"}, "LANYARD_SECRET_KEYS: is required in production"),
        ({"LANYARD_MAIL_URL": "smtp://relay:notaport"}, "LANYARD_MAIL_URL"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(data_dir, env, fragment):
    result = run(["graph", "check"], {"LANYARD_DATA_DIR": str(data_dir), **env})
    assert_one_clear_line(result, 2, fragment)
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["seed", "--people", "many"],
        ["seed", "--people", "10", "--subscribers", "11"],
        ["graph", "frobnicate"],
        ["nonsense"],
    ],
)
def test_bad_arguments_exit_2_with_usage(data_dir, args):
    result = run(args, {"LANYARD_DATA_DIR": str(data_dir)})
    assert_one_clear_line(result, 2, "Error:")


def test_unreachable_database_is_one_line(data_dir, redis_client):
    result = run(["graph", "rebuild"], {
        "LANYARD_DATA_DIR": str(data_dir),
        "LANYARD_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/lanyard",
        "LANYARD_REDIS_URL": REDIS_URL,
    })
    assert_one_clear_line(result, 1, "cannot use the database", "LANYARD_DATABASE_URL")


def test_unreachable_redis_is_one_line(data_dir):
    result = run(["graph", "check"], {"LANYARD_DATA_DIR": str(data_dir), "LANYARD_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert_one_clear_line(result, 1, "cannot reach Redis", "LANYARD_REDIS_URL")


def test_seed_then_check_then_drift_on_postgresql(redis_client):
    from tests.conftest import create_postgres_database, drop_postgres_database

    url = create_postgres_database()
    try:
        env = {"LANYARD_DATABASE_URL": url, "LANYARD_REDIS_URL": REDIS_URL, "LANYARD_SECRET_KEYS": TEST_SECRET}
        seeded = run(["seed", "--people", "400", "--events", "40", "--subscribers", "30", "--seed", "5"], env)
        assert seeded.returncode == 0, seeded.stderr
        assert "seeded 400 people" in seeded.stdout and "seconds:" in seeded.stdout
        again = run(["seed", "--people", "400", "--events", "40", "--subscribers", "30"], env)
        assert_one_clear_line(again, 1, "--reset")

        checked = run(["graph", "check"], env)
        assert checked.returncode == 0 and "no drift" in checked.stdout
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as c:
            c.execute(text("DELETE FROM follow WHERE id IN (SELECT id FROM follow ORDER BY id LIMIT 3)"))
        engine.dispose()
        drifted = run(["graph", "check"], env)
        assert drifted.returncode == 1
        assert "drift:" in drifted.stdout and "3 extra" in drifted.stdout
        assert run(["graph", "rebuild"], env).returncode == 0
        assert run(["graph", "check"], env).returncode == 0
    finally:
        drop_postgres_database(url)


def test_demo_on_the_embedded_defaults_prints_a_true_summary(data_dir):
    """README's first command, on a fresh data directory: SQLite and embedded Redis."""
    result = run(
        ["demo", "--people", "300", "--events", "30", "--subscribers", "40"],
        {"LANYARD_DATA_DIR": str(data_dir)},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(f"sqlite:///{data_dir / 'lanyard.sqlite3'}")
    with engine.connect() as c:
        truth = {
            "people": c.execute(select(func.count()).select_from(db.person)).scalar_one(),
            "follows": c.execute(select(func.count()).select_from(db.follow)).scalar_one(),
            "events": c.execute(select(func.count()).select_from(db.event_)).scalar_one(),
            "subscriptions": c.execute(select(func.count()).select_from(db.subscription)).scalar_one(),
        }
    engine.dispose()
    assert truth["people"] == 300 and truth["events"] == 30 and truth["subscriptions"] == 40
    for name, count in truth.items():
        assert re.search(rf"^\s*{name}: {count}$", result.stdout, re.M), (name, result.stdout)
    # The embedded Redis served the graph (its data is kept), and the demo stopped the server it started.
    assert (Path(data_dir) / "redis.aof").exists() and not embedded_redis_running(Path(data_dir))
