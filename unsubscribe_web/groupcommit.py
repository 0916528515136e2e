"""Group commit: the writes of concurrent requests in one worker process, gathered by
one committer thread and committed together.

Every one-click unsubscribe must be committed before its answer says so, and a commit
is the dear part (a round trip, a WAL flush, and the statement's own work on both
sides). Under load, many requests of one gunicorn worker wait at the same moment: the
committer takes all of them (up to ``max_items``) and hands them to ``write`` as one
list, so they share one transaction. Each request waits on its own slot, with a
deadline, and gets its own result or error; a request never hears "done" for a write
that failed.

The committer lingers (up to ``linger`` seconds) while requests it has been told about
(:meth:`GroupCommitter.expect`) are still on their way to :meth:`submit`, and while the
group is smaller than the previous one: under steady load the requests answered
together come back together (a mail provider's connections, a burst of clicks), and
without waiting for them each group would be split in ones and twos that each pay for a
whole commit. A lone request after a lone request is committed at once, adding no
latency; the first request after a larger group waits at most ``linger``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class CommitTimeout(RuntimeError):
    """The committer did not answer in time: the write may or may not have happened."""


class _Slot:
    """One waiting request: a lock held until the committer has its answer (a bare lock
    is CPython's cheapest hand-over between threads; a Future costs several)."""

    __slots__ = ("item", "result", "error", "done")

    def __init__(self, item: Any):
        self.item = item
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Lock()
        self.done.acquire()


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
        self.last_size = 0  # the size of the last group: how many the next one waits for
        self._waiting: deque[_Slot] = deque()
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
        slot = _Slot(item)
        self._start()
        with self._condition:
            if getattr(self._local, "expected", False):
                self._local.expected = False
                self._coming -= 1
            self._waiting.append(slot)
            self._condition.notify()
        if not slot.done.acquire(timeout=timeout):
            raise CommitTimeout(f"no commit within {timeout:g} s")
        if slot.error is not None:
            raise slot.error
        return slot.result

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

    def _gather(self) -> list[_Slot]:
        with self._condition:
            while not self._waiting:
                self._condition.wait()
            deadline = time.monotonic() + self.linger
            wanted = min(self.last_size, self.max_items)
            while len(self._waiting) < self.max_items and (self._coming > 0 or len(self._waiting) < wanted):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._condition.wait(left)
            count = min(len(self._waiting), self.max_items)
            return [self._waiting.popleft() for _ in range(count)]

    def _commit(self, group: list[_Slot]) -> None:
        self.groups += 1
        self.last_size = len(group)
        try:
            results = self.write([slot.item for slot in group])
            if len(results) != len(group):
                raise RuntimeError(f"group commit: {len(results)} results for {len(group)} items")
        except Exception as error:  # every waiting request must hear of it
            results = [error] * len(group)
        for slot, result in zip(group, results, strict=True):
            if isinstance(result, BaseException):
                slot.error = result
            else:
                slot.result = result
            slot.done.release()
