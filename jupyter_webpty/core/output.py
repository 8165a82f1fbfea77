"""A session's output stream: what is retained of it, and what one pass over it learns.

Every read goes through ``Output.record`` once: retained for resume, fed to the screen tracker
(restore points, ``screen.py``) and to the shell-integration marks (the command log,
``marks.py``), which sit here side by side, not in the session. Nothing here touches a process
or a file descriptor, so it can run and be tested on bytes alone.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from .marks import CommandCallback, CommandRecord, Marks
from .screen import Restore, ScreenTracker, line_restore

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024  # retained output is kept in pieces of about this size or larger
#: Command callbacks (terminal:command events, audit lines) per second, and the burst allowed.
#: Marks are output that any program can print by the thousand; people start commands far
#: more slowly. Past the budget the log still records them; only the callbacks are skipped.
_COMMAND_RATE = 100.0
_COMMAND_BURST = 200.0


class _Retained:
    """The latest output as a queue of immutable chunks of one size (``_CHUNK``), and a tail.

    A single bytearray trimmed at the front made the allocator hand out a fresh multi-megabyte
    block at every growth past its capacity; the freed blocks fragmented the heap (about 20 MB
    of RSS for 4 MiB retained). Keeping the reads themselves as chunks copied nothing, but
    their sizes vary and a flood's are made by worker threads, so they sat in those threads'
    malloc arenas: each arena, and the holes of odd sizes the oldest left when trimmed, added
    megabytes to a fresh server's first flood. So each chunk is copied here, on the loop
    thread, into blocks of one size that glibc reuses in place once trimming frees one (one
    copy of each byte; bench/results/2026-12-02-first-flood.md). Small reads are gathered in
    the tail first, so that an interactive session does not keep one object per keystroke.
    """

    __slots__ = ("_chunks", "_size", "_tail", "base")

    def __init__(self) -> None:
        self.base = 0  # stream offset of the first retained byte
        # None until the first chunk: most sessions never print 64 KiB, and an empty deque
        # costs ~760 bytes per session (python -m bench.memory).
        self._chunks: deque[bytes] | None = None
        self._tail = bytearray()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        """Retain ``data`` after what is retained."""
        self._size += len(data)
        view = memoryview(data)
        if self._tail:
            room = _CHUNK - len(self._tail)
            self._tail += view[:room]
            if len(self._tail) < _CHUNK:
                return
            self._add_chunk(bytes(self._tail))
            self._tail = bytearray()
            view = view[room:]
        while len(view) >= _CHUNK:
            self._add_chunk(bytes(view[:_CHUNK]))
            view = view[_CHUNK:]
        if view:
            self._tail += view

    def _add_chunk(self, chunk: bytes) -> None:
        if self._chunks is None:
            self._chunks = deque()
        self._chunks.append(chunk)

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
        """Up to ``limit`` bytes from stream offset ``offset`` (retained, not past the end).

        A whole chunk is returned as it is; a read across chunks is joined (one copy), so that a
        viewer catching up gets messages of ``limit`` bytes, as when chunks were the reads.
        """
        at = offset - self.base
        parts: list[bytes | memoryview] = []
        for chunk in self._chunks or ():
            if at >= len(chunk):
                at -= len(chunk)
                continue
            whole = at == 0 and len(chunk) <= limit
            part = chunk if whole else memoryview(chunk)[at : at + limit]
            parts.append(part)
            limit -= len(part)
            at = 0
            if not limit:
                break
        else:
            if limit and at < len(self._tail):
                parts.append(memoryview(self._tail)[at : at + limit])
        if len(parts) == 1 and isinstance(parts[0], bytes):
            return parts[0]
        return b"".join(parts)  # releases the views: the tail can grow again

    def pieces(self, offset: int) -> tuple[int, list[memoryview]]:
        """Everything retained from stream offset ``offset`` (or the oldest retained byte, if
        later): where it starts, and views of the chunks themselves (only the tail, which
        grows in place, is copied)."""
        at = max(0, offset - self.base)
        pieces = []
        for chunk in self._chunks or ():
            if at < len(chunk):
                pieces.append(memoryview(chunk)[at:])
                at = 0
            else:
                at -= len(chunk)
        if at < len(self._tail):
            pieces.append(memoryview(bytes(self._tail[at:])))
        return max(offset, self.base), pieces

    def join(self) -> bytes:
        """Everything retained, in one piece (for the rare screen restore)."""
        return b"".join((*(self._chunks or ()), self._tail))


class Output:
    """The output stream of one session: retention, restore points and the command log.

    ``label`` names the session in log lines. Offsets count bytes since the session started.
    """

    # Slots, not a dict per instance: one of these per session (python -m bench.memory).
    __slots__ = (
        "_command_budget",
        "_command_refilled",
        "_command_throttled",
        "_label",
        "_marks",
        "_on_command",
        "_retained",
        "_screen",
        "_scrollback",
        "end",
    )

    def __init__(self, scrollback_bytes: int, *, max_commands: int, label: str = "") -> None:
        self.end = 0  # stream offset after the last byte recorded
        self._scrollback = scrollback_bytes
        self._label = label
        self._retained = _Retained()
        self._screen: ScreenTracker | None = ScreenTracker()  # None: tracking failed, see record
        self._marks: Marks | None = Marks(max_commands=max_commands, on_command=self._command)
        self._on_command: list[CommandCallback] = []
        self._command_budget = _COMMAND_BURST
        self._command_refilled = time.monotonic()
        self._command_throttled = False

    def preload(self, base: int, data: bytes, *, commands: bool = False) -> None:
        """Start from ``data``, a saved stream's last bytes starting at offset ``base``.

        The screen tracker scans it for restore points. The command marks do only with
        ``commands`` (a shell the PTY host kept: its command log goes on, and a command running
        through the restart finishes in it); a revived shell is a new one, so its log starts
        empty. Called before any command callback is registered, so nothing is re-audited.
        """
        self._retained.base = base
        self.end = base
        self._retained.append(data)
        self.end += len(data)
        if self._screen is not None and data:
            self._screen.feed(data, self.end)
        if commands and self._marks is not None and data:
            self._marks.feed(data, self.end)

    # -- the stream ----------------------------------------------------------------------------
    @property
    def base(self) -> int:
        """Stream offset of the oldest retained byte."""
        return self._retained.base

    def __len__(self) -> int:
        return len(self._retained)

    def is_retained(self, offset: int) -> bool:
        """Whether delivery can resume at ``offset`` without a restore."""
        return self._retained.base <= offset <= self.end

    def record(self, data: bytes) -> int:
        """Take ``data``, the next output; return how the retained size changed (bytes)."""
        self.end += len(data)
        retained = self._retained
        before = len(retained)
        retained.append(data)
        retained.trim(self._scrollback)
        self._parse(data, self.end)
        return len(retained) - before

    def _parse(self, data: bytes, end: int) -> None:
        """Feed ``data``, the output that ends at ``end``, to the screen tracker and the marks.

        Output that stayed on the alternate screen is a full-screen program's, not the shell's:
        its marks come before and after it, so the marks parser skips it (vim's repaints cost
        it ~0.5 ns/byte, ``python -m bench.run``'s tracker figures).
        """
        on_alt = False
        if self._screen is not None:
            try:
                on_alt = self._screen.feed(data, end)
            except Exception:
                # Output is untrusted input: whatever a program prints, its session must keep
                # flowing. Restore points are a convenience; without them a resume replays
                # from a line start (line_restore).
                log.exception(
                    "screen tracking of terminal %s failed; restore points are off", self._label
                )
                self._screen = None
        if self._marks is not None:
            try:
                if on_alt:
                    self._marks.skip()
                else:
                    self._marks.feed(data, end)
            except Exception:
                # As above: the command log is a convenience, the output must keep flowing.
                log.exception("marks of terminal %s failed; the command log is off", self._label)
                self._marks = None

    def trim(self, keep: int) -> int:
        """Drop the oldest retained output down to about ``keep`` bytes; return bytes freed."""
        before = len(self._retained)
        self._retained.trim(keep)
        return before - len(self._retained)

    def read(self, offset: int, limit: int) -> bytes:
        """Up to ``limit`` retained bytes from ``offset`` (a whole chunk uncopied, if it fits)."""
        return self._retained.read(offset, limit)

    def read_range(self, start: int, end: int) -> tuple[bytes, int]:
        """Retained output between ``start`` and ``end``, and the offset it really starts at."""
        retained = self._retained
        at = first = max(start, retained.base)
        end = min(end, self.end)
        parts = []
        while at < end:
            chunk = retained.read(at, end - at)
            if not chunk:
                break
            parts.append(chunk)
            at += len(chunk)
        return b"".join(parts), first

    def pieces(self, offset: int) -> tuple[int, list[memoryview]]:
        """Retained output from ``offset`` to the end, uncopied (see ``_Retained.pieces``)."""
        return self._retained.pieces(offset)

    def restore(self) -> Restore:
        """How a viewer that missed output sees the current screen (see screen.py)."""
        retained = self._retained
        if self._screen is None:
            return line_restore(retained.base, self.end, retained.join())
        return self._screen.restore(retained.base, self.end, retained.join())

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
                log.warning("terminal %s prints command marks too fast; not reporting", self._label)
                self._command_throttled = True
            self._command_budget = budget
            return
        self._command_budget = budget - 1
        self._command_throttled = False
        for callback in self._on_command:
            try:
                callback(record, finished)
            except Exception:
                log.exception("command callback of terminal %s failed", self._label)

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
