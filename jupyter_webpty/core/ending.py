"""How a shell's session ends: its exit noticed, the closing ladder, the reap, or a release.

A session ends in one of three ways, and each runs once:

* the shell exits by itself: its pidfd becomes readable (or, on kernels without pidfd, the
  PTY reaches EOF), then the ladder ends what the shell left behind (unless ``kill_on_exit`` is
  off), sparing the shell itself, whose pid still names the terminal's session until it is
  reaped: no pid reuse;
* ``terminate``: the ladder for everything, the shell included, then the reap;
* ``release`` (a PTY host keeps the shell through a server restart): nothing is signalled,
  only our descriptors are closed.

The ladder itself (``_spawn.LADDER``) is climbed by ``reaper.py``, shared by all sessions of the
loop. What the session does with the exit code (the last read, closing its parts, telling its
listeners) is its own business: ``Ending`` calls ``on_reaped(code)`` once, and the session
closes the descriptors through ``close_fds`` when it no longer reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable

from . import _spawn
from .reaper import reaper


class Ending:
    """The end of one shell: noticed, forced or let go, and its exit code collected once."""

    def __init__(
        self,
        child: _spawn.Child,
        spawner: _spawn.Spawner,
        session_id: str,
        *,
        on_reaped: Callable[[int], Awaitable[None]],
        kill_grace: float = 1.0,
        kill_on_exit: bool = True,
    ) -> None:
        self.child = child
        self._spawner = spawner
        self._session_id = session_id
        self._on_reaped = on_reaped
        self._kill_grace = kill_grace
        self._kill_on_exit = kill_on_exit
        self._loop = asyncio.get_running_loop()
        # The one task that ends the session, however it started; every terminate awaits it.
        self._finishing: asyncio.Task[None] | None = None
        self._watching = False

    @property
    def is_finishing(self) -> bool:
        """Whether the session is ending (by itself or terminated)."""
        return self._finishing is not None

    def watch(self) -> None:
        """Notice the shell's exit through its pidfd (without one: ``eof`` tells)."""
        if self.child.pidfd is not None:
            self._loop.add_reader(self.child.pidfd, self._exited)
            self._watching = True

    def eof(self) -> None:
        """The PTY reached EOF: on kernels without pidfd, the shell is about to be reapable."""
        if self.child.pidfd is None and self._finishing is None:
            self._finishing = self._loop.create_task(self._finish())

    def _unwatch(self) -> None:
        if self._watching and self.child.pidfd is not None:
            self._loop.remove_reader(self.child.pidfd)
        self._watching = False

    def _exited(self) -> None:
        self._unwatch()
        if self._finishing is None:
            self._finishing = self._loop.create_task(self._finish())

    async def _finish(self) -> None:
        pid = self.child.pid
        if self._kill_on_exit:
            # Before reaping, while the shell's pid still names its session: no pid reuse.
            await self._climb(spare=pid)
        code = self._spawner.reap(self._session_id, pid)
        while code is None:  # only without pidfd: the shell closed the tty but lives on
            await asyncio.sleep(0.05)
            code = self._spawner.reap(self._session_id, pid)
        await self._on_reaped(code)

    async def terminate(self) -> None:
        """End the shell and everything in its terminal session; return once it is reaped.

        Safe to call again while it runs: every caller waits for the one end (and a shell that
        exited by itself meanwhile is finished the usual way, also once).
        """
        if self._finishing is None:
            self._unwatch()
            self._finishing = self._loop.create_task(self._end_session())
        # Shielded: a caller that gives up (a cancelled request) must not leave half a close.
        await asyncio.shield(self._finishing)

    async def _end_session(self) -> None:
        pid = self.child.pid
        await self._climb(spare=None)
        code = self._spawner.reap(self._session_id, pid)
        if code is None:  # cannot happen after SIGKILL; guard against a stuck D-state child
            _spawn.signal_members([pid], signal.SIGKILL)
            code = await asyncio.to_thread(self._spawner.wait, self._session_id, pid)
        await self._on_reaped(code)

    async def _climb(self, *, spare: int | None) -> None:
        # The shell is its session's leader: its pid is the session id. The ladder itself
        # (_spawn.LADDER, _spawn.climb) is the one end_sessions_blocking climbs at exit.
        await reaper().end_session(self.child.pid, self._kill_grace, spare=spare)

    def release(self) -> None:
        """Let the shell run on without us: stop watching its exit, close our descriptors.

        The caller checks ``is_finishing`` first: a session that is ending has nothing to let go.
        """
        self._unwatch()
        for fd in (self.child.fd, self.child.pidfd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def close_fds(self) -> None:
        """Close the PTY master and the pidfd, once the session no longer reads them."""
        self._unwatch()
        os.close(self.child.fd)
        if self.child.pidfd is not None:
            os.close(self.child.pidfd)
