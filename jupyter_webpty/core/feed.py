"""A session's output side: each read recorded once, told to the hooks, sent to the viewers.

This is a terminal's hot path. What one read of the PTY returned (``Reader``, ``reading.py``)
comes to ``Feed.take``; it is recorded (``Output``: retention, restore points, the command log),
passed to the hooks that follow the output (the retention budget, the revival store), delivered
(``Viewers``), and reading pauses while no viewer can take more. Nothing here touches a process
or a descriptor: the session hands ``Feed`` the reader while its shell runs.
"""

from __future__ import annotations

from collections.abc import Callable

from .heap import TRIMMER
from .output import Output
from .reading import Reader
from .viewers import Viewers


class Feed:
    """The path of one session's output from the PTY to its viewers, and the hooks on it.

    The hooks are None until the session sets them: ``on_retained(change)`` when the retained
    output grows or shrinks by reading, ``on_record(data, end)`` with each piece recorded, and
    ``on_trim()`` before the budget trims retained output. ``touch()`` marks activity on each
    read; ``on_eof()`` is told when the PTY reached its end.
    """

    # Slots, not a dict per instance: one of these per session (python -m bench.memory).
    __slots__ = (
        "_on_eof",
        "_touch",
        "on_record",
        "on_retained",
        "on_trim",
        "output",
        "reader",
        "viewers",
    )

    def __init__(
        self,
        output: Output,
        viewers: Viewers,
        *,
        touch: Callable[[], None],
        on_eof: Callable[[], None],
    ) -> None:
        self.output = output
        self.viewers = viewers
        self._touch = touch
        self._on_eof = on_eof
        #: The reader this pauses and resumes: set while the shell runs, else None.
        self.reader: Reader | None = None
        self.on_retained: Callable[[int], None] | None = None
        self.on_record: Callable[[bytes, int], None] | None = None
        self.on_trim: Callable[[], None] | None = None

    def take(self, data: bytes, eof: bool) -> None:
        """Take what one read of the PTY returned (the ``Reader``'s ``on_read``)."""
        if data:
            self.record(data)  # which reads on, or pauses, through _update_reading
        else:
            self._update_reading()
        if eof:
            self._on_eof()  # only heeded without a pidfd

    def record(self, data: bytes) -> None:
        """Record ``data`` as output, tell the hooks, and deliver it to whoever can take it."""
        output = self.output
        start = output.end
        change = output.record(data)
        if self.on_retained is not None:
            self.on_retained(change)
        if self.on_record is not None:
            self.on_record(data, output.end)
        self._touch()
        self.viewers.deliver(data, start)
        self._update_reading()
        TRIMMER.output(len(data))  # after delivery: what the flood freed goes back (heap.py)

    def _update_reading(self) -> None:
        # Pause the PTY only while nobody can take more; detached sessions keep reading.
        reader = self.reader
        if reader is None:
            return
        if self.viewers.is_held:
            reader.pause()
        else:
            reader.resume()

    def detach(self, key: object) -> bool:
        """Stop delivering to ``key``; return whether it was attached."""
        if not self.viewers.detach(key):
            return False
        self._update_reading()
        return True

    def ack(self, key: object, offset: int) -> None:
        """Record that ``key`` processed output up to ``offset``; resume it if it was held."""
        self.viewers.ack(key, offset)
        self._update_reading()

    def trim(self, keep: int) -> int:
        """Drop the oldest retained output down to about ``keep`` bytes; return bytes freed."""
        if self.on_trim is not None:  # the revival store takes what it has not saved yet
            self.on_trim()
        return self.output.trim(keep)

    def close(self) -> None:
        """Leave reading alone and forget every viewer (the shell exited, or was let go)."""
        self.reader = None
        self.viewers.clear()
