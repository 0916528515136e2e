"""Group commit: the writes of concurrent requests in one worker process, gathered by
one committer thread and committed together.

Every one-click unsubscribe must be durable before its answer says so (queued in Redis,
app.py), and each write is a round trip with a little work on both sides. Under load,
many requests of one gunicorn worker wait at the same moment: the committer takes all
of them (up to ``max_items``) and hands them to ``write`` as one list, so they share
one write (one script call). Each request waits on its own slot, with a
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

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from .process_thread import ProcessThread

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
        self._wanted = 0  # how many the group being gathered waits for (besides those coming)
        self._condition = threading.Condition()
        self._local = threading.local()
        self._thread = ProcessThread(self._run, name="lanyard-group-commit")

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
                    self._wake_if_ready()

    def submit(self, item: Item, *, timeout: float) -> Result:
        """Write ``item`` with the next group and return its result; :class:`CommitTimeout`
        after ``timeout`` seconds."""
        slot = _Slot(item)
        self._thread.ensure()
        with self._condition:
            if getattr(self._local, "expected", False):
                self._local.expected = False
                self._coming -= 1
            self._waiting.append(slot)
            self._wake_if_ready()
        if not slot.done.acquire(timeout=timeout):
            raise CommitTimeout(f"no commit within {timeout:g} s")
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _wake_if_ready(self) -> None:
        """Wake the committer only when its wait can end (the first request of a group, or
        the group now complete): each needless wake is a thread switch, and under load the
        switches cost more CPU than the requests' own work."""
        if len(self._waiting) == 1 or self._ready():
            self._condition.notify()

    def _ready(self) -> bool:
        """Whether the group waiting now need not linger for more."""
        waiting = len(self._waiting)
        return waiting >= self.max_items or (self._coming <= 0 and waiting >= self._wanted)

    def _run(self) -> None:
        while True:
            self._commit(self._gather())

    def _gather(self) -> list[_Slot]:
        with self._condition:
            while not self._waiting:
                self._condition.wait()
            deadline = time.monotonic() + self.linger
            self._wanted = min(self.last_size, self.max_items)
            while not self._ready():
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


class LoopGroupCommitter(Generic[Item, Result]):
    """Group commit for an asyncio server (the ``asgi`` worker): the requests are tasks of
    one event loop, and ``write`` is a coroutine run on that loop too.

    No linger and no thread: a request's task queues its item and awaits a future. When
    no group is being written, a writer task starts and, after the requests ready in
    this turn of the loop have queued theirs, writes every item queued as one group;
    the requests that arrive while a group is written queue for the next, so the groups
    grow with the load by themselves, and the writer ends when nothing waits. A group
    not written within ``deadline`` seconds fails its requests with
    :class:`CommitTimeout` (its write may still commit: a replay of it writes nothing);
    the next group waits for that write to end (``write`` must bound its own waits).
    """

    def __init__(
        self, write: Callable[[list[Item]], Awaitable[list[Any]]], *, deadline: float, max_items: int = 64,
    ):
        self.write = write
        self.deadline = deadline
        self.max_items = max_items
        self.groups = 0  # groups written so far (tests and benchmarks read it)
        self.last_size = 0
        self._waiting: list[tuple[Item, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    async def submit(self, item: Item) -> Result:
        """Write ``item`` with the next group and return its result (or raise its error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = loop.create_task(self._write_waiting())
        return await future

    async def close(self) -> None:
        """Wait for the groups queued so far to be written."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write_waiting(self) -> None:
        try:
            await asyncio.sleep(0)  # the requests ready in this turn join the first group
            while self._waiting:
                group = self._waiting[:self.max_items]
                del self._waiting[:self.max_items]
                self.groups += 1
                self.last_size = len(group)
                await self._write_group(group)
        finally:
            self._writer = None

    async def _write_group(self, group: list[tuple[Item, asyncio.Future]]) -> None:
        late = CommitTimeout(f"no commit within {self.deadline:g} s")
        timer = asyncio.get_running_loop().call_later(self.deadline, _settle_all, group, late)
        try:
            results = await self.write([item for item, _ in group])
            if len(results) != len(group):
                raise RuntimeError(f"group commit: {len(results)} results for {len(group)} items")
        except Exception as error:  # every waiting request must hear of it
            results = [error] * len(group)
        except asyncio.CancelledError:  # the worker stopping
            _settle_all(group, late)
            raise
        finally:
            timer.cancel()
        for (_, future), result in zip(group, results, strict=True):
            _settle(future, result)


def _settle(future: asyncio.Future, result: Any) -> None:
    if future.done():  # timed out, or its request went away
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _settle_all(group: list[tuple[Any, asyncio.Future]], error: BaseException) -> None:
    for _, future in group:
        _settle(future, error)
