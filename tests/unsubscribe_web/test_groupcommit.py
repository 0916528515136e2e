"""The group committers on their own (the threaded one and the event loop's): requests
waiting together are written as one group, a lone request is not held back, and every
caller gets its own result or error."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from unsubscribe_web.groupcommit import CommitTimeout, GroupCommitter, LoopGroupCommitter

DEADLINE = 30.0


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


class Recorder:
    """A write that records its groups and, while ``hold`` is clear, blocks."""

    def __init__(self):
        self.groups: list[list[int]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()

    def __call__(self, items: list[int]) -> list[object]:
        self.groups.append(list(items))
        self.entered.set()
        assert self.hold.wait(DEADLINE)
        return [ValueError(f"bad {item}") if item < 0 else item * 10 for item in items]


def submit_in_thread(committer, item, results: dict) -> threading.Thread:
    def run():
        try:
            results[item] = committer.submit(item, timeout=DEADLINE)
        except Exception as error:  # the test inspects it
            results[item] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_requests_waiting_during_a_commit_are_written_as_one_group():
    write = Recorder()
    committer = GroupCommitter(write, linger=0)
    write.hold.clear()
    results: dict = {}
    threads = [submit_in_thread(committer, 1, results)]
    assert write.entered.wait(DEADLINE)  # the first group ([1]) is being written
    threads += [submit_in_thread(committer, item, results) for item in (2, 3, 4, 5, -6)]
    wait_for(lambda: len(committer._waiting) == 5, "five waiting requests")
    write.hold.set()
    for thread in threads:
        thread.join(DEADLINE)
    assert write.groups[0] == [1] and sorted(write.groups[1]) == [-6, 2, 3, 4, 5] and len(write.groups) == 2
    assert committer.groups == 2
    # Each caller gets its own result; the one failed item's caller alone gets its error.
    assert {k: v for k, v in results.items() if k > 0} == {1: 10, 2: 20, 3: 30, 4: 40, 5: 50}
    assert isinstance(results[-6], ValueError) and str(results[-6]) == "bad -6"


def test_a_group_that_fails_fails_every_caller_in_it():
    def write(items):
        raise ConnectionError("database gone")

    committer = GroupCommitter(write)
    for item in (1, 2):
        with pytest.raises(ConnectionError, match="database gone"):
            committer.submit(item, timeout=DEADLINE)


def test_a_lone_request_is_not_held_for_the_linger():
    write = Recorder()
    committer = GroupCommitter(write, linger=3600)  # nobody else is coming: no lingering at all
    assert committer.submit(7, timeout=DEADLINE) == 70
    assert write.groups == [[7]]


def test_the_committer_waits_for_an_expected_request():
    write = Recorder()
    committer = GroupCommitter(write, linger=3600)
    results: dict = {}
    with committer.expect():  # this request is on its way: the committer holds the group for it
        other = submit_in_thread(committer, 1, results)
        wait_for(lambda: len(committer._waiting) == 1, "the other request")
        assert write.groups == []
        assert committer.submit(2, timeout=DEADLINE) == 20
    other.join(DEADLINE)
    assert results == {1: 10} and [sorted(group) for group in write.groups] == [[1, 2]]


def test_an_expected_request_that_never_submits_releases_the_group():
    write = Recorder()
    committer = GroupCommitter(write, linger=3600)
    results: dict = {}
    with committer.expect():  # e.g. a broken link: it leaves without writing
        other = submit_in_thread(committer, 3, results)
        wait_for(lambda: len(committer._waiting) == 1, "the other request")
    other.join(DEADLINE)
    assert results == {3: 30}


def test_no_answer_within_the_deadline_is_a_commit_timeout():
    write = Recorder()
    write.hold.clear()
    committer = GroupCommitter(write)
    try:
        with pytest.raises(CommitTimeout):
            committer.submit(1, timeout=0.05)
    finally:
        write.hold.set()


def test_after_a_group_of_three_the_next_group_waits_for_three():
    write = Recorder()
    committer = GroupCommitter(write, linger=3600)
    write.hold.clear()
    results: dict = {}
    first = [submit_in_thread(committer, 1, results)]
    assert write.entered.wait(DEADLINE)
    first += [submit_in_thread(committer, item, results) for item in (2, 3, 4)]
    wait_for(lambda: len(committer._waiting) == 3, "three waiting requests")
    write.hold.set()
    for thread in first:
        thread.join(DEADLINE)
    assert [sorted(group) for group in write.groups] == [[1], [2, 3, 4]] and committer.last_size == 3
    # The requests answered together come back together: the committer holds the next
    # group (up to its linger) until as many are waiting as it wrote last time.
    second = [submit_in_thread(committer, item, results) for item in (5, 6)]
    wait_for(lambda: len(committer._waiting) == 2, "two waiting requests")
    assert len(write.groups) == 2
    second.append(submit_in_thread(committer, 7, results))
    for thread in second:
        thread.join(DEADLINE)
    assert sorted(write.groups[2]) == [5, 6, 7] and len(write.groups) == 3
    assert results == {1: 10, 2: 20, 3: 30, 4: 40, 5: 50, 6: 60, 7: 70}


def test_the_first_request_after_a_large_group_waits_at_most_the_linger():
    write = Recorder()
    committer = GroupCommitter(write, linger=0.05)
    committer.last_size = 5  # as after a group of five
    assert committer.submit(8, timeout=DEADLINE) == 80  # nobody else comes: written after the linger
    assert write.groups == [[8]] and committer.last_size == 1


# The event loop's committer (the asgi worker's): the same promises, with tasks for
# requests and a coroutine for the write.

class AsyncRecorder:
    """An async write that records its groups and, while ``hold`` is clear, waits."""

    def __init__(self):
        self.groups: list[list[int]] = []
        self.hold = asyncio.Event()
        self.hold.set()

    async def __call__(self, items: list[int]) -> list[object]:
        self.groups.append(list(items))
        await self.hold.wait()
        return [ValueError(f"bad {item}") if item < 0 else item * 10 for item in items]


async def submit_all(committer: LoopGroupCommitter, items) -> list[object]:
    """Submit ``items`` as concurrent tasks; each one's result, or its error."""
    return await asyncio.gather(*(committer.submit(item) for item in items), return_exceptions=True)


async def wait_async(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def test_on_the_loop_requests_ready_together_are_one_group():
    write = AsyncRecorder()
    committer = LoopGroupCommitter(write, deadline=DEADLINE)
    answers = asyncio.run(submit_all(committer, [1, 2, 3]))
    assert write.groups == [[1, 2, 3]] and answers == [10, 20, 30]


def test_on_the_loop_requests_arriving_during_a_write_are_the_next_group():
    write = AsyncRecorder()
    committer = LoopGroupCommitter(write, deadline=DEADLINE)

    async def scenario():
        write.hold.clear()
        first = asyncio.ensure_future(submit_all(committer, [1]))
        await wait_async(lambda: write.groups, "the first group's write")
        rest = asyncio.ensure_future(submit_all(committer, [2, 3, -4]))
        await wait_async(lambda: len(committer._waiting) == 3, "three waiting requests")
        assert len(write.groups) == 1  # one group at a time: the others wait for it
        write.hold.set()
        answers = await first, await rest
        await committer.close()
        return answers

    first, rest = asyncio.run(scenario())
    assert write.groups == [[1], [2, 3, -4]] and committer.groups == 2
    assert first == [10] and rest[:2] == [20, 30]
    assert isinstance(rest[2], ValueError) and str(rest[2]) == "bad -4"  # its own error only
    assert committer._writer is None  # the writer ends when nothing waits


def test_on_the_loop_a_group_that_fails_fails_every_caller_in_it():
    async def write(items):
        raise ConnectionError("database gone")

    committer = LoopGroupCommitter(write, deadline=DEADLINE)
    answers = asyncio.run(submit_all(committer, [1, 2, 3]))
    assert [type(answer) for answer in answers] == [ConnectionError] * 3


def test_on_the_loop_a_group_past_its_deadline_is_a_commit_timeout_and_the_next_group_follows():
    write = AsyncRecorder()
    committer = LoopGroupCommitter(write, deadline=0.05)

    async def scenario():
        write.hold.clear()
        late = await submit_all(committer, [1, 2])  # the write is held: no answer within 0.05 s
        write.hold.set()
        return late, await submit_all(committer, [3])

    late, after = asyncio.run(scenario())
    assert [type(answer) for answer in late] == [CommitTimeout, CommitTimeout]
    assert after == [30] and write.groups == [[1, 2], [3]]  # the held group was still written


def test_on_the_loop_close_waits_for_the_groups_queued():
    write = AsyncRecorder()
    committer = LoopGroupCommitter(write, deadline=DEADLINE)

    async def scenario():
        write.hold.clear()
        answers = asyncio.ensure_future(submit_all(committer, [1, 2]))
        await wait_async(lambda: write.groups, "the write")
        closing = asyncio.ensure_future(committer.close())
        await asyncio.sleep(0.01)
        assert not closing.done()  # the group is still being written
        write.hold.set()
        await closing
        return await answers

    assert asyncio.run(scenario()) == [10, 20]
