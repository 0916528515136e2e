"""The queue applier: a thread in each endpoint process that writes the changes the
endpoint queued in Redis to the database, right after they were queued.

States:

* **idle**: waiting for :meth:`QueueApplier.poke` (the endpoint pokes after each
  group it queues). No timers: an idle endpoint makes no calls.
* **gathering**: poked; waits ``gather`` seconds so that the changes queued meanwhile
  are applied in the same batches.
* **applying**: :func:`unsubscribe_replay` until it leaves the queue empty. Only one
  replay runs at a time across every process (a Redis lock), so under load one
  process's applier drains what all of them queue.
* **waiting to retry**: a pass left entries (another process's replay holds the lock,
  read-only mode is on, the database or Redis is away): sleep ``retry`` seconds,
  doubling up to ``max_retry``, and apply again, until the queue is empty. The
  scheduler's periodic replay (and ``lanyard unsubscribe replay``) still applies
  whatever is left when no endpoint runs.

Nothing here decides what a request is told: by the time the applier sees a change,
the endpoint has already answered, because the change was durable once queued.
"""

from __future__ import annotations

import logging
import threading

import redis as redis_lib
from sqlalchemy import Engine

from digest.unsubscribe_queue import unsubscribe_queue_length, unsubscribe_replay

from .process_thread import ProcessThread

log = logging.getLogger("lanyard.unsubscribe_web")

# How long after the first poke the applier waits before applying (see _run).
GATHER = 0.25


class QueueApplier:
    def __init__(
        self, engine: Engine, redis: redis_lib.Redis, *, prefix: str, gather: float = GATHER, retry: float = 0.02,
        max_retry: float = 1.0,
    ):
        self.engine = engine
        self.redis = redis
        self.prefix = prefix
        self.gather = gather
        self.retry = retry
        self.max_retry = max_retry
        self.passes = 0  # replays run so far (tests read it)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = ProcessThread(self._run, name="lanyard-unsubscribe-apply")

    def poke(self) -> None:
        """Changes were queued: apply them soon."""
        if not self._stopping.is_set():
            self._thread.ensure()
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the pass under way (its batch is committed or left queued)."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)

    def running(self) -> bool:
        return self._thread.running()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            # Let the changes of the next moments gather: a batch of hundreds costs a
            # third of the CPU per change of a batch of tens (one lock, one script,
            # one statement each), and the pokes of a busy endpoint come every group.
            self._stopping.wait(self.gather)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        delay = self.retry
        failing = False
        while not self._stopping.is_set():
            try:
                self.passes += 1
                unsubscribe_replay(self.engine, self.redis, prefix=self.prefix)
                left = unsubscribe_queue_length(self.redis, prefix=self.prefix)
            except Exception as error:  # the thread must outlive any store's failure
                if not failing:
                    log.warning("unsubscribe endpoint: cannot apply the queued changes yet (%s: %s); retrying",
                                type(error).__name__, str(error).strip().splitlines()[0] if str(error) else "")
                failing, left = True, 1
            else:
                if failing:
                    log.info("unsubscribe endpoint: applying the queued changes again")
                failing = False
            if not left:
                return
            self._stopping.wait(delay)
            delay = min(delay * 2, self.max_retry)
