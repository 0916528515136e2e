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


# The event loop's committer (the asgi worker's): the same promises, with tasks for requests.

async def submit_all(committer: LoopGroupCommitter, items) -> list[object]:
    """Submit ``items`` as concurrent tasks; each one's result, or its error."""
    return await asyncio.gather(*(committer.submit(item) for item in items), return_exceptions=True)


async def wait_async(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def test_on_the_loop_requests_arriving_during_a_write_are_the_next_group():
    write = Recorder()
    committer = LoopGroupCommitter(write, deadline=DEADLINE)
    write.hold.clear()

    async def scenario():
        first = asyncio.ensure_future(submit_all(committer, [1]))
        await wait_async(write.entered.is_set, "the first group's write")
        rest = asyncio.ensure_future(submit_all(committer, [2, 3, -4]))
        await wait_async(lambda: len(committer._waiting) == 3, "three waiting requests")
        write.hold.set()
        return await first, await rest

    first, rest = asyncio.run(scenario())
    committer.close()
    assert write.groups == [[1], [2, 3, -4]] and committer.groups == 2
    assert first == [10] and rest[:2] == [20, 30]
    assert isinstance(rest[2], ValueError) and str(rest[2]) == "bad -4"  # its own error only


def test_on_the_loop_with_two_writers_a_second_group_is_written_while_the_first_waits():
    write = Recorder()
    committer = LoopGroupCommitter(write, deadline=DEADLINE, writers=2)
    write.hold.clear()

    async def scenario():
        first = asyncio.ensure_future(submit_all(committer, [1]))
        await wait_async(lambda: len(write.groups) == 1, "the first group's write")
        second = asyncio.ensure_future(submit_all(committer, [2, 3]))
        await wait_async(lambda: len(write.groups) == 2, "the second group's write, beside the first")
        third = asyncio.ensure_future(submit_all(committer, [4, -5]))
        await wait_async(lambda: len(committer._waiting) == 2, "two requests waiting for a writer")
        assert len(write.groups) == 2  # both writers busy: the third group waits
        write.hold.set()
        return await first, await second, await third

    first, second, third = asyncio.run(scenario())
    committer.close()
    assert write.groups == [[1], [2, 3], [4, -5]] and committer.most_in_flight == 2
    assert first == [10] and second == [20, 30] and third[0] == 40 and isinstance(third[1], ValueError)


def test_on_the_loop_a_group_that_fails_fails_every_caller_in_it():
    def write(items):
        raise ConnectionError("database gone")

    committer = LoopGroupCommitter(write, deadline=DEADLINE)
    answers = asyncio.run(submit_all(committer, [1, 2, 3]))
    committer.close()
    assert [type(answer) for answer in answers] == [ConnectionError] * 3


def test_on_the_loop_a_group_past_its_deadline_is_a_commit_timeout_and_the_next_group_follows():
    write = Recorder()
    committer = LoopGroupCommitter(write, deadline=0.05)
    write.hold.clear()

    async def scenario():
        late = await submit_all(committer, [1, 2])  # the write is held: no answer within 0.05 s
        write.hold.set()
        return late, await submit_all(committer, [3])

    late, after = asyncio.run(scenario())
    committer.close()
    assert [type(answer) for answer in late] == [CommitTimeout, CommitTimeout]
    assert after == [30] and write.groups == [[1, 2], [3]]  # the held group was still written
