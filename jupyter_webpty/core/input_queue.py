"""Input on its way to a terminal: written without blocking, queued while the program is busy.

A shell that does not read (a long command, a paste of megabytes) fills the PTY's input buffer;
the rest waits here, bounded, and the loop writes it when the fd is writable again. An
interrupt character skips the queue, as the tty driver flushes its own input on one.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque

from .errors import InputOverflow

log = logging.getLogger(__name__)

_INTERRUPT = b"\x03"


class InputQueue:
    """Bytes for the terminal ``fd``, written as it takes them, at most ``limit`` waiting.

    ``label`` names the session in log lines.
    """

    # Slots, not a dict per instance: one of these per session (python -m bench.memory).
    __slots__ = ("_closed", "_fd", "_label", "_limit", "_loop", "_pending", "_size", "_writing")

    def __init__(
        self, fd: int, loop: asyncio.AbstractEventLoop, *, limit: int, label: str = ""
    ) -> None:
        self._fd = fd
        self._loop = loop
        self._limit = limit
        self._label = label
        # None while nothing waits: most sessions never fill the PTY's input buffer, and an
        # empty deque costs ~760 bytes per session (python -m bench.memory).
        self._pending: deque[bytes] | None = None
        self._size = 0
        self._writing = False  # the loop watches the fd for writability
        self._closed = False

    @property
    def pending_bytes(self) -> int:
        """Input accepted but not yet written to the terminal."""
        return self._size

    def write(self, data: bytes) -> None:
        """Queue ``data`` after what waits and write what the terminal takes now.

        Raises ``InputOverflow`` when more than ``limit`` bytes would wait.
        """
        if _INTERRUPT in data and self._pending:
            # As the tty driver flushes its input queue on an interrupt character, drop a
            # queued paste so that Ctrl+C reaches the shell now, not after megabytes.
            self._clear()
            data = data[data.rfind(_INTERRUPT) :]
        if self._size + len(data) > self._limit:
            raise InputOverflow(self._limit)
        if self._pending is None:
            self._pending = deque()
        self._pending.append(data)
        self._size += len(data)
        self._flush()

    def _flush(self) -> None:
        if self._closed:
            return
        pending = self._pending
        while pending:
            chunk = pending[0]
            try:
                written = os.write(self._fd, chunk)
            except BlockingIOError:
                written = 0
            except OSError as exc:
                log.debug("write to terminal %s failed: %s", self._label, exc)
                self._clear()
                break
            self._size -= written
            if written < len(chunk):
                pending[0] = chunk[written:]
                if not self._writing:
                    self._loop.add_writer(self._fd, self._flush)
                    self._writing = True
                return
            pending.popleft()
        self._pending = None
        self._stop_watching()

    def close(self) -> None:
        """Drop what waits and stop watching the fd (before the session closes it)."""
        self._closed = True
        self._stop_watching()
        self._clear()

    def _stop_watching(self) -> None:
        if self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False

    def _clear(self) -> None:
        self._pending = None
        self._size = 0
