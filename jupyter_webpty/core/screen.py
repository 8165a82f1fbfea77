"""Screen restore points found by a cheap byte scan of the output stream.

A full terminal model (pyte) costs about 100x the PTY's speed (FACTS.md), so instead of keeping
one we remember where in the stream the screen was last rebuilt from nothing: the session start,
a full reset (``ESC c``), a clear with cursor home, or the switch to the alternate screen. Replaying
the retained bytes from such a point, after restoring the few terminal modes in force there,
paints the same screen a viewer that saw everything has. The scan is a C-speed ``bytes.find``
for ESC and a regex over the few chunks that contain one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# DEC private modes worth restoring; 47/1047/1049 are folded into the ``alt`` flag.
_TRACKED = frozenset(
    {1, 6, 7, 25, 66, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 2004}
)  # fmt: skip
_DEFAULT_ON = frozenset({7, 25})
_ALT_MODES = frozenset({47, 1047, 1049})
_HOME = (b"\x1b[H", b"\x1b[1;1H", b"\x1b[;H", b"\x1b[0;0H")
_SEQUENCE = re.compile(rb"\x1b(?:\[\?([0-9;]*)([hl])|\[([0-9;]*)J|(c)|([=>]))")
_INCOMPLETE = re.compile(rb"\x1b(?:\[[?0-9;]*)?\Z")
#: A normal-screen restore point farther back than this is not worth replaying when a
#: point inside the alternate screen exists (vim's repaints can be megabytes).
_MAX_NORMAL_REPLAY = 1 << 20


@dataclass(frozen=True)
class Modes:
    """Terminal modes in force at a point of the stream."""

    on: frozenset[int] = _DEFAULT_ON
    alt: bool = False
    keypad: bool = False

    def preamble(self) -> str:
        """Escape sequences that put a freshly reset terminal in these modes."""
        parts = [f"\x1b[?{mode}h" for mode in sorted(self.on - _DEFAULT_ON)]
        parts += [f"\x1b[?{mode}l" for mode in sorted(_DEFAULT_ON - self.on)]
        if self.alt:
            parts.insert(0, "\x1b[?1049h")
        if self.keypad:
            parts.append("\x1b=")
        return "".join(parts)


@dataclass(frozen=True)
class RestorePoint:
    """Replay from ``offset`` after writing the preamble of ``modes``."""

    offset: int
    modes: Modes


@dataclass(frozen=True)
class Restore:
    """How to show the current screen: modes preamble, replay start, and whether to repaint."""

    preamble: str
    offset: int
    repaint: bool = False


@dataclass
class ScreenTracker:
    """Follows the output stream's modes and latest restore points."""

    modes: Modes = field(default_factory=Modes)
    normal_point: RestorePoint = field(default_factory=lambda: RestorePoint(0, Modes()))
    alt_point: RestorePoint | None = None
    _carry: bytes = b""
    _previous: bytes = b""  # the end of the last chunk, for a home sequence split from a clear
    _clear_at: int | None = None  # a clear ending the last chunk, waiting for a home after it

    def feed(self, data: bytes, end: int) -> None:
        """Scan ``data``, which ends at stream offset ``end``."""
        if self._carry:
            data = self._carry + data
            self._carry = b""
        start = end - len(data)
        if self._clear_at is not None and data.startswith(_HOME):
            self._record_clear(self._clear_at)
        self._clear_at = None
        # Colour codes are the common escapes and none of them matter here: a few C-speed
        # substring tests skip the regex for nearly every chunk of ordinary output. Keypad
        # mode (ESC = / ESC >) is only looked for in chunks that also set a DEC mode, as every
        # full-screen program does along with it: a separate test would cost 10% of throughput.
        if b"\x1b" in data and (
            b"\x1b[?" in data
            or (b"J" in data and (b"2J" in data or b"3J" in data))
            or b"\x1bc" in data
        ):
            for match in _SEQUENCE.finditer(data):
                self._apply(match, data, start)
        tail = _INCOMPLETE.search(data, max(0, len(data) - 24))
        if tail is not None:
            self._carry = tail.group(0)
            data = data[: tail.start()]  # the carried bytes are scanned again next time
        self._previous = data[-8:]

    def _apply(self, match: re.Match[bytes], data: bytes, start: int) -> None:
        params, flag, erase, reset, keypad = match.groups()
        if flag is not None:
            self._set_private(params, flag == b"h", start + match.start())
        elif erase is not None:
            if erase == b"2" or erase == b"3":
                self._maybe_clear(match, data, start)
        elif reset is not None:
            self.modes = Modes()
            self.alt_point = None
            self.normal_point = RestorePoint(start + match.end(), self.modes)
        elif keypad is not None:
            self.modes = Modes(self.modes.on, self.modes.alt, keypad == b"=")

    def _set_private(self, params: bytes, enable: bool, offset: int) -> None:
        on = set(self.modes.on)
        alt = self.modes.alt
        entered_alt = False
        for text in params.split(b";"):
            if not text.isdigit():
                continue
            mode = int(text)
            if mode in _ALT_MODES:
                entered_alt = enable and not alt
                alt = enable
            elif mode in _TRACKED:
                (on.add if enable else on.discard)(mode)
        before = self.modes
        self.modes = Modes(frozenset(on), alt, self.modes.keypad)
        if entered_alt:
            # Replaying from the switch itself rebuilds the alternate screen.
            self.alt_point = RestorePoint(offset, before)
        elif before.alt and not alt:
            self.alt_point = None

    def _maybe_clear(self, match: re.Match[bytes], data: bytes, start: int) -> None:
        # Only a clear with the cursor at home fixes the whole screen; find the home next to it.
        at = match.start()
        before = self._previous + data[:at] if at < 8 else data[:at]
        home_before = next((h for h in _HOME if before.endswith(h)), None)
        if home_before is not None:
            self._record_clear(start + at - len(home_before))
        elif data.startswith(_HOME, match.end()):
            self._record_clear(start + at)
        elif match.end() == len(data):
            self._clear_at = start + at  # the home may start the next chunk

    def _record_clear(self, offset: int) -> None:
        point = RestorePoint(offset, self.modes)
        if self.modes.alt:
            self.alt_point = point
        else:
            self.normal_point = point

    def restore(self, base: int, end: int, buffer: bytes | bytearray) -> Restore:
        """Pick how to show the screen from the retained bytes ``buffer`` starting at ``base``."""
        normal = self.normal_point if self.normal_point.offset >= base else None
        if self.modes.alt:
            alt = self.alt_point if self.alt_point and self.alt_point.offset >= base else None
            if normal is not None and (alt is None or end - normal.offset <= _MAX_NORMAL_REPLAY):
                return Restore(normal.modes.preamble(), normal.offset)
            if alt is not None:
                return Restore(alt.modes.preamble(), alt.offset)
            # The program's last full paint is gone: clear and ask it to repaint itself.
            return Restore(self.modes.preamble() + "\x1b[H\x1b[2J", end, repaint=True)
        if normal is not None:
            return Restore(normal.modes.preamble(), normal.offset)
        newline = buffer.find(b"\n")
        offset = base + newline + 1 if newline >= 0 else end
        return Restore(self.modes.preamble(), offset)
