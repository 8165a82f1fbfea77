"""One shell on a pseudo-terminal: the session, and the parts it is made of.

``PtySession`` is what the manager and the transports hold: a session's identity, size, state
and hooks, and its lifecycle. It wires the parts, each with a job of its own:

* ``ShellProcess`` (``process.py``): the shell, and the parts on its PTY while it lives:
  ``Reader`` (``reading.py``) reads it on the loop or in a worker thread, ``InputQueue``
  (``input_queue.py``) writes input without blocking, and ``Ending`` (``ending.py``) notices the
  shell's exit and runs the closing ladder and the reap, or lets go of a shell the PTY host keeps;
* ``Feed`` (``feed.py``): the output side: a read is recorded, told to the hooks that follow the
  output, delivered, and reading pauses while no viewer can take more;
* ``Output`` (``output.py``): retained output, screen restore points, the command log;
* ``Viewers`` (``viewers.py``): delivery to each attached client with flow control, and which
  client drives the size.

Who forks the shell and reaps it is the ``Spawner``'s business: this process, or the PTY host
(``host.py``), which hands over the terminal; everything else runs here either way.
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from . import _spawn
from .errors import SessionClosed
from .feed import Feed
from .marks import MAX_COMMANDS, CommandCallback
from .output import Output
from .process import ShellProcess
from .viewers import Attached, OutputSink, ResetSink, Viewers

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
        #: The directory the shell started in.
        self.initial_cwd = cwd
        self._env = env
        limits = limits or Limits()
        self._output = Output(limits.scrollback_bytes, max_commands=max_commands, label=self.id)
        if restored is not None:
            self._output.preload(*restored, commands=adopted is not None)
        self._viewers = Viewers(
            self._output,
            high_water=limits.high_water,
            low_water=limits.low_water,
            resize=self._set_size,
            repaint=self.repaint,
        )
        self._process = ShellProcess(
            spawner or _spawn.LOCAL, limits,
            session_id=self.id, kill_on_exit=kill_on_exit, adopted=adopted,
        )  # fmt: skip
        self._feed = Feed(self._output, self._viewers, touch=self._touch, on_eof=self._process.eof)
        # The session's own hooks; those that follow the output are the feed's.
        self._on_exit: list[Callable[[PtySession], None]] = []
        self._on_activity: Callable[[], None] | None = None
        self._on_size: Callable[[], None] | None = None

    # -- lifecycle (process.py) --------------------------------------------------------------
    def start(self) -> None:
        """Spawn the child and start reading its output (raises ``SpawnError``)."""
        launch = _spawn.Launch(
            self.argv, self.initial_cwd, self._env, self.cols, self.rows,
            meta={"owner": self.owner, "name": self.name, "created_at": self.created_at},
        )  # fmt: skip
        self._feed.reader = self._process.start(
            launch, on_read=self._feed.take, on_reaped=self._close
        )
        self.state = SessionState.RUNNING
        self._process.run()

    @property
    def pid(self) -> int | None:
        """The shell's process id while it runs."""
        return self._process.pid

    @property
    def is_alive(self) -> bool:
        """Whether the session still runs."""
        return self.state is SessionState.RUNNING

    @property
    def paused(self) -> bool:
        """True while nothing reads the PTY: flow control holds it, or the shell is gone."""
        return self._process.is_paused

    def foreground(self) -> tuple[str | None, str | None]:
        """The foreground command and the shell's working directory, read live."""
        return self._process.foreground() if self.is_alive else (None, None)

    @property
    def spawner(self) -> _spawn.Spawner:
        """Who started the shell and collects its exit (this process, or the PTY host)."""
        return self._process.spawner

    # -- hooks: the session calls its own, the feed and the output theirs --------------------
    def on_exit(self, callback: Callable[[PtySession], None]) -> None:
        """Call ``callback(session)`` once after the shell exited and the session closed."""
        self._on_exit.append(callback)

    def set_hooks(
        self,
        *,
        size: Callable[[], None] | None = None,
        activity: Callable[[], None] | None = None,
        retained: Callable[[int], None] | None = None,
        record: Callable[[bytes, int], None] | None = None,
        trim: Callable[[], None] | None = None,
    ) -> None:
        """Set the given hooks: ``size()`` after the terminal's size changed, ``activity()`` on
        input and output (the manager throttles it), and the feed's (``Feed``):
        ``retained(change)``, ``record(data, end)`` (the revival store) and ``trim()`` before
        the budget trims (``trim_retained``)."""
        self._on_size = size or self._on_size
        self._on_activity = activity or self._on_activity
        feed = self._feed
        feed.on_retained = retained or feed.on_retained
        feed.on_record = record or feed.on_record
        feed.on_trim = trim or feed.on_trim

    def on_command(self, callback: CommandCallback) -> None:
        """Call ``callback(record, finished)`` when a command starts or finishes (marks.py)."""
        self._output.on_command(callback)

    # -- output (feed.py, output.py) ---------------------------------------------------------
    def note(self, data: bytes) -> None:
        """Record ``data`` as if the terminal had printed it (the "restored" line of a revival)."""
        self._feed.record(data)

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
        return self._feed.trim(keep)

    @property
    def output(self) -> Output:
        """What the shell printed, to read: retained output (``read_range``, ``pieces``) and the
        command log (``commands``, ``running_command``, ``last_exit_code``, ``has_prompted``).
        The session alone records into it and trims it (``note``, ``trim_retained``)."""
        return self._output

    # -- viewers (feed.py, viewers.py) -------------------------------------------------------
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
        return self._feed.detach(key)

    def is_attached(self, key: object) -> bool:
        """Whether ``key`` receives this session's output."""
        return key in self._viewers

    def ack(self, key: object, offset: int) -> None:
        """Record that ``key`` processed output up to ``offset``; resume it if it was held."""
        self._feed.ack(key, offset)

    # -- input and size ----------------------------------------------------------------------
    def write(self, data: bytes, key: object | None = None) -> None:
        """Send ``data`` to the shell without blocking; raise ``InputOverflow`` past the cap."""
        input_queue = self._process.input
        if not self.is_alive or input_queue is None:
            raise SessionClosed(self.id)
        if key is not None:
            self._viewers.typed(key)
        self._touch()
        input_queue.write(data)

    def resize(self, cols: int, rows: int, key: object | None = None) -> None:
        """Resize the terminal on behalf of ``key``, which then drives the size."""
        if not self.is_alive:
            raise SessionClosed(self.id)
        if key is not None:
            self._viewers.resized(key, cols, rows)
        self._set_size(cols, rows)

    def _set_size(self, cols: int, rows: int) -> None:
        if self._process.child is None or (cols, rows) == (self.cols, self.rows):
            return
        self.cols, self.rows = cols, rows
        self._process.set_size(cols, rows)
        if self._on_size is not None:
            self._on_size()

    def repaint(self) -> None:
        """Make a full-screen program redraw: two size changes, two SIGWINCH."""
        self._process.repaint(self.cols, self.rows)

    def _touch(self) -> None:
        self.last_activity = time.time()
        if self._on_activity is not None:
            self._on_activity()

    # -- exit (process.py, ending.py) --------------------------------------------------------
    async def _close(self, code: int) -> None:
        # The ending's one call, after the reap: the last read, then every part closes.
        if not await self._process.finish(self._feed.record):
            return
        self.state = SessionState.EXITED
        self.exit_code = code
        self._feed.close()
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
        if self.is_alive:
            await self._process.terminate()
        return self.exit_code if self.exit_code is not None else -1

    async def release(self) -> int:
        """Let go of a shell the PTY host keeps (server shutdown): stop reading, close our fds.

        The shell runs on; what it prints from here stays in the PTY for the host to read.
        Returns the stream offset reached, where the next server's stream goes on.
        """
        if self.is_alive and await self._process.release():
            self._feed.close()
        return self.end
