"""Planning in one transaction (digest/runs/planning.py): a planner SIGKILLed between its
steps (a real process) leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import func, select

from digest.runs.planning import TAPER_FROM, RunRequest, chunked, run_plan
from digest.stores import db
from digest.vocabulary import RunStatus
from tests.conftest import ROOT
from tests.digest.runs.conftest import DAY, status

KILL_WHILE_PLANNING = textwrap.dedent("""
    import datetime as dt, os, signal, sys
    from digest.runs import chunks, planning, state
    from digest.stores import db
    from digest.config import load_settings

    # SIGKILL this process the moment planning reaches the given step: after the run row
    # is inserted and before its chunk rows (or before it is made running).
    module, name = sys.argv[1].split(".")
    step = getattr({"chunks": chunks, "state": state}[module], name).__code__

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code is step:
            os.kill(os.getpid(), signal.SIGKILL)

    engine = db.make_engine(load_settings().database.primary)
    sys.settrace(tracer)
    planning.run_plan(engine, planning.RunRequest(digest_date=dt.date(2026, 12, 1), chunk_size=1))
""")


@pytest.mark.parametrize("step", ["chunks.chunks_add", "state.transition"])
def test_a_planner_killed_between_planning_steps_leaves_no_planned_run(engine, world, database_url, tmp_path, step):
    env = {**os.environ, "LANYARD_DATABASE_URL": database_url, "LANYARD_DATA_DIR": str(tmp_path / "var"),
           "LANYARD_SECRET_KEYS": world["settings"].secret_keys[0]}
    planner = subprocess.run([sys.executable, "-c", KILL_WHILE_PLANNING, step], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert planner.returncode == -signal.SIGKILL, planner.stderr
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(db.digest_run)).scalar_one() == 0
        assert c.execute(select(func.count()).select_from(db.digest_chunk)).scalar_one() == 0
    # Planning again plans everyone, in one go.
    plan = run_plan(engine, RunRequest(digest_date=DAY, chunk_size=1))
    assert plan.planned == 3 and len(plan.chunk_ids) == 3
    assert status(engine, plan.run_id) == RunStatus.RUNNING



@pytest.mark.parametrize("count", [0, 1, 499, 500, 3_999, 4_000, 4_100, 20_000])
def test_chunks_keep_every_id_once_in_order_and_a_big_runs_last_ones_are_smaller(count):
    ids = list(range(1, count + 1))
    chunks = chunked(ids, 500)
    assert [i for chunk in chunks for i in chunk] == ids
    assert all(0 < len(chunk) <= 500 for chunk in chunks)
    if count >= TAPER_FROM * 500:
        assert [len(chunk) for chunk in chunks[-8:]] == [125] * 8  # the last 1,000 in quarter chunks
        assert len(chunks[0]) == 500
    else:
        assert [len(chunk) for chunk in chunks[:-1]] == [500] * (len(chunks) - 1)  # small runs as before
