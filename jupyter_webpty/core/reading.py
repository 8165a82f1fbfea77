"""How a terminal's output is read: by the event loop while it is quiet, by a thread while it streams.

Quiet output (echo, prompts) is read by the loop as soon as the fd is readable, never waiting in
the kernel (``_spawn.read_ready``). Once a read finds a full line-discipline buffer, output
streams: the loop stops watching the fd and a worker thread drains it for up to a few
milliseconds at a time, with reads that do wait for the kernel's next piece (the fastest way
through a flood, and harmless off the loop); each drain's bytes go out as one message. While the
loop records and sends one drain's bytes, the next drain already reads: a PTY holds only a few
KiB, so a writer stalls as soon as nobody reads (bench/README.md, "Reading a flood", has the
A/B). A drain that finds little returns the fd to the loop. Flow control pauses both
(``pause``/``resume``); a drain already running when it pauses finishes, so at most one
drain's bytes (``limit``) arrive after a pause.

This and the session's lifecycle are what a PTY-host process would run; what was read leaves
through one callback, ``on_read(data, eof)``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from . import _spawn

log = logging.getLogger(__name__)

#: Most bytes taken from the PTY per message.
READ_LIMIT = 256 * 1024
_DRAIN_SECONDS = 0.004  # most time one worker-thread drain reads before handing over
#: How long a drain waits for its first bytes when the PTY is momentarily empty, rather than
#: handing the fd back to the loop (``_spawn.drain``): an overlapped drain often starts while
#: the writer is a step behind.
_FIRST_WAIT_SECONDS = 0.001
#: A read this large (a full line-discipline buffer) means output streams: drain in a thread.
_STREAMING = 4096

#: ``on_read(data, eof)``: what one read returned, and whether the terminal reached its end.
ReadCallback = Callable[[bytes, bool], None]

_drainers: ThreadPoolExecutor | None = None


def _drain_pool() -> ThreadPoolExecutor:
    """The worker threads that drain streaming terminals (a few: each drain takes <= ~1 ms)."""
    global _drainers  # noqa: PLW0603 - one pool per process, made on first use
    if _drainers is None:
        _drainers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webpty-drain")
    return _drainers


class Reader:
    """Reads the terminal ``fd`` on ``loop`` and hands each read to ``on_read``.

    Starts paused; ``resume`` starts it. ``limit`` bounds each read (so each message), ``label`` names the session in log lines.
    """

    # Slots, not a dict per instance: one of these per session (python -m bench.memory).
    __slots__ = (
        "_closed",
        "_drain",
        "_fd",
        "_label",
        "_limit",
        "_loop",
        "_on_read",
        "_reading",
        "_stopping",
        "_streaming",
        "_wanted",
    )

    def __init__(
        self,
        fd: int,
        loop: asyncio.AbstractEventLoop,
        on_read: ReadCallback,
        *,
        limit: int = READ_LIMIT,
        label: str = "",
    ) -> None:
        self._fd = fd
        self._limit = limit  # most bytes per read, so per message (viewers.message_limit)
        self._loop = loop
        self._on_read = on_read
        self._label = label
        self._reading = False  # the loop watches the fd (quiet output: read_ready)
        self._streaming = False  # output streams: worker-thread drains instead
        self._wanted = False  # resumed and not paused since: a finished drain may start the next
        self._drain: asyncio.Future[tuple[bytes, bool]] | None = None
        self._stopping = False  # closing: no new reads (the session makes the final one)
        self._closed = False

    @property
    def is_paused(self) -> bool:
        """True while nothing reads the fd: flow control holds it, or it is closing."""
        return not self._reading and self._drain is None

    @property
    def is_draining(self) -> bool:
        """Whether a worker thread is reading the fd now."""
        return self._drain is not None

    def resume(self) -> None:
        """Read on, in the way the last read chose (no-op while a drain runs or when closing)."""
        if self._stopping:
            return
        self._wanted = True
        if self._drain is not None:
            return
        if self._streaming:
            if self._reading:
                self._loop.remove_reader(self._fd)
                self._reading = False
            self._start_drain()
        elif not self._reading:
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True

    def _start_drain(self) -> None:
        # A dup: the thread may outlive the session's fd by a read (see _spawn.drain).
        self._drain = self._loop.run_in_executor(
            _drain_pool(),
            _spawn.drain,
            os.dup(self._fd),
            self._limit,
            _DRAIN_SECONDS,
            _FIRST_WAIT_SECONDS,
        )
        self._drain.add_done_callback(self._on_drained)

    def pause(self) -> None:
        """Stop reading; a drain in flight finishes, and then no other starts until ``resume``."""
        self._wanted = False
        if self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False

    async def quiesce(self) -> None:
        """Stop reading for good and wait for a drain in flight (before the final read)."""
        self._stopping = True
        self.pause()
        while self._drain is not None:
            await asyncio.wait({self._drain})

    def close(self) -> None:
        """Stop reading for good; a drain that still ends is ignored (the fd is being closed)."""
        self._stopping = self._closed = True
        self.pause()

    def _on_readable(self) -> None:
        try:
            data, eof = _spawn.read_ready(self._fd, self._limit)
        except OSError as exc:
            log.warning("reading terminal %s failed: %s", self._label, exc)
            data, eof = b"", True
        self._take(data, eof)

    def _on_drained(self, future: asyncio.Future[tuple[bytes, bool]]) -> None:
        self._drain = None
        if self._closed:
            return
        try:
            data, eof = future.result()
        except OSError as exc:
            log.warning("reading terminal %s failed: %s", self._label, exc)
            data, eof = b"", True
        if self._wanted and not self._stopping and not eof and len(data) >= _STREAMING:
            # Still streaming and nobody paused us: the next drain reads while this one's
            # bytes are recorded and sent. The session's pause (flow control) in what follows
            # lets it finish and starts no other.
            self._start_drain()
        self._take(data, eof)

    def _take(self, data: bytes, eof: bool) -> None:
        """Choose how to read next, then hand over what a read returned."""
        self._streaming = len(data) >= _STREAMING and not eof
        self._on_read(data, eof)
        if eof:
            self.pause()
