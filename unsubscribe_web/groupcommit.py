"""Group commit: the writes of concurrent requests in one worker process, gathered by
one committer thread and committed together.

Every one-click unsubscribe must be committed before its answer says so, and a commit
is the dear part (a round trip, a WAL flush). Under load, many requests of one
gunicorn worker wait at the same moment: the committer takes all of them (up to
``max_items``) and hands them to ``write`` as one list, so they share one transaction.
Each request waits on its own future, with a deadline, and gets its own result or
error; a request never hears "done" for a write that failed.

The committer lingers (up to ``linger`` seconds) only while requests it has been told
about (:meth:`GroupCommitter.expect`) are still on their way to :meth:`submit`; with
none coming, a lone request is committed at once, adding no latency.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class CommitTimeout(RuntimeError):
    """The committer did not answer in time: the write may or may not have happened."""


class GroupCommitter(Generic[Item, Result]):
    """``write(items)`` returns one result per item, in order; a result that is an
    exception is raised to that item's caller only. When ``write`` raises, every
    caller of the group gets the error."""

    def __init__(
        self, write: Callable[[list[Item]], list[Any]], *, max_items: int = 64, linger: float = 0.002,
    ):
        self.write = write
        self.max_items = max_items
        self.linger = linger
        self.groups = 0  # groups written so far (tests and benchmarks read it)
        self._waiting: deque[tuple[Item, Future]] = deque()
        self._coming = 0  # callers inside expect() that have not submitted yet
        self._condition = threading.Condition()
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @contextmanager
    def expect(self) -> Iterator[None]:
        """Around a request that will probably :meth:`submit`: while it is on its way,
        the committer waits for it (up to ``linger``) rather than commit without it."""
        with self._condition:
            self._coming += 1
        self._local.expected = True
        try:
            yield
        finally:
            if getattr(self._local, "expected", False):
                self._local.expected = False
                with self._condition:
                    self._coming -= 1
                    self._condition.notify()

    def submit(self, item: Item, *, timeout: float) -> Result:
        """Write ``item`` with the next group and return its result; :class:`CommitTimeout`
        after ``timeout`` seconds."""
        future: Future = Future()
        self._start()
        with self._condition:
            if getattr(self._local, "expected", False):
                self._local.expected = False
                self._coming -= 1
            self._waiting.append((item, future))
            self._condition.notify()
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise CommitTimeout(f"no commit within {timeout:g} s") from None

    def _start(self) -> None:
        # A forked worker inherits the object but not the thread: start one per process
        # (and again should it ever have died).
        if self._running():
            return
        with self._condition:
            if not self._running():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="lanyard-group-commit", daemon=True)
                self._thread.start()

    def _running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            self._commit(self._gather())

    def _gather(self) -> list[tuple[Item, Future]]:
        with self._condition:
            while not self._waiting:
                self._condition.wait()
            deadline = time.monotonic() + self.linger
            while len(self._waiting) < self.max_items and self._coming > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._condition.wait(left)
            count = min(len(self._waiting), self.max_items)
            return [self._waiting.popleft() for _ in range(count)]

    def _commit(self, group: list[tuple[Item, Future]]) -> None:
        self.groups += 1
        try:
            results = self.write([item for item, _ in group])
            if len(results) != len(group):
                raise RuntimeError(f"group commit: {len(results)} results for {len(group)} items")
        except Exception as error:  # every waiting request must hear of it
            for _, future in group:
                future.set_exception(error)
            return
        for (_, future), result in zip(group, results, strict=True):
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
