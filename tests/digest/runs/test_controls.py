"""The run's state machine (digest/runs/state.py, controls.py): every change follows the table."""

from __future__ import annotations

from functools import partial

import pytest

from digest.runs.controls import run_cancel, run_pause, run_reopen, run_resume
from digest.runs.planning import RunRequest, run_plan
from digest.runs.state import TRANSITIONS, RunStateError
from digest.vocabulary import RunStatus
from tests.digest.runs.conftest import DAY, status
from tests.factories import QueuedWork


def test_every_status_change_follows_the_table(engine, world):
    plan = run_plan(engine, RunRequest(digest_date=DAY))
    queue = QueuedWork()
    assert status(engine, plan.run_id) == RunStatus.RUNNING  # planned and started at once
    run_pause(engine, run_id=plan.run_id)
    assert status(engine, plan.run_id) == RunStatus.PAUSED
    run_resume(engine, queue, run_id=plan.run_id)
    with pytest.raises(RunStateError, match="only a paused run can become running"):
        run_resume(engine, queue, run_id=plan.run_id)
    assert status(engine, plan.run_id) == RunStatus.RUNNING
    run_cancel(engine, queue, run_id=plan.run_id)
    assert queue.finished == [plan.run_id]  # no chunk was working: the run is finished at once
    for change in (partial(run_pause, engine), partial(run_cancel, engine, queue), partial(run_resume, engine, queue)):
        with pytest.raises(RunStateError, match=f"run {plan.run_id} is cancelled"):
            change(run_id=plan.run_id)
    with pytest.raises(RunStateError):
        run_reopen(engine, run_id=plan.run_id, subscription_ids=world["subs"], chunk_size=10)
    assert status(engine, plan.run_id) == RunStatus.CANCELLED
    assert TRANSITIONS[RunStatus.CANCELLED] == frozenset()
    assert set(TRANSITIONS) == set(RunStatus)

