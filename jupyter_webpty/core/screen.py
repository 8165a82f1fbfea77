"""Screen restore points found by a cheap byte scan of the output stream.

A full terminal model (pyte) costs about 100x the PTY's speed (FACTS.md), so instead of keeping
one we remember where in the stream the screen was last rebuilt from nothing: the session start,
a full reset (``ESC c``), a clear with cursor home, or the switch to the alternate screen. Replaying
the retained bytes from such a point, after restoring the few terminal modes in force there,
paints the same screen a viewer that saw everything has. The scan is C-speed ``bytes.find``
calls for the few rare bytes that end the sequences that matter, and a regex match at each hit.
"""

from __future__ import annotations

import functools
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
#: ``_occurrences`` checks the hits of a needle's last byte one by one (~0.2 µs each) while, past
#: the first few, they are no more than one per ``_PROBE_SPACING`` bytes; if they are denser, a
#: regex search for the needles (built here) is cheaper for the rest of the chunk (~0.5 ns/byte).
_PROBE_SPACING = 512
_FREE_PROBES = 4
_NEEDLES: dict[tuple[bytes, ...], re.Pattern[bytes]] = {
    needles: re.compile(b"|".join(re.escape(needle) for needle in needles))
    for needles in [(b"\x1b[?",), (b"2J", b"3J"), (b"\x1bc",), (b"\x1b=",), (b"\x1b>",)]
}
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


@functools.lru_cache(maxsize=256)
def _private_modes(
    on: frozenset[int], alt: bool, keypad: bool, params: bytes, enable: bool
) -> tuple[Modes, bool]:
    """The modes after ``ESC [ ? params h`` (or ``l``), and whether it entered the alternate screen.

    Cached: full-screen programs repeat the same few (the cursor is hidden while they draw and
    shown after), and a hit costs a third of working it out and building a frozen ``Modes``.
    """
    modes = set(on)
    entered_alt = False
    for text in params.split(b";"):
        if not text.isdigit():
            continue
        mode = int(text)
        if mode in _ALT_MODES:
            entered_alt = enable and not alt
            alt = enable
        elif mode in _TRACKED:
            (modes.add if enable else modes.discard)(mode)
    return Modes(frozenset(modes), alt, keypad), entered_alt


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
        if b"\x1b" in data:  # every sequence that matters starts with one: text costs a memchr
            for at in _sequence_starts(data):
                match = _SEQUENCE.match(data, at)
                if match is not None:  # not when ESC [ ? is cut off or not a mode set/reset
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
        before = self.modes
        self.modes, entered_alt = _private_modes(
            before.on, before.alt, before.keypad, params, enable
        )
        if entered_alt:
            # Replaying from the switch itself rebuilds the alternate screen.
            self.alt_point = RestorePoint(offset, before)
        elif before.alt and not self.modes.alt:
            self.alt_point = None

    def _maybe_clear(self, match: re.Match[bytes], data: bytes, start: int) -> None:
        # Only a clear with the cursor at home fixes the whole screen; find the home next to it.
        at = match.start()
        if at >= 8:
            before, stop = data, at  # the bytes before the clear, in place: no copy of the chunk
        else:  # the home may end the last chunk
            before = self._previous + data[:at]
            stop = len(before)
        if before.endswith(_HOME, 0, stop):
            # Each home holds one ESC, at its start: the last one before the clear.
            self._record_clear(start + at - (stop - before.rfind(b"\x1b", 0, stop)))
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


def _sequence_starts(data: bytes) -> list[int]:
    """Where the ``_SEQUENCE`` matches that can change the tracker's state start, in order.

    Full-screen programs put an escape sequence every few bytes (cursor moves and colours), and
    running ``_SEQUENCE`` over such a chunk costs ~100 ns per ESC. Yet every match that matters
    ends in a byte that is rare in terminal output (``?`` of ``ESC [ ?``, ``J``, ``c``, ``=``,
    ``>``): finding those is a memchr pass each, and the regex only runs where a needle sits.
    The matches cannot overlap (none holds a second ESC), so matching at the sorted starts finds
    what ``finditer`` would, minus erases other than ``2J``/``3J``, which change nothing.
    """
    private = _occurrences(data, b"\x1b[?")
    erases = _occurrences(data, b"2J", b"3J")
    clears = [at - 2 for at in erases if at >= 2 and data.startswith(b"\x1b[", at - 2)]
    resets = _occurrences(data, b"\x1bc")
    # Keypad mode (ESC = / ESC >) is only looked for in chunks that also set a DEC mode, erase
    # the display or reset, as every full-screen program sets it along with those: not looking
    # elsewhere saves two passes over ordinary output. Any "2J" or "3J" counts, even in text:
    # that only lets a keypad change through.
    if not (private or erases or resets):
        return []
    keypad = _occurrences(data, b"\x1b=") + _occurrences(data, b"\x1b>")
    return sorted(private + clears + resets + keypad)


def _occurrences(data: bytes, *needles: bytes) -> list[int]:
    """Offsets in ``data`` of ``needles`` (of one length and last byte), in order.

    They are found from C-speed ``find`` calls for the last byte: a one-byte ``find`` is a
    memchr, some 50x faster than a search for a needle that starts with ESC where ESC is
    everywhere. Where the last byte is common too (``c`` in prose, ``=`` in code), hits denser
    than one per ``_PROBE_SPACING`` bytes leave the rest of ``data`` to a regex search for the
    needles: slower per byte than memchr, but not per hit.
    """
    last, back = needles[0][-1:], len(needles[0]) - 1
    found: list[int] = []
    at = data.find(last, back)  # from ``back`` on, so that a needle fits before the hit
    probes = 0
    while at >= 0:
        if data.startswith(needles, at - back):
            found.append(at - back)
        probes += 1
        if probes > _FREE_PROBES + at // _PROBE_SPACING:
            search = _NEEDLES[needles].finditer(data, at - back + 1)
            return found + [match.start() for match in search]
        at = data.find(last, at + 1)
    return found
