"""The viewers of one session: delivery with flow control, and who drives the terminal's size.

Each viewer (a browser tab, a widget, a terminado socket) is sent output from the session's
``Output`` until it has ``high_water`` bytes unacknowledged, and resumes once its backlog is down
to ``low_water``. One slow viewer never holds the others: it is only asked to reset (a screen
restore) if the output it still needs fell out of retention. Nothing here touches a process; the
session tells ``Viewers`` what was read and asks it whether anyone can take more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from .output import Output

#: ``sink(data, end_offset)`` delivers output to one viewer; it must not block.
OutputSink = Callable[[bytes, int], None]
#: ``reset(preamble, start_offset)`` tells a viewer to reset before the output that follows.
ResetSink = Callable[[str, int], None]
#: ``resize(cols, rows)`` gives the terminal the size of the viewer that drives it.
SizeSetter = Callable[[int, int], None]

#: Most bytes sent to a viewer in one message from retained output (as one read takes at most).
MESSAGE_LIMIT = 256 * 1024
#: Messages are at most this share of the window, so that two are in flight and the client's
#: acks (every 64 KiB) arrive while the server still sends: with messages as large as the
#: window (256 KiB) the server mostly waited for each ack, and `cat` ran at a third of ttyd's
#: rate. A quarter (64 KiB) pipelined too, but cost per message: on a quiet machine, halves
#: gave `cat` 56-60 MB/s against 45-52 for quarters, Ctrl+C unchanged (issue 16; bench/README.md).
MESSAGES_PER_WINDOW = 2
#: Smaller messages than this cost more per byte than they gain (one line-discipline buffer).
_SMALLEST_LIMIT = 4096


def message_limit(high_water: int) -> int:
    """The most output bytes per message for a flow-control window of ``high_water`` bytes."""
    return min(MESSAGE_LIMIT, max(_SMALLEST_LIMIT, high_water // MESSAGES_PER_WINDOW))


@dataclass(frozen=True)
class Attached:
    """Where delivery to a new viewer starts and how."""

    offset: int
    end: int
    truncated: bool
    preamble: str


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


class Viewers:
    """Who watches one session's ``output``, what each was sent, and whose size applies.

    ``resize(cols, rows)`` sets the terminal's size when the driving viewer changes;
    ``repaint()`` asks a full-screen program to redraw for a viewer whose restore needs it.
    """

    # Slots, not a dict per instance: one of these per session (python -m bench.memory).
    __slots__ = (
        "_driver",
        "_high",
        "_low",
        "_message_limit",
        "_output",
        "_repaint",
        "_resize",
        "_viewers",
    )

    def __init__(
        self,
        output: Output,
        *,
        high_water: int,
        low_water: int,
        resize: SizeSetter,
        repaint: Callable[[], None],
    ) -> None:
        self._output = output
        self._high = high_water
        self._low = low_water
        self._message_limit = message_limit(high_water)
        self._resize = resize
        self._repaint = repaint
        self._viewers: dict[object, _Viewer] = {}
        self._driver: object | None = None  # the viewer whose size the terminal has

    def __len__(self) -> int:
        return len(self._viewers)

    def __contains__(self, key: object) -> bool:
        return key in self._viewers

    @property
    def is_held(self) -> bool:
        """Whether viewers are attached and none can take more output now (pause reading)."""
        high = self._high
        return bool(self._viewers) and all(v.sent - v.acked >= high for v in self._viewers.values())

    def attach(
        self, key: object, sink: OutputSink, reset: ResetSink, offset: int | None = None
    ) -> Attached:
        """Start delivering output to ``sink``, after ``offset`` if still retained."""
        output = self._output
        if offset is not None and output.is_retained(offset):
            start, truncated, preamble = offset, False, ""
        else:
            restore = output.restore()
            start, truncated, preamble = restore.offset, True, restore.preamble
            if restore.repaint:
                self._repaint()
        viewer = _Viewer(sink, reset, start)
        self._viewers[key] = viewer
        # Deliver after the caller had a chance to send its reply.
        asyncio.get_running_loop().call_soon(self._pump, viewer)
        return Attached(offset=start, end=output.end, truncated=truncated, preamble=preamble)

    def detach(self, key: object) -> bool:
        """Stop delivering to ``key``; return whether it was attached.

        If ``key`` drove the size, the most recently active viewer that told its size drives next.
        """
        viewer = self._viewers.pop(key, None)
        if viewer is None:
            return False
        if self._driver is key:
            self._driver = None
            remaining = max(self._viewers.items(), key=lambda kv: kv[1].last_active, default=None)
            if remaining is not None and remaining[1].cols and remaining[1].rows:
                self._driver = remaining[0]
                self._resize(remaining[1].cols, remaining[1].rows)
        return True

    def clear(self) -> None:
        """Forget every viewer (the session closed)."""
        self._viewers.clear()
        self._driver = None

    def ack(self, key: object, offset: int) -> None:
        """Record that ``key`` processed output up to ``offset``; resume it if it was held."""
        viewer = self._viewers.get(key)
        if viewer is None or offset <= viewer.acked:
            return
        viewer.acked = min(offset, viewer.sent)
        if viewer.sent - viewer.acked <= self._low:
            self._pump(viewer)

    def typed(self, key: object) -> None:
        """``key`` sent input: it becomes active, and drives the size if it told one."""
        viewer = self._viewers.get(key)
        if viewer is None:
            return
        viewer.last_active = time.monotonic()
        if self._driver is not key and viewer.cols and viewer.rows:
            self._driver = key
            self._resize(viewer.cols, viewer.rows)

    def resized(self, key: object, cols: int, rows: int) -> None:
        """``key`` has a terminal of ``cols`` x ``rows`` and drives the size from now on.

        The caller sets the size itself (a resize without a viewer also applies).
        """
        viewer = self._viewers.get(key)
        if viewer is None:
            return
        viewer.cols, viewer.rows = cols, rows
        viewer.last_active = time.monotonic()
        self._driver = key

    def deliver(self, data: bytes, start: int) -> None:
        """Send ``data``, just recorded at stream offset ``start``, to whoever can take it."""
        end = self._output.end
        high = self._high
        for viewer in list(self._viewers.values()):
            if viewer.sent == start and viewer.sent - viewer.acked < high:
                viewer.sent = end
                viewer.sink(data, end)  # fast path: no copy out of the buffer
            else:
                self._pump(viewer)

    def _pump(self, viewer: _Viewer) -> None:
        output = self._output
        high = self._high
        while viewer.sent < output.end and viewer.sent - viewer.acked < high:
            if viewer.sent < output.base:
                # Fell off the retained buffer (only a viewer slower than others can): resync.
                restore = output.restore()
                viewer.sent = viewer.acked = restore.offset
                viewer.reset(restore.preamble, restore.offset)
                continue
            chunk = output.read(viewer.sent, self._message_limit)
            viewer.sent += len(chunk)
            viewer.sink(chunk, viewer.sent)
