"""A session's process side: the shell, and the parts that run on its PTY while it lives.

``ShellProcess`` starts the shell (or takes one the PTY host kept, ``host.py``) through the
session's ``Spawner``, and makes the parts that need its descriptors:

* ``Reader`` (``reading.py``): reading the PTY on the loop or in a worker thread;
* ``InputQueue`` (``input_queue.py``): input written without blocking;
* ``Ending`` (``ending.py``): noticing the shell's exit, the closing ladder, the reap, or
  letting go of a shell the PTY host keeps.

It keeps no output and no state of the session: what is read leaves through ``on_read`` (the
session's ``Feed``, ``feed.py``), and the exit code through ``on_reaped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from . import _spawn
from .ending import Ending
from .input_queue import InputQueue
from .reading import ReadCallback, Reader
from .viewers import message_limit

if TYPE_CHECKING:
    from .session import Limits


class ShellProcess:
    """One session's shell on its PTY: started once, then sized, and closed or let go once."""

    # Slots, not a dict per instance: one of these per session (python -m bench.memory).
    __slots__ = (
        "_adopted",
        "_finished",
        "_kill_on_exit",
        "_limits",
        "_session_id",
        "child",
        "ending",
        "input",
        "reader",
        "spawner",
    )

    def __init__(
        self,
        spawner: _spawn.Spawner,
        limits: Limits,
        *,
        session_id: str,
        kill_on_exit: bool,
        adopted: _spawn.Child | None,
    ) -> None:
        #: Starts the shell and collects its exit: this process, or the PTY host (host.py).
        self.spawner = spawner
        self._limits = limits
        self._session_id = session_id
        self._kill_on_exit = kill_on_exit
        # A shell a PTY host kept through a server restart (start() then spawns nothing).
        self._adopted = adopted
        # Made by start(), with the child's fd.
        self.child: _spawn.Child | None = None
        self.reader: Reader | None = None
        self.input: InputQueue | None = None
        self.ending: Ending | None = None
        self._finished = False  # finish() ran: the descriptors are closed

    def start(
        self,
        launch: _spawn.Launch,
        *,
        on_read: ReadCallback,
        on_reaped: Callable[[int], Awaitable[None]],
    ) -> Reader:
        """Spawn the shell (raises ``SpawnError``) and make the parts on its PTY: the reader
        that passes its output to ``on_read``, and the ending that calls ``on_reaped(code)``
        once after it exited. Returns the reader; ``run`` sets them going."""
        loop = asyncio.get_running_loop()
        limits = self._limits
        child = self._adopted
        if child is None:
            env = _spawn.child_env(launch.env, launch.cols, launch.rows)
            child = self.spawner.spawn(self._session_id, dataclasses.replace(launch, env=env))
        self._adopted = None
        self.child = child
        limit = message_limit(limits.high_water)
        reader = Reader(child.fd, loop, on_read, limit=limit, label=self._session_id)
        self.reader = reader
        self.input = InputQueue(
            child.fd, loop, limit=limits.max_pending_input, label=self._session_id
        )
        self.ending = Ending(
            child, self.spawner, self._session_id, on_reaped=on_reaped,
            kill_grace=limits.kill_grace, kill_on_exit=self._kill_on_exit,
        )  # fmt: skip
        return reader

    def run(self) -> None:
        """Start reading the PTY and watching for the shell's exit (after ``start``)."""
        if self.reader is not None and self.ending is not None:
            self.reader.resume()
            self.ending.watch()

    @property
    def pid(self) -> int | None:
        """The shell's process id while it runs."""
        return self.child.pid if self.child else None

    @property
    def is_paused(self) -> bool:
        """True while nothing reads the PTY: flow control holds it, or the shell is gone."""
        return self.reader is None or self.reader.is_paused

    def foreground(self) -> tuple[str | None, str | None]:
        """The foreground command and the shell's working directory, read live."""
        if self.child is None:
            return None, None
        command = _spawn.foreground_command(self.child.fd)
        try:
            cwd: str | None = str(Path(f"/proc/{self.child.pid}/cwd").readlink())
        except OSError:
            cwd = None
        return command, cwd

    def set_size(self, cols: int, rows: int) -> None:
        """Give the terminal ``cols`` x ``rows`` (the shell gets a SIGWINCH)."""
        if self.child is not None:
            with contextlib.suppress(OSError):
                _spawn.set_size(self.child.fd, cols, rows)

    def repaint(self, cols: int, rows: int) -> None:
        """Make a full-screen program redraw: two size changes, two SIGWINCH."""
        if self.child is None:
            return
        with contextlib.suppress(OSError):
            _spawn.set_size(self.child.fd, cols, max(1, rows - 1))
            _spawn.set_size(self.child.fd, cols, rows)

    def eof(self) -> None:
        """The PTY reached its end (only heeded without a pidfd, ``Ending.eof``)."""
        if self.ending is not None:
            self.ending.eof()

    # -- the end (ending.py) -----------------------------------------------------------------
    async def finish(self, record: Callable[[bytes], None]) -> bool:
        """After the reap: stop reading for good, wait for a read in flight, hand what the shell
        wrote last and is still in the PTY to ``record``, and close the descriptors.

        Returns False, doing nothing more, if there is nothing to close: never started, let go,
        or finished already (by an earlier call).
        """
        if self.reader is not None:
            await self.reader.quiesce()
        if self.child is None or self.ending is None or self._finished:
            return False
        self._finished = True
        with contextlib.suppress(OSError):
            data, _ = _spawn.read_available(self.child.fd, self._limits.scrollback_bytes)
            if data:
                record(data)
        if self.reader is not None:
            self.reader.close()
        if self.input is not None:
            self.input.close()
        self.ending.close_fds()
        return True

    async def terminate(self) -> None:
        """End the shell and its terminal session (``Ending.terminate``), once it started."""
        if self.child is not None and self.ending is not None:
            await self.ending.terminate()

    async def release(self) -> bool:
        """Let go of a shell the PTY host keeps: stop reading, close our descriptors.

        Returns whether it was let go: not before it started, twice, or once it is ending.
        """
        ending = self.ending
        if self.child is None or ending is None or ending.is_finishing:
            return False
        if self.reader is not None:
            await self.reader.quiesce()
            self.reader.close()
        if self.input is not None:
            self.input.close()
        ending.release()
        self.child = None
        return True
