"""A first-in first-out queue for one connection that costs next to nothing while it is empty.

Each Socket.IO connection has two queues on the server: Engine.IO's queue of packets waiting
for its writer task (made by ``AsyncServer.create_queue``) and the socket handler's queue of
frames waiting for Engine.IO's reader (``sockethandler.py``). As ``asyncio.Queue`` objects they
cost about 3 KB each on an idle connection (four deques, an Event, the instance dicts:
``python -m bench.memory``), a tenth of a connection's memory. A ``Mailbox`` allocates its
storage only while it holds something, and ``get()`` hands out a plain Future: with
``asyncio.wait_for(queue.get(), ...)``, as Engine.IO's writer waits, no Task and no coroutine
frame stay alive for an idle connection.

It offers the part of ``asyncio.Queue``'s interface those callers use: ``put``,
``put_nowait``, ``get``, ``get_nowait``, ``task_done``, ``join``, ``qsize``, ``empty``,
``full`` and ``maxsize``, with the same meaning (``tests/test_mailbox.py`` runs both side by
side). One loop only, like asyncio's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """An ``asyncio.Queue`` work-alike whose storage exists only while it is in use.

    ``maxsize`` <= 0 means unbounded. ``unfinished`` counts items put and not yet marked done
    with ``task_done()`` (``asyncio.Queue`` keeps it in a private attribute).
    """

    __slots__ = ("_getters", "_items", "_joiners", "_putters", "_sink", "maxsize", "unfinished")

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self.unfinished = 0
        # Each is None while empty: an empty deque costs ~760 bytes, a None nothing. Waiters
        # are lists: there is rarely more than one (Engine.IO's writer, or tornado's reader).
        self._items: deque[T] | None = None
        self._getters: list[asyncio.Future[T]] | None = None
        self._putters: list[asyncio.Future[None]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._sink: Callable[[T], None] | None = None

    def attach(self, sink: Callable[[T], None]) -> None:
        """From now on hand every item to ``sink`` as it is put, instead of keeping it.

        What waits is handed over first, in order. Nothing is ever unfinished after that, so
        ``join()`` returns at once: the sink has handled each item when ``put`` returns. For a
        consumer that needs no task of its own (``fastpath.DirectWebSocket``).
        """
        items, self._items = self._items, None
        self._sink = sink
        for item in items or ():
            self.unfinished -= 1
            sink(item)
        while self._putters:  # nothing is full any more
            self._wake_putter()

    def qsize(self) -> int:
        """Number of items waiting."""
        return len(self._items) if self._items is not None else 0

    def empty(self) -> bool:
        """True when no item waits."""
        return not self._items

    def full(self) -> bool:
        """True when ``maxsize`` items wait (never for an unbounded mailbox)."""
        return 0 < self.maxsize <= self.qsize()

    def put_nowait(self, item: T) -> None:
        """Add ``item`` (hand it to a waiting getter, if any); raise QueueFull when full."""
        if self._sink is not None:
            self._sink(item)
            return
        if self.full():
            raise asyncio.QueueFull
        self.unfinished += 1
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():  # a getter whose wait_for timed out is cancelled: skip it
                if not getters:
                    self._getters = None
                getter.set_result(item)
                return
        self._getters = None
        if self._items is None:
            self._items = deque()
        self._items.append(item)

    async def put(self, item: T) -> None:
        """Add ``item``, waiting while the mailbox is full."""
        while self.full():
            putter = asyncio.get_running_loop().create_future()
            if self._putters is None:
                self._putters = []
            self._putters.append(putter)
            try:
                await putter
            except BaseException:
                putter.cancel()
                self._wake_putter()  # another putter may go instead of this one
                raise
        self.put_nowait(item)

    def get_nowait(self) -> T:
        """Take the first item; raise QueueEmpty when none waits."""
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None
        self._wake_putter()
        return item

    def get(self) -> asyncio.Future[T]:
        """A Future of the first item: done already when one waits, else when one is put.

        Awaiting it is what ``await queue.get()`` does with an ``asyncio.Queue``; cancelling it
        (a timeout) takes nothing out of the mailbox.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._items:
            future.set_result(self.get_nowait())
            return future
        if self._getters is None:
            self._getters = []
        self._getters.append(future)
        return future

    def task_done(self) -> None:
        """Mark one item taken as handled; ``join()`` returns when none is left unhandled."""
        if self.unfinished <= 0:
            msg = "task_done() called too many times"
            raise ValueError(msg)
        self.unfinished -= 1
        if self.unfinished == 0 and self._joiners is not None:
            for joiner in self._joiners:
                if not joiner.done():
                    joiner.set_result(None)
            self._joiners = None

    async def join(self) -> None:
        """Wait until every item put has been marked done."""
        if self.unfinished == 0:
            return
        joiner = asyncio.get_running_loop().create_future()
        if self._joiners is None:
            self._joiners = []
        self._joiners.append(joiner)
        await joiner

    def _wake_putter(self) -> None:
        putters = self._putters
        while putters:
            putter = putters.pop(0)
            if not putter.done():
                putter.set_result(None)
                break
        if not putters:
            self._putters = None
