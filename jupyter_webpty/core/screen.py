"""Screen restore points found by a cheap byte scan of the output stream.

A full terminal model (pyte 0.8: about 0.8 MB/s here) costs about 100x the PTY's speed, so instead
of keeping one we remember where in the stream the screen was last rebuilt from nothing: the
session start, a full reset (``ESC c``), a clear with cursor home, or the switch to the alternate
screen. Replaying the retained bytes from such a point, after restoring the few terminal modes in
force there, paints the same screen a viewer that saw everything has. The scan is C-speed
``bytes.find`` calls for the few rare bytes that end the sequences that matter, and a regex match
at each hit (or, where DEC mode sets are frequent, a regex search for them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# DEC private modes worth restoring; 47/1047/1049 are folded into the ``alt`` flag.
_TRACKED = frozenset(
    {1, 6, 7, 25, 66, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 2004}
)  # fmt: skip
_DEFAULT_ON = frozenset({7, 25})
_MODE_DIGITS = 5  # significant digits of a mode parameter worth reading (1049 has 4)
_ALT_MODES = frozenset({47, 1047, 1049})
_HOME = (b"\x1b[H", b"\x1b[1;1H", b"\x1b[;H", b"\x1b[0;0H")
#: A DEC private mode set or reset, ``ESC [ ? params h`` or ``l``, from its ``?`` on: a search
#: for it then only stops at a ``?`` (rare) to look behind for ``ESC [``, not at every ESC.
_PRIVATE = re.compile(rb"\?(?<=\x1b\[\?)[0-9;]*[hl]")
_INCOMPLETE = re.compile(rb"\x1b(?:\[[?0-9;]*)?\Z")
#: ``_probe`` checks the hits of a needle's last byte one by one (~0.2 µs each) while, past
#: the first few, they are no more than one per ``_PROBE_SPACING`` bytes; if they are denser, a
#: regex search for the needles (``_Needles.regex``) is cheaper for the rest of the chunk
#: (~0.5 ns/byte).
_PROBE_SPACING = 512
_FREE_PROBES = 4
_FIRST_BOUND = -_FREE_PROBES * _PROBE_SPACING  # see ``_probe``
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


_INITIAL = Modes()


def _private_modes(modes: Modes, params: bytes, enable: bool) -> tuple[Modes, bool]:
    """The modes after ``ESC [ ? params h`` (or ``l``), and whether it entered the alternate screen."""
    on = set(modes.on)
    alt = modes.alt
    entered_alt = False
    for text in params.split(b";"):
        # Printed output is untrusted: ``int()`` of a 5000-digit parameter raises (Python's
        # digit limit), and no mode worth tracking has more than four significant digits.
        digits = text.lstrip(b"0")
        if not text.isdigit() or len(digits) > _MODE_DIGITS:
            continue
        mode = int(digits or b"0")
        if mode in _ALT_MODES:
            entered_alt = enable and not alt
            alt = enable
        elif mode in _TRACKED:
            (on.add if enable else on.discard)(mode)
    return Modes(frozenset(on), alt, modes.keypad), entered_alt


class _State:
    """One ``Modes`` value, and where each sequence seen in it led: a memo of the walk.

    Full-screen programs send the same few sequences over and over (the cursor is hidden while
    they draw and shown after, the keypad mode is set with every repaint), so following the modes
    is a walk over a small graph: one dict look-up keyed by the sequence's bytes once it has been
    seen, where working the modes out and building a frozen ``Modes`` costs ~1 µs. A step leads
    to the one ``_State`` of its ``Modes`` (``_state_of``), so the walk comes back to states whose
    steps are known. A step depends on nothing but the ``Modes`` and the bytes, so the memo is
    shared by all trackers and may be dropped at any time.
    """

    __slots__ = ("modes", "steps")

    def __init__(self, modes: Modes) -> None:
        self.modes = modes
        #: sequence -> (state after it, +1 if it entered the alternate screen, -1 if it left)
        self.steps: dict[bytes, tuple[_State, int]] = {}

    def learn(self, sequence: bytes) -> tuple[_State, int]:
        """The step for a ``_PRIVATE`` match (``? params h`` or ``l``, without its ``ESC [``),
        ``ESC =`` or ``ESC >``, worked out and kept."""
        if sequence[0] == 0x3F:  # ?: a mode set or reset
            modes, entered = _private_modes(self.modes, sequence[1:-1], sequence[-1] == 0x68)
        else:  # ESC = turns application keypad mode on, ESC > off
            modes, entered = Modes(self.modes.on, self.modes.alt, sequence == b"\x1b="), False
        change = 1 if entered else -1 if self.modes.alt and not modes.alt else 0
        step = (_state_of(modes), change)
        # A program's own mode sets are short; a long one is odd output (a file of digits), not
        # worth keeping: the memo holds at most _MAX_STEPS keys of _MAX_KEY bytes per state.
        if len(sequence) <= _MAX_KEY:
            if len(self.steps) >= _MAX_STEPS:  # odd parameter lists must not grow it without end
                self.steps.clear()
            self.steps[sequence] = step
        return step


#: Bounds on the memo; past one it starts afresh (a cost, never a change in behaviour).
_MAX_STEPS = 32
_MAX_KEY = 64
_MAX_STATES = 256
_STATES: dict[Modes, _State] = {}


def _state_of(modes: Modes) -> _State:
    """The one ``_State`` of ``modes``."""
    state = _STATES.get(modes)
    if state is None:
        if len(_STATES) >= _MAX_STATES:
            _STATES.clear()
        state = _STATES[modes] = _State(modes)
    return state


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


@dataclass(slots=True)  # one per session: no instance dict (python -m bench.memory)
class ScreenTracker:
    """Follows the output stream's modes and latest restore points."""

    modes: Modes = field(default_factory=Modes)
    normal_point: RestorePoint = field(default_factory=lambda: RestorePoint(0, Modes()))
    alt_point: RestorePoint | None = None
    _carry: bytes = b""
    _previous: bytes = b""  # the end of the last chunk, for a home sequence split from a clear
    _clear_at: int | None = None  # a clear ending the last chunk, waiting for a home after it
    _state: _State = field(default_factory=lambda: _state_of(Modes()), repr=False, compare=False)
    # The last clears with the cursor at home in the chunk being fed, on the normal and the
    # alternate screen, as (offset, modes): ``feed`` makes them restore points when it is done.
    # A full-screen program clears with every repaint and most are overtaken within the chunk,
    # where a frozen ``RestorePoint`` for each would cost ~0.4 µs.
    _normal_clear: tuple[int, Modes] | None = field(default=None, repr=False, compare=False)
    _alt_clear: tuple[int, Modes] | None = field(default=None, repr=False, compare=False)

    def feed(self, data: bytes, end: int) -> None:
        """Scan ``data``, which ends at stream offset ``end``."""
        if self._carry:
            data = self._carry + data
            self._carry = b""
        start = end - len(data)
        if self._clear_at is not None and data.startswith(_HOME):
            self._record_clear(self._clear_at, self.modes)
        self._clear_at = None
        if b"\x1b" in data:  # every sequence that matters starts with one: text costs a memchr
            starts, rest = _sequence_starts(data)
            if starts or rest < len(data):
                self._apply(data, start, starts, rest)
        if self._normal_clear is not None:  # the clears the scan recorded become points
            self.normal_point = RestorePoint(*self._normal_clear)
            self._normal_clear = None
        if self._alt_clear is not None:
            self.alt_point = RestorePoint(*self._alt_clear)
            self._alt_clear = None
        tail = _INCOMPLETE.search(data, max(0, len(data) - 24))
        if tail is not None:
            self._carry = tail.group(0)
            data = data[: tail.start()]  # the carried bytes are scanned again next time
        self._previous = data[-8:]

    def _apply(self, data: bytes, start: int, starts: list[int], rest: int) -> None:
        """Apply the sequences at ``starts``, and the mode sets from ``rest`` on, in order.

        The mode sets from ``rest`` on are not in ``starts`` (``_sequence_starts``): those in
        each stretch between two starts, and after the last, go to ``_set_modes`` before the
        start that ends the stretch.
        """
        # ``modes`` is a public field: its ``_State`` is looked up again if it was replaced.
        state = self._state if self._state.modes is self.modes else _state_of(self.modes)
        pos = rest  # where the stretch of mode sets not in ``starts`` begins
        for at in starts:
            if at > pos:
                state = self._set_modes(data, start, pos, at, state)
                pos = at + 1
            # ``_sequence_starts`` only gives the starts of ESC [ ?, ESC [ 2 J, ESC [ 3 J, ESC c,
            # ESC = and ESC >: the byte after the ESC, and the one after ``[``, tell them apart.
            kind = data[at + 1]
            if kind == 0x5B:  # [
                if data[at + 2] == 0x3F:  # ?
                    match = _PRIVATE.match(data, at + 2)
                    if match is not None:  # else cut off (carried to the next chunk) or no h/l
                        state = self._follow((match,), state, start)
                else:  # ESC [ 2 J or ESC [ 3 J
                    self._maybe_clear(data, start, at, state.modes)
            elif kind == 0x63:  # c: a full reset
                state = _state_of(_INITIAL)
                self._normal_clear = self._alt_clear = None  # overtaken by the reset
                self.alt_point = None
                self.normal_point = RestorePoint(start + at + 2, state.modes)
            else:  # ESC = or ESC >, which never switch screens
                sequence = data[at : at + 2]
                state = (state.steps.get(sequence) or state.learn(sequence))[0]
        if pos < len(data):
            state = self._set_modes(data, start, pos, len(data), state)
        self.modes = state.modes
        self._state = state

    def _set_modes(self, data: bytes, start: int, pos: int, stop: int, state: _State) -> _State:
        """Follow the mode sets in ``data[pos:stop]`` from ``state``; the state after them.

        ``findall`` gives just the sequences, not a match object for each; only a switch of
        screens needs to know where it is, and then the stretch is gone through again.
        """
        after = state
        for sequence in _PRIVATE.findall(data, pos, stop):
            after, change = after.steps.get(sequence) or after.learn(sequence)
            if change:
                return self._follow(_PRIVATE.finditer(data, pos, stop), state, start)
        return after

    def _follow(self, matches: Iterable[re.Match[bytes]], state: _State, start: int) -> _State:
        """Follow ``matches`` of ``_PRIVATE`` from ``state``; the state after them."""
        for match in matches:
            after, change = state.steps.get(match[0]) or state.learn(match[0])
            if change:  # entered (> 0) or left the alternate screen
                self._alt_clear = None  # overtaken by the switch
                # Replaying from the switch itself (its ESC, two bytes before the match)
                # rebuilds the alternate screen.
                offset = start + match.start() - 2
                self.alt_point = RestorePoint(offset, state.modes) if change > 0 else None
            state = after
        return state

    def _maybe_clear(self, data: bytes, start: int, at: int, modes: Modes) -> None:
        """Record a restore point for the ``ESC [ 2 J`` or ``ESC [ 3 J`` at ``at``, made in
        ``modes``, if the cursor is at home then."""
        # Only a clear with the cursor at home fixes the whole screen; find the home next to it.
        if at >= 8:
            before, stop = data, at  # the bytes before the clear, in place: no copy of the chunk
        else:  # the home may end the last chunk
            before = self._previous + data[:at]
            stop = len(before)
        if before.endswith(_HOME, 0, stop):
            # Each home holds one ESC, at its start: the last one before the clear.
            self._record_clear(start + at - (stop - before.rfind(b"\x1b", 0, stop)), modes)
        elif data.startswith(_HOME, at + 4):
            self._record_clear(start + at, modes)
        elif at + 4 == len(data):
            self._clear_at = start + at  # the home may start the next chunk

    def _record_clear(self, offset: int, modes: Modes) -> None:
        """Make ``offset`` the restore point of the screen ``modes`` are on, when ``feed`` ends."""
        if modes.alt:
            self._alt_clear = (offset, modes)
        else:
            self._normal_clear = (offset, modes)

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
        return line_restore(base, end, buffer, self.modes.preamble())


def line_restore(base: int, end: int, buffer: bytes | bytearray, preamble: str = "") -> Restore:
    """Replay the retained bytes ``buffer`` (from ``base``) from their first line start on.

    What is left when no restore point is known: starting at a line keeps a cut escape
    sequence or character from the start of the replay.
    """
    newline = buffer.find(b"\n")
    offset = base + newline + 1 if newline >= 0 else end
    return Restore(preamble, offset)


def _sequence_starts(data: bytes) -> tuple[list[int], int]:
    """Where the sequences that can change the tracker's state start, in order; and where the
    mode sets start to be left out of them (``len(data)`` if none are), for ``_apply`` to find.

    Full-screen programs put an escape sequence every few bytes (cursor moves and colours), and
    running a regex for all the sequences that matter over such a chunk costs ~100 ns per ESC.
    Yet every one of them ends in a byte that is rare in terminal output (``?`` of ``ESC [ ?``,
    ``J``, ``c``, ``=``, ``>``): finding those is a memchr pass each, and the regex only runs
    where a needle sits. The sequences cannot overlap (none holds a second ESC), so handling
    them at the sorted starts goes through them as a single regex pass would, minus erases
    other than ``2J``/``3J``, which change nothing.

    Where ``ESC [ ?`` is frequent (full-screen programs set modes around every repaint), the
    mode sets past the first few are left to ``_apply``, which finds them with a ``_PRIVATE``
    search between the other starts: that yields the sequences themselves, where a list of
    starts would need a match at each.
    """
    private, rest = _probe(data, _MODE_SETS)
    if rest < len(data):
        found = _MODE_SETS.regex.search(data, rest)  # the first ESC [ ? past the probes
        rest = len(data) if found is None else found.end() - 3
    erases = _occurrences(data, _ERASES)
    clears = [at - 2 for at in erases if at >= 2 and data.startswith(b"\x1b[", at - 2)]
    resets = _occurrences(data, _RESETS)
    # Keypad mode (ESC = / ESC >) is only looked for in chunks that also set a DEC mode, erase
    # the display or reset, as every full-screen program sets it along with those: not looking
    # elsewhere saves two passes over ordinary output. Any "2J" or "3J" counts, even in text:
    # that only lets a keypad change through.
    if not (private or rest < len(data) or erases or resets):
        return [], rest
    keypad = _occurrences(data, _KEYPAD_ON) + _occurrences(data, _KEYPAD_OFF)
    return sorted(private + clears + resets + keypad), rest


def _probe(data: bytes, needles: _Needles) -> tuple[list[int], int]:
    """Offsets in ``data`` of ``needles`` (of one length and last byte), in order, found by
    probing the hits of their last byte; and where the probes stopped: ``len(data)`` if they
    went through, else the offset after the last needle probed, where hits got denser than one
    per ``_PROBE_SPACING`` bytes (past the first few).

    The hits are found from C-speed ``find`` calls for the last byte: a one-byte ``find`` is a
    memchr, some 50x faster than a search for a needle that starts with ESC where ESC is
    everywhere, but each hit costs ~0.15 µs of Python.
    """
    last, back = needles.last, needles.back
    at = data.find(last, back)  # from ``back`` on, so that a needle fits before the hit
    if at < 0:
        return [], len(data)
    firsts = needles.firsts
    found: list[int] = []
    # The k-th probe is one too many if k > _FREE_PROBES + at // _PROBE_SPACING, that is if
    # ``at`` is below (k - _FREE_PROBES) * _PROBE_SPACING: ``bound``, kept up as k grows.
    bound = _FIRST_BOUND
    while at >= 0:
        # A test of the first byte is a third of a ``startswith``, and turns most hits away.
        if data[at - back] in firsts and data.startswith(needles.needles, at - back):
            found.append(at - back)
        bound += _PROBE_SPACING
        if at < bound:
            return found, at - back + 1
        at = data.find(last, at + 1)
    return found, len(data)


def _occurrences(data: bytes, needles: _Needles) -> list[int]:
    """Offsets in ``data`` of ``needles`` (of one length and last byte), in order.

    Where the last byte is common too (``c`` in prose, ``=`` in code), ``_probe`` leaves the
    rest of ``data`` to a regex search for the needles: slower per byte than memchr, but not
    per hit.
    """
    found, rest = _probe(data, needles)
    if rest < len(data):
        size = needles.back + 1  # a match may start at the needle's last byte (``_Needles``)
        found += [match.end() - size for match in needles.regex.finditer(data, rest)]
    return found


class _Needles:
    """Byte strings of one length and last byte, for ``_probe`` and ``_occurrences``."""

    __slots__ = ("back", "firsts", "last", "needles", "regex")

    def __init__(self, *needles: bytes) -> None:
        self.needles = needles
        self.last = needles[0][-1:]
        self.back = len(needles[0]) - 1  # from the last byte back to the first
        self.firsts = bytes(needle[0] for needle in needles)
        if len(needles) == 1:
            self.regex = re.compile(re.escape(needles[0]))
        else:  # ``2J|3J`` has no literal prefix for the regex engine to skip to: matched from
            # the last byte, looking behind for the rest, it is searched for ~10x faster.
            alternatives = b"|".join(re.escape(needle) for needle in needles)
            self.regex = re.compile(re.escape(self.last) + b"(?<=" + alternatives + b")")


_MODE_SETS = _Needles(b"\x1b[?")
_ERASES = _Needles(b"2J", b"3J")
_RESETS = _Needles(b"\x1bc")
_KEYPAD_ON = _Needles(b"\x1b=")
_KEYPAD_OFF = _Needles(b"\x1b>")
