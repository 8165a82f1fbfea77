"""One shell on a pseudo-terminal: output retention, viewers with flow control, input, exit."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import secrets
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import _spawn
from .errors import InputOverflow, SessionClosed
from .marks import CommandCallback, CommandRecord, Marks
from .reaper import reaper
from .screen import Restore, ScreenTracker, line_restore

log = logging.getLogger(__name__)

#: ``sink(data, end_offset)`` delivers output to one viewer; it must not block.
OutputSink = Callable[[bytes, int], None]
#: ``reset(preamble, start_offset)`` tells a viewer to reset before the output that follows.
ResetSink = Callable[[str, int], None]

_READ_LIMIT = 256 * 1024  # most bytes taken from the PTY per message
#: Messages are at most this share of the flow-control window, so that several are in flight and
#: the client's acks (every 64 KiB) arrive while the server still sends: with messages as large
#: as the window (256 KiB) the server mostly waited for each ack and `cat` ran at a third of
#: ttyd's rate (issue 16; bench/README.md has the figures).
_MESSAGES_PER_WINDOW = 4
_DRAIN_SECONDS = 0.004  # most time one worker-thread drain reads before handing over
#: A read this large (a full line-discipline buffer) means output streams: drain in a thread.
_STREAMING = 4096
_CHUNK = 64 * 1024  # retained output is kept in pieces of about this size or larger
_INTERRUPT = b"\x03"
#: Command callbacks (terminal:command events, audit lines) per second, and the burst allowed.
#: Marks are output that any program can print by the thousand; people start commands far
#: more slowly. Past the budget the log still records them; only the callbacks are skipped.
_COMMAND_RATE = 100.0
_COMMAND_BURST = 200.0


_drainers: ThreadPoolExecutor | None = None


def _drain_pool() -> ThreadPoolExecutor:
    """The worker threads that drain streaming terminals (a few: each drain takes <= ~1 ms)."""
    global _drainers  # noqa: PLW0603 - one pool per process, made on first use
    if _drainers is None:
        _drainers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webpty-drain")
    return _drainers


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


@dataclass(frozen=True)
class Attached:
    """Where delivery to a new viewer starts and how."""

    offset: int
    end: int
    truncated: bool
    preamble: str


class _Retained:
    """The latest output as a queue of immutable chunks.

    A single bytearray trimmed at the front made the allocator hand out a fresh multi-megabyte
    block at every growth past its capacity; the freed blocks fragmented the heap (about 20 MB
    of RSS for 4 MiB retained). Chunks are the very ``bytes`` objects read from the PTY, so
    appending copies nothing; small reads are gathered in a tail first, so that an interactive
    session does not keep one object per keystroke.
    """

    __slots__ = ("_chunks", "_size", "_tail", "base")

    def __init__(self) -> None:
        self.base = 0  # stream offset of the first retained byte
        self._chunks: deque[bytes] = deque()
        self._tail = bytearray()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        """Retain ``data`` after what is retained."""
        self._size += len(data)
        if len(data) >= _CHUNK and not self._tail:
            self._chunks.append(data)
            return
        self._tail += data
        if len(self._tail) >= _CHUNK:
            self._chunks.append(bytes(self._tail))
            self._tail = bytearray()

    def trim(self, keep: int) -> None:
        """Drop the oldest output, keeping at least ``keep`` bytes (at most ``keep`` + 64 KiB)."""
        chunks = self._chunks
        while chunks and self._size - len(chunks[0]) >= keep:
            self._drop(len(chunks.popleft()))
        excess = self._size - keep
        if excess > _CHUNK:  # one big first chunk (or a big tail) holds it: cut it
            if chunks:
                excess = min(excess, len(chunks[0]))
                chunks[0] = chunks[0][excess:]
            else:
                del self._tail[:excess]
            self._drop(excess)

    def _drop(self, size: int) -> None:
        self._size -= size
        self.base += size

    def read(self, offset: int, limit: int) -> bytes:
        """Up to ``limit`` bytes from stream offset ``offset`` (retained, not past the end)."""
        at = offset - self.base
        for chunk in self._chunks:
            if at < len(chunk):
                if at == 0 and len(chunk) <= limit:
                    return chunk
                return chunk[at : at + limit]
            at -= len(chunk)
        return bytes(self._tail[at : at + limit])

    def join(self) -> bytes:
        """Everything retained, in one piece (for the rare screen restore)."""
        return b"".join((*self._chunks, self._tail))


class _Viewer:
    """One attached client: what it was sent, what it acknowledged, its terminal size."""

    __slots__ = ("acked", "cols", "last_active", "reset", "rows", "sent", "sink")

    def __init__(self, sink: OutputSink, reset: ResetSink, offset: int) -> None:
        self.sink = sink
        self.reset = reset
        self.sent = offset
        self.acked = offset
        self.cols: int | None = None
        self.rows: int | None = None
        self.last_active = time.monotonic()


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
        max_commands: int = 1000,
    ) -> None:
        self.id = secrets.token_urlsafe(16)  # 128 bits: unguessable
        self.owner = owner
        self.name = name
        self.argv = list(argv)
        self.cols = cols
        self.rows = rows
        self.created_at = time.time()
        self.last_activity = self.created_at
        self.state = SessionState.STARTING
        self.exit_code: int | None = None
        self._cwd = cwd
        self._env = env
        self._limits = limits or Limits()
        self._kill_on_exit = kill_on_exit
        self._child: _spawn.Child | None = None
        self._retained = _Retained()
        self._read_limit = min(
            _READ_LIMIT, max(_STREAMING, self._limits.high_water // _MESSAGES_PER_WINDOW)
        )
        self._end = 0  # stream offset after the last byte read
        self._screen: ScreenTracker | None = ScreenTracker()  # None: tracking failed, see _record
        #: Whether the shell was started with our init files (marks are read in any case).
        self.integrated = integrated
        self._on_command: list[CommandCallback] = []
        self._command_budget = _COMMAND_BURST
        self._command_refilled = time.monotonic()
        self._command_throttled = False
        self._marks: Marks | None = Marks(max_commands=max_commands, on_command=self._command)
        self._viewers: dict[object, _Viewer] = {}
        self._driver: object | None = None  # the viewer whose size the terminal has
        self._pending: deque[bytes] = deque()
        self._pending_size = 0
        self._reading = False  # the loop watches the fd (quiet output: read_ready)
        self._streaming = False  # output streams: worker-thread drains instead
        self._drain: asyncio.Future[tuple[bytes, bool]] | None = None
        self._stopping = False  # closing: no new reads but the final one in _close
        self._writing = False
        self._finishing: asyncio.Task[None] | None = None
        self._on_exit: list[Callable[[PtySession], None]] = []
        self._on_activity: Callable[[], None] | None = None
        self._on_retained: Callable[[int], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Spawn the child and start reading its output (raises ``SpawnError``)."""
        self._loop = asyncio.get_running_loop()
        env = _spawn.child_env(self._env, self.cols, self.rows)
        child = _spawn.spawn(self.argv, cwd=self._cwd, env=env, cols=self.cols, rows=self.rows)
        self._child = child
        self.state = SessionState.RUNNING
        self._resume_reading()
        if child.pidfd is not None:
            self._loop.add_reader(child.pidfd, self._on_child_exit)

    def on_exit(self, callback: Callable[[PtySession], None]) -> None:
        """Call ``callback(session)`` once after the shell exited and the session closed."""
        self._on_exit.append(callback)

    def on_retained(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(change)`` when the retained output grows or shrinks by reading."""
        self._on_retained = callback

    @property
    def retained_bytes(self) -> int:
        """Output kept for resume and screen restore, in bytes."""
        return len(self._retained)

    def trim_retained(self, keep: int) -> int:
        """Drop the oldest retained output down to about ``keep`` bytes; return bytes freed.

        The server-wide budget (``SessionManager``) calls it; a viewer that had not been sent
        the dropped bytes resyncs through a screen restore, as after scrollback overflow.
        """
        before = len(self._retained)
        self._retained.trim(keep)
        return before - len(self._retained)

    def on_activity(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` on input and output (the manager throttles it)."""
        self._on_activity = callback

    @property
    def pid(self) -> int | None:
        """The shell's process id while it runs."""
        return self._child.pid if self._child else None

    @property
    def is_alive(self) -> bool:
        """Whether the session still runs."""
        return self.state is SessionState.RUNNING

    @property
    def end(self) -> int:
        """Stream offset after the last byte of output read so far."""
        return self._end

    @property
    def clients(self) -> int:
        """Number of attached viewers."""
        return len(self._viewers)

    @property
    def paused(self) -> bool:
        """True while nothing reads the PTY: flow control holds it, or the shell is gone."""
        return not self._reading and self._drain is None

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

    # -- commands (shell integration, see marks.py) ---------------------------------------------
    def on_command(self, callback: CommandCallback) -> None:
        """Call ``callback(record, finished)`` when a command starts or finishes."""
        self._on_command.append(callback)

    def _command(self, record: CommandRecord, finished: bool) -> None:
        now = time.monotonic()
        elapsed, self._command_refilled = now - self._command_refilled, now
        budget = min(_COMMAND_BURST, self._command_budget + elapsed * _COMMAND_RATE)
        if budget < 1:
            if not self._command_throttled:
                log.warning("terminal %s prints command marks too fast; not reporting", self.id)
                self._command_throttled = True
            self._command_budget = budget
            return
        self._command_budget = budget - 1
        self._command_throttled = False
        for callback in self._on_command:
            try:
                callback(record, finished)
            except Exception:
                log.exception("command callback of terminal %s failed", self.id)

    def commands(self) -> list[CommandRecord]:
        """The command log, oldest first (empty without shell integration)."""
        return self._marks.commands() if self._marks is not None else []

    @property
    def running_command(self) -> CommandRecord | None:
        """The command running now, as the shell's marks tell."""
        return self._marks.running if self._marks is not None else None

    @property
    def last_exit_code(self) -> int | None:
        """The exit code of the last finished command, as the shell's marks tell."""
        return self._marks.last_exit_code if self._marks is not None else None

    @property
    def has_prompted(self) -> bool:
        """Whether the shell printed a prompt mark (it is integrated and was ready once)."""
        return self._marks is not None and self._marks.has_prompted

    def read_output(self, start: int, end: int) -> tuple[bytes, int]:
        """Retained output between stream offsets ``start`` and ``end``, and where it starts.

        The start is later than ``start`` when that output fell out of retention.
        """
        retained = self._retained
        at = max(start, retained.base)
        end = min(end, self._end)
        parts = []
        while at < end:
            chunk = retained.read(at, end - at)
            if not chunk:
                break
            parts.append(chunk)
            at += len(chunk)
        return b"".join(parts), max(start, retained.base)

    # -- viewers -----------------------------------------------------------------------------
    def attach(
        self, key: object, sink: OutputSink, reset: ResetSink, offset: int | None = None
    ) -> Attached:
        """Start delivering output to ``sink``, after ``offset`` if still retained."""
        if offset is not None and self._retained.base <= offset <= self._end:
            start, truncated, preamble = offset, False, ""
        else:
            restore = self._restore()
            start, truncated, preamble = restore.offset, True, restore.preamble
            if restore.repaint:
                self._repaint()
        viewer = _Viewer(sink, reset, start)
        self._viewers[key] = viewer
        # Deliver after the caller had a chance to send its reply.
        asyncio.get_running_loop().call_soon(self._pump, viewer)
        return Attached(offset=start, end=self._end, truncated=truncated, preamble=preamble)

    def detach(self, key: object) -> bool:
        """Stop delivering to ``key``; return whether it was attached."""
        viewer = self._viewers.pop(key, None)
        if viewer is None:
            return False
        if self._driver is key:
            self._driver = None
            remaining = max(self._viewers.items(), key=lambda kv: kv[1].last_active, default=None)
            if remaining is not None and remaining[1].cols and remaining[1].rows:
                self._driver = remaining[0]
                self._set_size(remaining[1].cols, remaining[1].rows)
        self._update_reading()
        return True

    def is_attached(self, key: object) -> bool:
        """Whether ``key`` receives this session's output."""
        return key in self._viewers

    def ack(self, key: object, offset: int) -> None:
        """Record that ``key`` processed output up to ``offset``; resume it if it was held."""
        viewer = self._viewers.get(key)
        if viewer is None or offset <= viewer.acked:
            return
        viewer.acked = min(offset, viewer.sent)
        if viewer.sent - viewer.acked <= self._limits.low_water:
            self._pump(viewer)
        self._update_reading()

    def _restore(self) -> Restore:
        """How a viewer that missed output sees the current screen (see screen.py)."""
        retained = self._retained
        if self._screen is None:
            return line_restore(retained.base, self._end, retained.join())
        return self._screen.restore(retained.base, self._end, retained.join())

    def _pump(self, viewer: _Viewer) -> None:
        high = self._limits.high_water
        while viewer.sent < self._end and viewer.sent - viewer.acked < high:
            if viewer.sent < self._retained.base:
                # Fell off the retained buffer (only a viewer slower than others can): resync.
                restore = self._restore()
                viewer.sent = viewer.acked = restore.offset
                viewer.reset(restore.preamble, restore.offset)
                continue
            chunk = self._retained.read(viewer.sent, self._read_limit)
            viewer.sent += len(chunk)
            viewer.sink(chunk, viewer.sent)

    # -- input and size ----------------------------------------------------------------------
    def write(self, data: bytes, key: object | None = None) -> None:
        """Send ``data`` to the shell without blocking; raise ``InputOverflow`` past the cap."""
        if not self.is_alive or self._child is None:
            raise SessionClosed(self.id)
        viewer = self._viewers.get(key) if key is not None else None
        if viewer is not None:
            viewer.last_active = time.monotonic()
            if self._driver is not key and viewer.cols and viewer.rows:
                self._driver = key
                self._set_size(viewer.cols, viewer.rows)
        self._touch()
        if _INTERRUPT in data and self._pending:
            # As the tty driver flushes its input queue on an interrupt character, drop a
            # queued paste so that Ctrl+C reaches the shell now, not after megabytes.
            self._pending.clear()
            self._pending_size = 0
            data = data[data.rfind(_INTERRUPT) :]
        if self._pending_size + len(data) > self._limits.max_pending_input:
            raise InputOverflow(self._limits.max_pending_input)
        self._pending.append(data)
        self._pending_size += len(data)
        self._flush_input()

    def _flush_input(self) -> None:
        child = self._child
        if child is None or not self.is_alive:
            return
        while self._pending:
            chunk = self._pending[0]
            try:
                written = os.write(child.fd, chunk)
            except BlockingIOError:
                written = 0
            except OSError as exc:
                log.debug("write to terminal %s failed: %s", self.id, exc)
                self._pending.clear()
                self._pending_size = 0
                break
            self._pending_size -= written
            if written < len(chunk):
                self._pending[0] = chunk[written:]
                if not self._writing and self._loop is not None:
                    self._loop.add_writer(child.fd, self._flush_input)
                    self._writing = True
                return
            self._pending.popleft()
        if self._writing and self._loop is not None:
            self._loop.remove_writer(child.fd)
            self._writing = False

    def resize(self, cols: int, rows: int, key: object | None = None) -> None:
        """Resize the terminal on behalf of ``key``, which then drives the size."""
        if not self.is_alive:
            raise SessionClosed(self.id)
        viewer = self._viewers.get(key) if key is not None else None
        if viewer is not None:
            viewer.cols, viewer.rows = cols, rows
            viewer.last_active = time.monotonic()
            self._driver = key
        self._set_size(cols, rows)

    def _set_size(self, cols: int, rows: int) -> None:
        if self._child is None or (cols, rows) == (self.cols, self.rows):
            return
        self.cols, self.rows = cols, rows
        with contextlib.suppress(OSError):
            _spawn.set_size(self._child.fd, cols, rows)

    def _repaint(self) -> None:
        """Make a full-screen program redraw: two size changes, two SIGWINCH."""
        if self._child is None:
            return
        with contextlib.suppress(OSError):
            _spawn.set_size(self._child.fd, self.cols, max(1, self.rows - 1))
            _spawn.set_size(self._child.fd, self.cols, self.rows)

    # -- output ------------------------------------------------------------------------------
    # Output is read in one of two ways. Quiet output (echo, prompts) is read by the loop as
    # soon as the fd is readable, never waiting in the kernel (read_ready). Once a read finds
    # a full line-discipline buffer, output streams: the loop stops watching the fd and a
    # worker thread drains it for up to a millisecond at a time, with reads that do wait for
    # the kernel's next piece (the fastest way through a flood, and harmless off the loop);
    # each drain's bytes go out as one message. A drain that finds little returns the fd to
    # the loop. Flow control pauses both.
    def _resume_reading(self) -> None:
        child, loop = self._child, self._loop
        if child is None or loop is None or self._stopping or self._drain is not None:
            return
        if self._streaming:
            if self._reading:
                loop.remove_reader(child.fd)
                self._reading = False
            # A dup: the thread may outlive the session's fd by a read (see _spawn.drain).
            self._drain = loop.run_in_executor(
                _drain_pool(), _spawn.drain, os.dup(child.fd), self._read_limit, _DRAIN_SECONDS
            )
            self._drain.add_done_callback(self._on_drained)
        elif not self._reading:
            loop.add_reader(child.fd, self._on_readable)
            self._reading = True

    def _pause_reading(self) -> None:
        # A drain in flight finishes; _on_drained then starts no other.
        if self._reading and self._child is not None and self._loop is not None:
            self._loop.remove_reader(self._child.fd)
            self._reading = False

    def _update_reading(self) -> None:
        if not self.is_alive:
            return
        high = self._limits.high_water
        # Pause the PTY only while nobody can take more; detached sessions keep reading.
        if self._viewers and all(v.sent - v.acked >= high for v in self._viewers.values()):
            self._pause_reading()
        else:
            self._resume_reading()

    def _on_readable(self) -> None:
        try:
            data, eof = _spawn.read_ready(self._child.fd, self._read_limit)  # type: ignore[union-attr]
        except OSError as exc:
            log.warning("reading terminal %s failed: %s", self.id, exc)
            data, eof = b"", True
        self._take(data, eof)

    def _on_drained(self, future: asyncio.Future[tuple[bytes, bool]]) -> None:
        self._drain = None
        if self.state is SessionState.EXITED:
            return
        try:
            data, eof = future.result()
        except OSError as exc:
            log.warning("reading terminal %s failed: %s", self.id, exc)
            data, eof = b"", True
        self._take(data, eof)

    def _take(self, data: bytes, eof: bool) -> None:
        """Keep and deliver what a read returned; choose how to read next."""
        self._streaming = len(data) >= _STREAMING and not eof
        if data:
            self._record(data)  # which reads on, or pauses, through _update_reading
        else:
            self._update_reading()
        if eof:
            self._pause_reading()
            if self._child is not None and self._child.pidfd is None:
                self._poll_exit()

    async def _quiesce(self) -> None:
        """Stop reading and wait for a drain in flight, before the final read and close."""
        self._stopping = True
        self._pause_reading()
        while self._drain is not None:
            await asyncio.wait({self._drain})

    def _record(self, data: bytes) -> None:
        old_end = self._end
        self._end += len(data)
        retained = self._retained
        before = len(retained)
        retained.append(data)
        retained.trim(self._limits.scrollback_bytes)
        if self._on_retained is not None:
            self._on_retained(len(retained) - before)
        if self._screen is not None:
            try:
                self._screen.feed(data, self._end)
            except Exception:
                # Output is untrusted input: whatever a program prints, its session must keep
                # flowing. Restore points are a convenience; without them a resume replays
                # from a line start (line_restore).
                log.exception(
                    "screen tracking of terminal %s failed; restore points are off", self.id
                )
                self._screen = None
        if self._marks is not None:
            try:
                self._marks.feed(data, self._end)
            except Exception:
                # As above: the command log is a convenience, the output must keep flowing.
                log.exception("marks of terminal %s failed; the command log is off", self.id)
                self._marks = None
        self._touch()
        high = self._limits.high_water
        for viewer in list(self._viewers.values()):
            if viewer.sent == old_end and viewer.sent - viewer.acked < high:
                viewer.sent = self._end
                viewer.sink(data, self._end)  # fast path: no copy out of the buffer
            else:
                self._pump(viewer)
        self._update_reading()

    def _touch(self) -> None:
        self.last_activity = time.time()
        if self._on_activity is not None:
            self._on_activity()

    # -- exit --------------------------------------------------------------------------------
    def _on_child_exit(self) -> None:
        child = self._child
        if child is None or child.pidfd is None or self._loop is None:
            return
        self._loop.remove_reader(child.pidfd)
        if self._finishing is None:
            self._finishing = self._loop.create_task(self._finish())

    def _poll_exit(self) -> None:
        # Kernels without pidfd: the PTY reached EOF, so the shell is about to be reapable.
        if self._finishing is None and self._loop is not None:
            self._finishing = self._loop.create_task(self._finish())

    async def _finish(self) -> None:
        child = self._child
        assert child is not None  # noqa: S101 - only scheduled after start()
        if self._kill_on_exit:
            # Before reaping, while the shell's pid still names its session: no pid reuse.
            await self._signal_ladder(include_shell=False)
        code = _spawn.reap(child.pid)
        while code is None:  # only without pidfd: the shell closed the tty but lives on
            await asyncio.sleep(0.05)
            code = _spawn.reap(child.pid)
        await self._quiesce()
        self._close(code)

    def _close(self, code: int) -> None:
        if self.state is SessionState.EXITED or self._child is None:
            return
        child = self._child
        with contextlib.suppress(OSError):  # what the shell wrote last is still in the PTY
            data, _ = _spawn.read_available(child.fd, self._limits.scrollback_bytes)
            if data:
                self._record(data)
        self._pause_reading()
        if self._writing and self._loop is not None:
            self._loop.remove_writer(child.fd)
            self._writing = False
        self.state = SessionState.EXITED
        self.exit_code = code
        os.close(child.fd)
        if child.pidfd is not None:
            if self._loop is not None:
                self._loop.remove_reader(child.pidfd)
            os.close(child.pidfd)
        self._viewers.clear()
        self._pending.clear()
        for callback in self._on_exit:
            try:
                callback(self)
            except Exception:
                log.exception("exit callback of terminal %s failed", self.id)

    async def terminate(self) -> int:
        """Stop the shell and everything it started: SIGHUP, SIGTERM, then SIGKILL.

        Returns the shell's exit code. Processes that left the terminal's session on purpose
        (``setsid``, daemons) are not touched. Safe to call again while it runs: every caller
        waits for the one close and gets its exit code (and a shell that exited by itself
        meanwhile is finished the usual way, also once).
        """
        child = self._child
        if child is None or self.state is SessionState.EXITED:
            return self.exit_code if self.exit_code is not None else -1
        if self._finishing is None:
            if child.pidfd is not None and self._loop is not None:
                self._loop.remove_reader(child.pidfd)
            self._finishing = asyncio.get_running_loop().create_task(self._end_session())
        # Shielded: a caller that gives up (a cancelled request) must not leave half a close.
        await asyncio.shield(self._finishing)
        return self.exit_code if self.exit_code is not None else -1

    async def _end_session(self) -> None:
        child = self._child
        assert child is not None  # noqa: S101 - only scheduled after start()
        await self._signal_ladder(include_shell=True)
        code = _spawn.reap(child.pid)
        if code is None:  # cannot happen after SIGKILL; guard against a stuck D-state child
            _spawn.signal_members([child.pid], signal.SIGKILL)
            code = await asyncio.to_thread(_wait_blocking, child.pid)
        await self._quiesce()
        self._close(code)

    async def _signal_ladder(self, *, include_shell: bool) -> None:
        child = self._child
        assert child is not None  # noqa: S101 - called only after start()
        # The shell is its session's leader: its pid is the session id.
        await reaper().end_session(
            child.pid, self._limits.kill_grace, spare=None if include_shell else child.pid
        )


def _wait_blocking(pid: int) -> int:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return -1
    return os.waitstatus_to_exitcode(status)
