"""The Celery app lanyard's tasks run in, and the handles a worker process holds.

:class:`LanyardCelery` is a Celery app that carries the :class:`~digest.config.Settings`
it was built from and hands each worker process one :class:`WorkerContext` (engine,
Redis client, the digest pipeline, built on first use and again after a fork). A task
reaches it through the app it is bound to (``context(self)``), so two apps in one
process (tests, the CLI next to the admin) never share handles, and nothing lives in a
module global. This module imports nothing of the scheduler's app or tasks.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_shutdown

from digest.config import Settings
from digest.delivery.deliver import DeliveryLimits
from digest.http import HttpClient, http_config
from digest.nightly.pipeline import Pipeline
from digest.runs.runtime import schedule_get
from digest.search import SearchIndex, open_search
from digest.stores.db import make_engine
from digest.stores.keys import RedisKeys
from digest.stores.profile import profile_http
from digest.stores.redis_store import connect

from .enqueue import Enqueue
from .throttle import SendThrottle


class WorkerContext:
    """A worker process's engine, Redis client, and what tasks open on first use: the
    digest pipeline, the search index, the guarded HTTP client."""

    def __init__(self, settings: Settings, app: Celery):
        self.settings = settings
        self.pid = os.getpid()
        self.engine = make_engine(settings.database.primary)
        self.redis = connect(settings)
        self.enqueue = Enqueue(app)
        self.throttle = SendThrottle(
            self.redis, RedisKeys(settings.redis.prefix), lambda: schedule_get(self.engine).rate_limit
        )
        self._pipeline: Pipeline | None = None
        self._search: SearchIndex | None = None
        self._http: HttpClient | None = None

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            # Only chunk tasks need it: its templates and transport load on first use.
            self._pipeline = Pipeline(
                self.settings, engine=self.engine, redis=self.redis, limits=DeliveryLimits(throttle=self.throttle)
            )
        return self._pipeline

    @property
    def search(self) -> SearchIndex:
        if self._search is None:
            self._search = open_search(self.settings)
        return self._search

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            self._http = HttpClient(http_config(self.settings), observer=profile_http)  # requests join task profiles
        return self._http

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
        if self._http is not None:
            self._http.close()
        self.engine.dispose()
        self.redis.close()


class LanyardCelery(Celery):
    """A Celery app built from lanyard's settings, holding its worker context."""

    def __init__(self, settings: Settings):
        super().__init__("lanyard", set_as_current=False)
        self.settings = settings
        self._context: WorkerContext | None = None
        worker_process_shutdown.connect(self.close_context, weak=True)

    def worker_context(self) -> WorkerContext:
        """This process's context (prefork children each build their own)."""
        if self._context is None or self._context.pid != os.getpid():
            self._context = WorkerContext(self.settings, self)
        return self._context

    def close_context(self, **_: Any) -> None:
        if self._context is not None and self._context.pid == os.getpid():
            self._context.close()
        self._context = None


def context(task: Task) -> WorkerContext:
    """The worker context of the app a task runs in."""
    app = task.app
    if not isinstance(app, LanyardCelery):
        raise TypeError(f"task {task.name} runs in {app!r}, not an app made by scheduler.app.create_app")
    return app.worker_context()
