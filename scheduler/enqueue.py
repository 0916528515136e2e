"""How the rest of lanyard hands work to the Celery workers: task names in, messages out.

It imports nothing of the scheduler, so the run's services (``digest/runs/``, which take
any :class:`~digest.runs.state.RunQueue`), the tasks, the CLI and the Django admin can all
send without importing the app module, and the app
module can import the tasks without a circle. The names are
:class:`digest.vocabulary.TaskName`; the queues they go to are routed in
``scheduler/app.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from celery import Celery

from digest.vocabulary import TaskName


class Enqueue:
    """Sends the scheduler's tasks through an app; the :class:`~digest.runs.state.RunQueue`
    services are handed."""

    def __init__(self, app: Celery):
        self.app = app

    def chunks(self, chunk_ids: Sequence[int], *, countdown: float = 0) -> None:
        if not chunk_ids:
            return
        with self.app.producer_or_acquire() as producer:
            for chunk_id in chunk_ids:
                self.app.send_task(
                    TaskName.PROCESS_CHUNK, kwargs={"chunk_id": int(chunk_id)}, countdown=countdown or None,
                    producer=producer,
                )

    def finish(self, run_id: int, *, countdown: float = 0) -> None:
        self.app.send_task(TaskName.FINISH_RUN, kwargs={"run_id": int(run_id)}, countdown=countdown or None)

    def tick(self, *, now: dt.datetime | None = None, force: bool = False) -> None:
        kwargs: dict[str, Any] = {"force": force}
        if now is not None:
            kwargs["now"] = now.isoformat()
        self.app.send_task(TaskName.TICK, kwargs=kwargs)

    def sweep(self) -> None:
        self.app.send_task(TaskName.SWEEP)

    def search_index_pending(self, *, retry: bool = True) -> None:
        self.app.send_task(TaskName.SEARCH_INDEX_PENDING, retry=retry)

    def coverage_fetch(self, coverage_id: int, *, retry: bool = True) -> None:
        self.app.send_task(TaskName.COVERAGE_FETCH, kwargs={"coverage_id": int(coverage_id)}, retry=retry)

    def follows_import(self, account_id: int, *, countdown: float = 0, retry: bool = True) -> None:
        self.app.send_task(TaskName.FOLLOWS_IMPORT, kwargs={"account_id": int(account_id)},
                           countdown=countdown or None, retry=retry)
