"""One shell on a pseudo-terminal: its lifecycle, and the parts it is made of.

``PtySession`` starts the child and wires the parts, each with a job of its own:

* ``Output`` (``output.py``): retained output, screen restore points, the command log;
* ``Viewers`` (``viewers.py``): delivery to each attached client with flow control, and which
  client drives the size;
* ``InputQueue`` (``input_queue.py``): input written without blocking;
* ``Reader`` (``reading.py``): reading the PTY on the loop or in a worker thread;
* ``Ending`` (``ending.py``): noticing the shell's exit, the closing ladder, the reap, or
  letting go of a shell the PTY host keeps.

The session wires them: a read is recorded, delivered, and reading pauses while no viewer can
take more. Who forks the shell and reaps it is the ``Spawner``'s business: this process, or the
PTY host (``host.py``), which hands over the terminal; everything else runs here either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import _spawn
from .ending import Ending
from .errors import SessionClosed
from .heap import TRIMMER
from .input_queue import InputQueue
from .marks import MAX_COMMANDS, CommandCallback, CommandRecord
from .output import Output
from .reading import Reader
from .viewers import Attached, OutputSink, ResetSink, Viewers, message_limit

log = logging.getLogger(__name__)

__all__ = ["Attached", "Limits", "OutputSink", "PtySession", "ResetSink", "SessionState"]


class SessionState(enum.Enum):
    """Lifecycle of a session."""

    STARTING = "starting"
    RUNNING = "running"
    EXITED = "exited"


@dataclass(frozen=True)
class Limits:
    """Per-session resource bounds, plain numbers from the app's config."""

    scrollback_bytes: int = 4 * 1024 * 1024
    high_water: int = 256 * 1024
    low_water: int = 64 * 1024
    max_pending_input: int = 16 * 1024 * 1024
    kill_grace: float = 1.0


class PtySession:
    """One child process attached to a pseudo-terminal, with its retained output."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        owner: str,
        name: str,
        cwd: str,
        env: Mapping[str, str],
        cols: int,
        rows: int,
        limits: Limits | None = None,
        kill_on_exit: bool = True,
        integrated: bool = False,
        max_commands: int = MAX_COMMANDS,
        session_id: str | None = None,
        restored: tuple[int, bytes] | None = None,
        spawner: _spawn.Spawner | None = None,
        adopted: _spawn.Child | None = None,
    ) -> None:
        # 128 bits: unguessable. A revived session keeps its id (core/revive.py).
        self.id = session_id or secrets.token_urlsafe(16)
        self.owner = owner
        self.name = name
        self.argv = list(argv)
        self.cols = cols
        self.rows = rows
        self.created_at = time.time()
        self.last_activity = self.created_at
        self.state = SessionState.STARTING
        self.exit_code: int | None = None
        #: Whether the shell was started with our init files (marks are read in any case).
        self.integrated = integrated
        self._cwd = cwd
        self._env = env
        self._limits = limits or Limits()
        self._kill_on_exit = kill_on_exit
        self._output = Output(
            self._limits.scrollback_bytes, max_commands=max_commands, label=self.id
        )
        if restored is not None:
            self._output.preload(*restored, commands=adopted is not None)
        self._viewers = Viewers(
            self._output,
            high_water=self._limits.high_water,
            low_water=self._limits.low_water,
            resize=self._set_size,
            repaint=self.repaint,
        )
        #: Starts the shell and collects its exit: this process, or the PTY host (host.py).
        self._spawner = spawner or _spawn.LOCAL
        # A shell a PTY host kept through a server restart (start() then spawns nothing).
        self._adopted = adopted
        # Made by start(), with the child's fd.
        self._child: _spawn.Child | None = None
        self._reader: Reader | None = None
        self._input: InputQueue | None = None
        self._ending: Ending | None = None
        self._on_exit: list[Callable[[PtySession], None]] = []
        self._on_activity: Callable[[], None] | None = None
        self._on_retained: Callable[[int], None] | None = None
        self._on_record: Callable[[bytes, int], None] | None = None
        self._on_trim: Callable[[], None] | None = None
        self._on_size: Callable[[], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Spawn the child and start reading its output (raises ``SpawnError``)."""
        loop = asyncio.get_running_loop()
        child = self._adopted
        if child is None:
            env = _spawn.child_env(self._env, self.cols, self.rows)
            child = self._spawner.spawn(
                self.id, self.argv, cwd=self._cwd, env=env, cols=self.cols, rows=self.rows,
                meta={"owner": self.owner, "name": self.name, "created_at": self.created_at},
            )  # fmt: skip
        self._adopted = None
        self._child = child
        limit = message_limit(self._limits.high_water)
        self._reader = Reader(child.fd, loop, self._on_read, limit=limit, label=self.id)
        self._input = InputQueue(
            child.fd, loop, limit=self._limits.max_pending_input, label=self.id
        )
        self._ending = Ending(
            child, self._spawner, self.id, on_reaped=self._close,
            kill_grace=self._limits.kill_grace, kill_on_exit=self._kill_on_exit,
        )  # fmt: skip
        self.state = SessionState.RUNNING
        self._reader.resume()
        self._ending.watch()

    def on_exit(self, callback: Callable[[PtySession], None]) -> None:
        """Call ``callback(session)`` once after the shell exited and the session closed."""
        self._on_exit.append(callback)

    def on_retained(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(change)`` when the retained output grows or shrinks by reading."""
        self._on_retained = callback

    def on_record(self, callback: Callable[[bytes, int], None]) -> None:
        """Call ``callback(data, end)`` with each piece of output recorded (the revival store)."""
        self._on_record = callback

    def on_trim(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` before the budget trims retained output (``trim_retained``)."""
        self._on_trim = callback

    def on_size(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after the terminal's size changed."""
        self._on_size = callback

    def note(self, data: bytes) -> None:
        """Record ``data`` as if the terminal had printed it (the "restored" line of a revival)."""
        self._record(data)

    def on_activity(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` on input and output (the manager throttles it)."""
        self._on_activity = callback

    def on_command(self, callback: CommandCallback) -> None:
        """Call ``callback(record, finished)`` when a command starts or finishes (marks.py)."""
        self._output.on_command(callback)

    @property
    def initial_cwd(self) -> str:
        """The directory the shell started in."""
        return self._cwd

    @property
    def pid(self) -> int | None:
        """The shell's process id while it runs."""
        return self._child.pid if self._child else None

    @property
    def is_alive(self) -> bool:
        """Whether the session still runs."""
        return self.state is SessionState.RUNNING

    @property
    def paused(self) -> bool:
        """True while nothing reads the PTY: flow control holds it, or the shell is gone."""
        return self._reader is None or self._reader.is_paused

    def foreground(self) -> tuple[str | None, str | None]:
        """The foreground command and the shell's working directory, read live."""
        if self._child is None or not self.is_alive:
            return None, None
        command = _spawn.foreground_command(self._child.fd)
        try:
            cwd: str | None = str(Path(f"/proc/{self._child.pid}/cwd").readlink())
        except OSError:
            cwd = None
        return command, cwd

    # -- output (output.py) ------------------------------------------------------------------
    @property
    def spawner(self) -> _spawn.Spawner:
        """Who started the shell and collects its exit (this process, or the PTY host)."""
        return self._spawner

    @property
    def end(self) -> int:
        """Stream offset after the last byte of output read so far."""
        return self._output.end

    @property
    def retained_bytes(self) -> int:
        """Output kept for resume and screen restore, in bytes."""
        return len(self._output)

    def trim_retained(self, keep: int) -> int:
        """Drop the oldest retained output down to about ``keep`` bytes; return bytes freed.

        The server-wide budget (``SessionManager``) calls it; a viewer that had not been sent
        the dropped bytes resyncs through a screen restore, as after scrollback overflow.
        """
        if self._on_trim is not None:  # the revival store takes what it has not saved yet
            self._on_trim()
        return self._output.trim(keep)

    def output_pieces(self, start: int) -> tuple[int, list[memoryview]]:
        """Retained output from ``start`` (or the oldest retained byte) to the end, as views of
        the retained chunks; and the offset it starts at."""
        return self._output.pieces(start)

    def read_output(self, start: int, end: int) -> tuple[bytes, int]:
        """Retained output between stream offsets ``start`` and ``end``, and where it starts.

        The start is later than ``start`` when that output fell out of retention.
        """
        return self._output.read_range(start, end)

    def commands(self) -> list[CommandRecord]:
        """The command log, oldest first (empty without shell integration)."""
        return self._output.commands()

    @property
    def running_command(self) -> CommandRecord | None:
        """The command running now, as the shell's marks tell."""
        return self._output.running_command

    @property
    def last_exit_code(self) -> int | None:
        """The exit code of the last finished command, as the shell's marks tell."""
        return self._output.last_exit_code

    @property
    def has_prompted(self) -> bool:
        """Whether the shell printed a prompt mark (it is integrated and was ready once)."""
        return self._output.has_prompted

    # -- viewers (viewers.py) ----------------------------------------------------------------
    @property
    def clients(self) -> int:
        """Number of attached viewers."""
        return len(self._viewers)

    def attach(
        self, key: object, sink: OutputSink, reset: ResetSink, offset: int | None = None
    ) -> Attached:
        """Start delivering output to ``sink``, after ``offset`` if still retained."""
        return self._viewers.attach(key, sink, reset, offset)

    def detach(self, key: object) -> bool:
        """Stop delivering to ``key``; return whether it was attached."""
        if not self._viewers.detach(key):
            return False
        self._update_reading()
        return True

    def is_attached(self, key: object) -> bool:
        """Whether ``key`` receives this session's output."""
        return key in self._viewers

    def ack(self, key: object, offset: int) -> None:
        """Record that ``key`` processed output up to ``offset``; resume it if it was held."""
        self._viewers.ack(key, offset)
        self._update_reading()

    # -- input and size ----------------------------------------------------------------------
    def write(self, data: bytes, key: object | None = None) -> None:
        """Send ``data`` to the shell without blocking; raise ``InputOverflow`` past the cap."""
        if not self.is_alive or self._input is None:
            raise SessionClosed(self.id)
        if key is not None:
            self._viewers.typed(key)
        self._touch()
        self._input.write(data)

    def resize(self, cols: int, rows: int, key: object | None = None) -> None:
        """Resize the terminal on behalf of ``key``, which then drives the size."""
        if not self.is_alive:
            raise SessionClosed(self.id)
        if key is not None:
            self._viewers.resized(key, cols, rows)
        self._set_size(cols, rows)

    def _set_size(self, cols: int, rows: int) -> None:
        if self._child is None or (cols, rows) == (self.cols, self.rows):
            return
        self.cols, self.rows = cols, rows
        with contextlib.suppress(OSError):
            _spawn.set_size(self._child.fd, cols, rows)
        if self._on_size is not None:
            self._on_size()

    def repaint(self) -> None:
        """Make a full-screen program redraw: two size changes, two SIGWINCH."""
        if self._child is None:
            return
        with contextlib.suppress(OSError):
            _spawn.set_size(self._child.fd, self.cols, max(1, self.rows - 1))
            _spawn.set_size(self._child.fd, self.cols, self.rows)

    # -- the hot path: a read, recorded and delivered ----------------------------------------
    def _on_read(self, data: bytes, eof: bool) -> None:
        if data:
            self._record(data)  # which reads on, or pauses, through _update_reading
        else:
            self._update_reading()
        if eof and self._ending is not None:
            self._ending.eof()  # only heeded without a pidfd

    def _record(self, data: bytes) -> None:
        start = self._output.end
        change = self._output.record(data)
        if self._on_retained is not None:
            self._on_retained(change)
        if self._on_record is not None:
            self._on_record(data, self._output.end)
        self._touch()
        self._viewers.deliver(data, start)
        self._update_reading()
        TRIMMER.output(len(data))  # after delivery: what the flood freed goes back (heap.py)

    def _update_reading(self) -> None:
        # Pause the PTY only while nobody can take more; detached sessions keep reading.
        if not self.is_alive or self._reader is None:
            return
        if self._viewers.is_held:
            self._reader.pause()
        else:
            self._reader.resume()

    def _touch(self) -> None:
        self.last_activity = time.time()
        if self._on_activity is not None:
            self._on_activity()

    # -- exit (ending.py) -------------------------------------------------------------------
    async def _close(self, code: int) -> None:
        # The ending's one call, after the reap: the last read, then every part closes.
        if self._reader is not None:
            await self._reader.quiesce()
        if self.state is SessionState.EXITED or self._child is None or self._ending is None:
            return
        with contextlib.suppress(OSError):  # what the shell wrote last is still in the PTY
            data, _ = _spawn.read_available(self._child.fd, self._limits.scrollback_bytes)
            if data:
                self._record(data)
        if self._reader is not None:
            self._reader.close()
        if self._input is not None:
            self._input.close()
        self.state = SessionState.EXITED
        self.exit_code = code
        self._ending.close_fds()
        self._viewers.clear()
        for callback in self._on_exit:
            try:
                callback(self)
            except Exception:
                log.exception("exit callback of terminal %s failed", self.id)

    async def terminate(self) -> int:
        """Stop the shell and everything it started: SIGHUP, SIGTERM, then SIGKILL.

        Returns the shell's exit code. Processes that left the terminal's session on purpose
        (``setsid``, daemons) are not touched. Safe to call again while it runs: every caller
        waits for the one close and gets its exit code.
        """
        if self._child is not None and self._ending is not None and self.is_alive:
            await self._ending.terminate()
        return self.exit_code if self.exit_code is not None else -1

    async def release(self) -> int:
        """Let go of a shell the PTY host keeps (server shutdown): stop reading, close our fds.

        The shell runs on; what it prints from here stays in the PTY for the host to read.
        Returns the stream offset reached, where the next server's stream goes on.
        """
        ending = self._ending
        if self._child is None or ending is None or not self.is_alive or ending.is_finishing:
            return self.end
        if self._reader is not None:
            await self._reader.quiesce()
            self._reader.close()
        if self._input is not None:
            self._input.close()
        ending.release()
        self._child = None
        self._viewers.clear()
        return self.end
