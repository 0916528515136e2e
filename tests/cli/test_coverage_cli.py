"""`lanyard coverage fetch URL [--talk ID | --event SLUG]` as a user runs it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from digest.stores import db
from tests.cli.test_cli import assert_one_clear_line, run
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.web_server import page, redirect


@pytest.fixture
def env(database_url, tmp_path):
    return {
        "LANYARD_DATA_DIR": str(tmp_path / "var"),
        "LANYARD_DATABASE_URL": database_url,
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_REDIS_PREFIX": "cli:",
        "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_HTTP_ALLOW_NETWORKS": "127.0.0.2/32",
    }


def test_fetch_prints_what_it_found(env, web_server):
    url = web_server.route("/deck", page('<title>Deck</title><meta property="og:image" content="https://img.example/c.png">'))
    result = run(["coverage", "fetch", url], env)
    assert result.returncode == 0, result.stderr
    assert f"url:       {url}" in result.stdout
    assert "title:     Deck" in result.stdout and "thumbnail: https://img.example/c.png" in result.stdout


def test_refused_and_failed_are_one_line_and_exit_1(env, web_server):
    assert_one_clear_line(
        run(["coverage", "fetch", "http://127.0.0.1/"], env), 1, "refused: address not allowed: 127.0.0.1"
    )
    result = run(["coverage", "fetch", web_server.route("/r", redirect("gopher://x/"))], env)
    assert_one_clear_line(result, 1, "refused: scheme not allowed: gopher")
    assert_one_clear_line(run(["coverage", "fetch", web_server.url("/missing")], env), 1, "failed: HTTP 404")
    assert_one_clear_line(
        run(["coverage", "fetch", "slides.example/deck"], env), 1, "refused: not a valid URL: it needs http://"
    )
    empty = {**env, "LANYARD_HTTP_ALLOW_NETWORKS": ""}
    assert_one_clear_line(
        run(["coverage", "fetch", web_server.url("/missing")], empty), 1, "refused: address not allowed: 127.0.0.2"
    )
    assert result.stderr.count("\n") == 1


def test_attach_to_a_talk_or_an_event(env, engine, web_server, talk_id):
    url = web_server.route("/v", page("<title>The video</title>"))
    result = run(["coverage", "fetch", url, "--talk", str(talk_id)], env)
    assert result.returncode == 0, result.stderr
    assert "title:     The video" in result.stdout
    failed = run(["coverage", "fetch", "http://10.1.2.3/", "--event", "pycon"], env)
    assert_one_clear_line(failed, 1, "refused: it points at a private or local network address, which lanyard never "
                          "fetches (address not allowed: 10.1.2.3 is a private address; coverage ")
    with engine.connect() as connection:
        rows = connection.execute(select(db.coverage.c.id, db.coverage.c.session_id, db.coverage.c.event_id,
                                         db.coverage.c.status, db.coverage.c.title).order_by(db.coverage.c.id)).all()
        event_id = connection.execute(select(db.event_.c.id).where(db.event_.c.slug == "pycon")).scalar_one()
    assert [tuple(r[1:]) for r in rows] == [(talk_id, None, "ok", "The video"), (None, event_id, "refused", "http://10.1.2.3/")]
    assert f"coverage {rows[0][0]} attached" in result.stdout and f"; coverage {rows[1][0]} kept" in failed.stderr
    assert_one_clear_line(run(["coverage", "fetch", url, "--talk", "999"], env), 2, "no talk with id 999")
    assert_one_clear_line(run(["coverage", "fetch", url, "--event", "nope"], env), 2, "no event with slug 'nope'")
    assert_one_clear_line(run(["coverage", "fetch", url, "--event", "pycon", "--talk", "1"], env), 2, "not both")
