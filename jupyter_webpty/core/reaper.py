"""Ending terminal sessions, many at once, without holding the event loop.

Closing a session signals every process of its terminal session (the shell is its leader), in
the ladder ``_spawn.LADDER``. Linux lists those processes only through a pass over /proc, and
the first version made one pass per closing session every 10 ms, on the event loop: closing N
sessions cost O(N^2) (1000 sessions: 35 s) and 100 closes at once held the loop for 1.8 s.

Here one ``Reaper`` per event loop answers, in one worker thread, every question asked while it
was busy: one pass over /proc serves all the sessions that start a ladder step at that moment.
While a step waits, only the pids it signalled are checked again (a read each), and the next
step's pass confirms that nothing was forked meanwhile. So a close costs two passes in the common
case, N closes at once cost a few passes in all, and the loop never reads /proc.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from . import _spawn

#: (session id, the pids to check again, or None for a pass over /proc) -> live members
_Question = tuple[int, tuple[int, ...] | None]

#: Closes woken per loop iteration (see Reaper._serve).
_SLICE = 10

_pool: ThreadPoolExecutor | None = None
_reapers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Reaper] = weakref.WeakKeyDictionary()


def _thread() -> ThreadPoolExecutor:
    # One thread: questions queue up while it works, and so share its next pass.
    global _pool  # noqa: PLW0603 - one per process, made on first use
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webpty-reaper")
    return _pool


def reaper() -> Reaper:
    """The running loop's reaper."""
    loop = asyncio.get_running_loop()
    found = _reapers.get(loop)
    if found is None:
        found = _reapers[loop] = Reaper(loop)
    return found


def _answer(questions: Sequence[_Question]) -> list[list[int]]:
    """Runs in the worker thread: at most one pass over /proc for all ``questions``."""
    full = {sid for sid, known in questions if known is None}
    table = _spawn.sessions_members(full) if full else {}
    return [
        table[sid] if known is None else _spawn.still_members(known, sid)
        for sid, known in questions
    ]


class Reaper:
    """Runs closing ladders for the sessions of one event loop, sharing the work between them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: list[tuple[_Question, asyncio.Future[list[int]]]] = []
        self._serving: asyncio.Task[None] | None = None

    async def members(self, sid: int, known: Sequence[int] | None = None) -> list[int]:
        """Live members of session ``sid``: all (a shared pass), or those of ``known`` only."""
        future: asyncio.Future[list[int]] = self._loop.create_future()
        self._waiting.append(((sid, None if known is None else tuple(known)), future))
        if self._serving is None:
            self._serving = self._loop.create_task(self._serve())
        return await future

    async def _serve(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                questions = [question for question, _ in batch]
                try:
                    answers = await self._loop.run_in_executor(_thread(), _answer, questions)
                except Exception as exc:  # noqa: BLE001 - each asker gets it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for index, ((_, future), answer) in enumerate(zip(batch, answers, strict=True)):
                    if index and index % _SLICE == 0:
                        # Each answer wakes a close that then runs on the loop (a reap, the
                        # final read, exit callbacks, the reply): hundreds woken at once made
                        # one burst of ~100 ms. A slice per loop iteration lets I/O in between.
                        await asyncio.sleep(0)
                    if not future.done():  # an asker may have been cancelled meanwhile
                        future.set_result(answer)
        finally:
            self._serving = None

    async def end_session(self, sid: int, grace: float, *, spare: int | None = None) -> None:
        """Signal every member of session ``sid`` but ``spare`` up the ladder until none is left.

        Each step waits up to ``grace`` seconds for the signalled processes to go. They are not
        our children (only the shell is), so no exit notification exists: poll, off the loop.
        """
        for sig, with_cont in _spawn.LADDER:
            members = [pid for pid in await self.members(sid) if pid != spare]
            if not members:
                return
            _spawn.climb(members, sig, with_cont)
            deadline = time.monotonic() + grace
            while members and time.monotonic() < deadline:
                await asyncio.sleep(_spawn.TICK)
                members = await self.members(sid, members)
