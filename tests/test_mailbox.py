"""The Mailbox (jupyter_webpty/mailbox.py) behaves as asyncio.Queue does for what Engine.IO and
the socket handler use, and holds no storage while empty."""

from __future__ import annotations

import asyncio
import random
import sys
from typing import Any

import pytest

from jupyter_webpty.mailbox import Mailbox

from .conftest import wait_until


def _unfinished(queue: Any) -> int:
    return queue.unfinished if isinstance(queue, Mailbox) else queue._unfinished_tasks


@pytest.mark.parametrize("seed", range(20))
async def test_same_as_asyncio_queue_under_random_operations(seed: int) -> None:
    rng = random.Random(seed)
    maxsize = rng.choice([0, 1, 3])
    queues: list[Any] = [asyncio.Queue(maxsize), Mailbox(maxsize)]
    taken: list[list[int]] = [[], []]
    handled = [0, 0]
    for step in range(300):
        operation = rng.choice(["put", "get", "done", "size"])
        outcomes = []
        for index, queue in enumerate(queues):
            if operation == "put":
                try:
                    queue.put_nowait(step)
                    outcomes.append("ok")
                except asyncio.QueueFull:
                    outcomes.append("full")
            elif operation == "get":
                try:
                    taken[index].append(queue.get_nowait())
                    outcomes.append("ok")
                except asyncio.QueueEmpty:
                    outcomes.append("empty")
            elif operation == "done":
                if handled[index] < len(taken[index]):
                    queue.task_done()
                    handled[index] += 1
                outcomes.append(_unfinished(queue))
            else:
                outcomes.append((queue.qsize(), queue.empty(), queue.full()))
        assert outcomes[0] == outcomes[1], (step, operation)
    assert taken[0] == taken[1]


async def test_waiting_getters_are_served_in_order_and_a_cancelled_one_is_skipped() -> None:
    mailbox: Mailbox[str] = Mailbox()
    first, cancelled, last = mailbox.get(), mailbox.get(), mailbox.get()
    cancelled.cancel()
    mailbox.put_nowait("a")
    mailbox.put_nowait("b")
    assert await first == "a"
    assert await last == "b"
    assert mailbox.qsize() == 0


async def test_a_timed_out_get_takes_nothing() -> None:
    mailbox: Mailbox[str] = Mailbox()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(mailbox.get(), 0.01)
    mailbox.put_nowait("kept")
    assert await asyncio.wait_for(mailbox.get(), 1) == "kept"


async def test_put_waits_while_full() -> None:
    mailbox: Mailbox[int] = Mailbox(1)
    await mailbox.put(1)
    second = asyncio.ensure_future(mailbox.put(2))
    await asyncio.sleep(0)  # one loop turn: the put is parked, not done
    assert not second.done()
    assert await mailbox.get() == 1
    await asyncio.wait_for(second, 1)
    assert mailbox.get_nowait() == 2


async def test_a_cancelled_put_lets_the_next_one_in() -> None:
    mailbox: Mailbox[int] = Mailbox(1)
    mailbox.put_nowait(0)
    cancelled = asyncio.ensure_future(mailbox.put(1))
    waiting = asyncio.ensure_future(mailbox.put(2))
    await asyncio.sleep(0)
    cancelled.cancel()
    assert mailbox.get_nowait() == 0
    await asyncio.wait_for(waiting, 1)
    assert mailbox.get_nowait() == 2
    assert cancelled.cancelled()


async def test_join_waits_for_task_done() -> None:
    mailbox: Mailbox[int] = Mailbox()
    await asyncio.wait_for(mailbox.join(), 1)  # nothing put: returns at once
    mailbox.put_nowait(1)
    joined = asyncio.ensure_future(mailbox.join())
    mailbox.get_nowait()
    await asyncio.sleep(0)
    assert not joined.done()
    mailbox.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError, match="too many"):
        mailbox.task_done()


async def test_an_idle_mailbox_with_a_waiting_getter_is_small() -> None:
    mailbox: Mailbox[int] = Mailbox()
    waiter = mailbox.get()
    # The object and one waiter list; an asyncio.Queue holds four deques of ~760 bytes each.
    size = sys.getsizeof(mailbox) + sys.getsizeof(mailbox._getters)
    assert size < 200
    assert sys.getsizeof(asyncio.Queue()._getters) > 500  # what it saves, on this Python
    mailbox.put_nowait(1)
    assert await waiter == 1
    assert mailbox._items is None
    assert mailbox._getters is None


async def test_an_attached_sink_gets_what_waited_then_each_item_as_it_is_put() -> None:
    mailbox: Mailbox[int] = Mailbox(2)
    mailbox.put_nowait(1)
    mailbox.put_nowait(2)
    blocked = asyncio.ensure_future(mailbox.put(3))  # waits: the mailbox is full
    await wait_until(lambda: bool(mailbox._putters), what="a waiting put")
    seen: list[int] = []
    mailbox.attach(seen.append)
    assert seen == [1, 2]
    assert mailbox.unfinished == 0
    assert mailbox.empty()
    await asyncio.wait_for(blocked, 5)  # space now: the waiting put went to the sink
    mailbox.put_nowait(4)
    assert seen == [1, 2, 3, 4]
    assert mailbox.unfinished == 0
    await asyncio.wait_for(mailbox.join(), 5)  # nothing unfinished: returns at once
