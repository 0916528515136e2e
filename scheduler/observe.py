"""The workers' logs, errors and profiles.

Workers log as the site does (console lines or JSON, ``LANYARD_LOG_FORMAT``), task
failures with their traceback; with ``SENTRY_DSN`` set, failures go to Sentry too. A
sampled fraction of chunk tasks (live setting ``profile_task_sample_rate``) is profiled
like a request: its SQL, Redis and search calls, stored five minutes, linked from the
run's chunks in the admin.
"""

from __future__ import annotations

import logging
import random
from contextlib import AbstractContextManager

from celery.signals import setup_logging, task_postrun, task_prerun

from digest.config import Settings
from digest.ops.logs import configure_logging, init_sentry
from digest.ops.snapshot import ops_snapshot
from digest.stores.keys import RedisKeys
from digest.stores.profile import (
    PROFILE_SECONDS,
    Recorder,
    install_sqlalchemy_hooks,
    profile_save,
    recording,
)
from digest.vocabulary import TaskName

from .context import context

log = logging.getLogger("lanyard.scheduler")

# task id -> (recorder, its context manager)
_recording: dict[str, tuple[Recorder, AbstractContextManager[Recorder]]] = {}


def worker_observability(settings: Settings, *, service: str) -> None:
    """Call once in a worker or beat process, before Celery starts."""

    @setup_logging.connect(weak=False)
    def _logging(**_):  # connected, Celery leaves the logging set up here alone
        configure_logging(settings, service=service)

    configure_logging(settings, service=service)
    if settings.log.sentry_dsn:
        from sentry_sdk.integrations.celery import CeleryIntegration  # noqa: PLC0415 -- loaded only with a DSN

        init_sentry(settings, service=service, integrations=[CeleryIntegration()])
    install_sqlalchemy_hooks()


@task_prerun.connect
def _start_profile(task_id=None, task=None, kwargs=None, **_):
    if task is None or not task.name.startswith("lanyard."):
        return
    ctx = context(task)
    rate = ops_snapshot(ctx.redis, ctx.engine, prefix=ctx.settings.redis.prefix).settings.get(
        "profile_task_sample_rate", 0
    )
    if not rate or random.random() >= rate:
        return
    recorder = Recorder(name=f"task {task.name} {kwargs or ''}"[:500], kind="task")
    manager = recording(recorder)
    manager.__enter__()
    _recording[task_id] = (recorder, manager)


@task_postrun.connect
def _store_profile(task_id=None, task=None, kwargs=None, state=None, **_):
    found = _recording.pop(task_id, None)
    if found is None:
        return
    recorder, manager = found
    manager.__exit__(None, None, None)
    ctx = context(task)
    try:
        profile_save(ctx.redis, prefix=ctx.settings.redis.prefix, profile=recorder.finish(state=state))
        if task.name == TaskName.PROCESS_CHUNK:  # linked from the run's chunks in the admin
            ctx.redis.set(
                RedisKeys(ctx.settings.redis.prefix).chunk_profile(int(kwargs["chunk_id"])),
                recorder.id,
                ex=PROFILE_SECONDS,
            )
    except Exception as error:  # a profile that cannot be stored must never fail the task
        log.warning("chunk profile %s not stored: %s", recorder.id, error)
