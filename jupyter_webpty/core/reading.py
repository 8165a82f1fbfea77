"""How a terminal's output is read: by the event loop while quiet, by a thread while it streams.

Quiet output (echo, prompts) is read by the loop as soon as the fd is readable, never waiting in
the kernel (``_spawn.read_ready``). Once a read finds a full line-discipline buffer, output
streams: the loop stops watching the fd and a worker thread reads it in batches of up to a few
milliseconds each, with reads that do wait for the kernel's next piece (the fastest way through
a flood, and harmless off the loop); each batch goes out as one message. The thread hands a
batch to the loop and reads the next one at once, while the loop records and sends the last: a
PTY holds only a few KiB, so a writer stalls as soon as nobody reads. (Ending the thread after
each batch and starting another from the loop left the PTY unread for ~0.45 ms per 128 KiB, 13 %
of a ``cat``; bench/README.md, "Reading a flood", has the A/B.) At most one batch waits for the
loop: the thread holds the next until the loop recorded and sent the last. A batch that finds
little returns the fd to the loop. Flow control pauses both (``pause``/``resume``); a batch
already being read when it pauses is still handed over, so at most one batch's bytes
(``limit``) arrive after a pause.

This and the session's lifecycle are what a PTY-host process would run; what was read leaves
through one callback, ``on_read(data, eof)``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from . import _spawn

log = logging.getLogger(__name__)

#: Most bytes taken from the PTY per message.
READ_LIMIT = 256 * 1024
_BATCH_SECONDS = 0.004  # most time the streaming thread reads before handing a batch over
#: How long a batch waits for its first bytes when the PTY is momentarily empty, rather than
#: handing the fd back to the loop (``_spawn.read_batch``): the next batch often starts while
#: the writer is a step behind.
_FIRST_WAIT_SECONDS = 0.001
#: Most time one worker thread streams a terminal before it makes way for the other terminals
#: waiting for the pool (the same terminal then queues again, behind them).
_STREAM_SECONDS = 0.05
#: A read this large (a full line-discipline buffer) means output streams: drain in a thread.
#: Linux's n_tty keeps one byte of its 4096 free, so a full buffer reads as 4095 (at 4096 a
#: single full read never counted, only reads that the flush worker topped up meanwhile).
_STREAMING = 4095

#: ``on_read(data, eof)``: what one read returned, and whether the terminal reached its end.
ReadCallback = Callable[[bytes, bool], None]

_drainers: ThreadPoolExecutor | None = None


def _drain_pool() -> ThreadPoolExecutor:
    """The worker threads that read streaming terminals (a few: each holds one for at most
    ``_STREAM_SECONDS``)."""
    global _drainers  # noqa: PLW0603 - one pool per process, made on first use
    if _drainers is None:
        _drainers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webpty-drain")
    return _drainers


class Reader:
    """Reads the terminal ``fd`` on ``loop`` and hands each read to ``on_read``.

    Starts paused; ``resume`` starts it. ``limit`` bounds each read (so each message),
    ``label`` names the session in log lines.
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
        "_taken",
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
        self._wanted = False  # resumed and not paused since: a stream that ends starts the next
        self._drain: asyncio.Future[None] | None = None  # the streaming thread's run
        self._taken: threading.Event | None = None  # set: the last batch was recorded and sent
        self._stopping = False  # closing: no new reads (the session makes the final one)
        self._closed = False

    @property
    def is_paused(self) -> bool:
        """True while nothing reads the fd: flow control holds it, or it is closing."""
        return not self._reading and self._drain is None

    @property
    def is_draining(self) -> bool:
        """Whether a worker thread streams the fd now."""
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
        if self._taken is None:  # made on first use: most sessions never stream
            self._taken = threading.Event()
        self._taken.set()
        # A dup: the thread may outlive the session's fd by a read (see _spawn.read_batch).
        self._drain = self._loop.run_in_executor(_drain_pool(), self._stream, os.dup(self._fd))
        self._drain.add_done_callback(self._on_stream_end)

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

    # -- the streaming thread ----------------------------------------------------------------
    def _stream(self, fd: int) -> None:
        """Run in a worker thread: read batches of ``fd`` (a dup, closed here) and hand each to
        the loop, until output pauses, the reader is paused or closed, or ``_STREAM_SECONDS``.
        """
        until = time.monotonic() + _STREAM_SECONDS
        try:
            while True:
                try:
                    data, eof = _spawn.read_batch(
                        fd, self._limit, _BATCH_SECONDS, _FIRST_WAIT_SECONDS
                    )
                except OSError as exc:
                    log.warning("reading terminal %s failed: %s", self._label, exc)
                    data, eof = b"", True
                if (data or eof) and not self._hand_over(data, eof):
                    return
                if eof or len(data) < _STREAMING or time.monotonic() >= until:
                    return
                if not self._wanted or self._stopping:  # paused meanwhile (read by this thread)
                    return
        finally:
            os.close(fd)

    def _hand_over(self, data: bytes, eof: bool) -> bool:
        """Give the loop one batch, once it took the last; False if it never will (closed)."""
        taken = self._taken
        assert taken is not None  # noqa: S101 (set before the thread starts)
        while not taken.wait(0.5):
            if self._closed or self._loop.is_closed():
                return False
        taken.clear()
        try:
            self._loop.call_soon_threadsafe(self._on_batch, data, eof)
        except RuntimeError:  # the loop closed meanwhile
            return False
        return True

    def _on_batch(self, data: bytes, eof: bool) -> None:
        # The thread reads its next batch meanwhile; it may hand that one over once this one
        # was recorded and sent, and no sooner: a pause this batch caused (a full window) is
        # then seen before the thread reads on, so one batch at most arrives after a pause.
        # (Set before ``_take``, a thread woken in between read a second one: two batches
        # retained, seen under CPU load in tests/test_flow.py.)
        try:
            if not self._closed:
                self._take(data, eof)
        finally:
            if self._taken is not None:
                self._taken.set()

    def _on_stream_end(self, future: asyncio.Future[None]) -> None:
        # Runs after the thread's last batch (both reach the loop in the order it sent them).
        self._drain = None
        if self._closed:
            return
        if not future.cancelled() and future.exception() is not None:
            log.error("streaming terminal %s failed", self._label, exc_info=future.exception())
        if self._wanted and not self._stopping:
            self.resume()  # read on: the next stream, or the loop once output went quiet

    def _take(self, data: bytes, eof: bool) -> None:
        """Choose how to read next, then hand over what a read returned."""
        self._streaming = len(data) >= _STREAMING and not eof
        self._on_read(data, eof)
        if eof:
            self.pause()
