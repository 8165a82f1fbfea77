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
from collections.abc import Iterator
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
#: for it only stops at a ``?`` (rare) to look behind for ``ESC [``, not at every ESC.
_PRIVATE = re.compile(rb"\?(?<=\x1b\[\?)[0-9;]*[hl]")
#: Those, the mode sets and the clears (``ESC [ 2 J``, ``ESC [ 3 J``): all the sequences the
#: tracker acts on, for a chunk gone through in order.
_EVENTS = re.compile(rb"\x1b(?:\[\?[0-9;]*[hl]|\[[23]J|[c=>])")
#: A clear, matched from its rare last byte (a search for ``J``, looking behind for the rest).
_CLEAR = re.compile(rb"J(?<=\x1b\[[23]J)")
_INCOMPLETE = re.compile(rb"\x1b(?:\[[?0-9;]*)?\Z")
#: Hits of a needle's last byte checked one by one (~0.2 µs each) before a regex pass takes
#: over (~0.5 ns/byte): ``_contains`` and ``_clears_from_the_end`` take ``_FREE_PROBES``,
#: ``_probe`` goes on while, past those, they are no more than one per ``_PROBE_SPACING`` bytes.
_FREE_PROBES = 4
_PROBE_SPACING = 512
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
            # Entered if this set finds the normal screen, however often it names the mode.
            entered_alt = entered_alt or (enable and not alt)
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
        #: sequence -> (state after it, what else it did: _SAME, _ENTERED, _LEFT or _RESET)
        self.steps: dict[bytes, tuple[_State, int]] = {}

    def learn(self, sequence: bytes) -> tuple[_State, int]:
        """The step for a ``_PRIVATE`` match (``? params h`` or ``l``, without its ``ESC [``) or
        one of the other sequences that change the modes (``ESC =`` and ``ESC >``, application
        keypad on and off; ``ESC c``, the full reset), worked out and kept."""
        if sequence[0] == 0x3F:  # ?: a mode set or reset
            modes, entered = _private_modes(self.modes, sequence[1:-1], sequence[-1] == 0x68)
            left = self.modes.alt and not modes.alt
            change = _ENTERED if entered else _LEFT if left else _SAME
        elif sequence[1] == 0x63:  # c: a full reset
            modes, change = _INITIAL, _RESET
        else:  # ESC = turns application keypad mode on, ESC > off
            modes, change = Modes(self.modes.on, self.modes.alt, sequence[1] == 0x3D), _SAME
        step = (_state_of(modes), change)
        # A program's own mode sets are short; a long one is odd output (a file of digits), not
        # worth keeping: the memo holds at most _MAX_STEPS keys of _MAX_KEY bytes per state.
        if len(sequence) <= _MAX_KEY:
            if len(self.steps) >= _MAX_STEPS:  # odd parameter lists must not grow it without end
                self.steps.clear()
            self.steps[sequence] = step
        return step


#: What a step did besides changing modes (``_State.steps``).
_SAME, _ENTERED, _LEFT, _RESET = 0, 1, -1, 2
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

    def feed(self, data: bytes, end: int) -> bool:
        """Scan ``data``, which ends at stream offset ``end``; return whether all of it was
        on the alternate screen (a full-screen program's, not the shell's: ``Output.record``)."""
        on_alt = self.modes.alt
        if self._carry:
            data = self._carry + data
            self._carry = b""
        start = end - len(data)
        if self._clear_at is not None and data.startswith(_HOME):
            self._record_clear(self._clear_at, self.modes)
        self._clear_at = None
        # Every sequence that matters starts with an ESC, and one of a few rarer bytes tells
        # whether any can be there: text costs a memchr, ordinary output a few more.
        if b"\x1b" in data and _worth_scanning(data) and not self._scan(data, start):
            on_alt = False  # it switched screens or reset
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
        return on_alt and self.modes.alt

    def _scan(self, data: bytes, start: int) -> bool:
        """Follow the modes through ``data``, and record its last clear with the cursor at home.

        A full-screen program sets modes and clears the screen around every repaint, many times
        per chunk, but only where the chunk leaves the modes, and its last clear, matter. The
        clears are searched for from the end; the mode sets are found by a regex search that
        only stops at a ``?`` and walked through the memo of steps; keypad changes, which
        commute with them, only the last one counting, are looked for from the end, and resets
        from the start, by their rare last bytes (``_last_keypad``, ``_has_reset``).
        Only a chunk that switches screens or resets goes through its sequences in order,
        positions and all (``_follow``); then this returns False.
        """
        # ``modes`` is a public field: its ``_State`` is looked up again if it was replaced.
        first = self._state if self._state.modes is self.modes else _state_of(self.modes)
        state = there = None
        clear = None
        if not _has_reset(data):
            clear = self._last_clear(data, start)
            at = len(data) if clear is None else clear[0]
            # The steps before the clear give the modes in force there (none spans it: none
            # holds a second ESC), the rest those at the end.
            there = _walk(first, _PRIVATE.findall(data, 0, at), _last_keypad(data, 0, at))
            if there is not None:
                keypad = _last_keypad(data, at, len(data))
                state = _walk(there, _PRIVATE.findall(data, at), keypad)
        if state is None or there is None:  # a switch of screens or a reset: positions matter
            state = self._follow(data, start, first)
        elif clear is not None:
            self._record_clear(clear[1], there.modes)
        self.modes = state.modes
        self._state = state
        return there is not None and state is not None

    def _last_clear(self, data: bytes, start: int) -> tuple[int, int] | None:
        """Where the last clear with the cursor at home starts in ``data``, and its restore
        point's stream offset (``_clear_offset``)."""
        for at in _clears_from_the_end(data):
            offset = self._clear_offset(data, start, at)
            if offset is not None:
                return at, offset
        return None

    def _follow(self, data: bytes, start: int, state: _State) -> _State:
        """Go through ``data``'s sequences in order from ``state``; the state after them."""
        for match in _EVENTS.finditer(data):
            at = match.start()
            sequence = match[0]
            if sequence[-1] == 0x4A:  # J: ESC [ 2 J or ESC [ 3 J
                offset = self._clear_offset(data, start, at)
                if offset is not None:
                    self._record_clear(offset, state.modes)
                continue
            if sequence[1] == 0x5B:  # [: a mode set, known by its ``_PRIVATE`` match
                sequence = sequence[2:]
            after, change = state.steps.get(sequence) or state.learn(sequence)
            if change == _RESET:
                self._normal_clear = self._alt_clear = None  # overtaken by the reset
                self.alt_point = None
                self.normal_point = RestorePoint(start + match.end(), after.modes)
            elif change:  # entered or left the alternate screen
                self._alt_clear = None  # overtaken by the switch
                # Replaying from the switch itself (its ESC) rebuilds the alternate screen.
                self.alt_point = RestorePoint(start + at, state.modes) if change > 0 else None
            state = after
        return state

    def _clear_offset(self, data: bytes, start: int, at: int) -> int | None:
        """The restore point that the ``ESC [ 2 J`` or ``ESC [ 3 J`` at ``at`` makes: where it
        or the cursor home next to it starts; ``None`` if the cursor is not at home there."""
        # Only a clear with the cursor at home fixes the whole screen; find the home next to it.
        if at >= 8:
            before, stop = data, at  # the bytes before the clear, in place: no copy of the chunk
        else:  # the home may end the last chunk
            before = self._previous + data[:at]
            stop = len(before)
        if before.endswith(_HOME, 0, stop):
            # Each home holds one ESC, at its start: the last one before the clear.
            return start + at - (stop - before.rfind(b"\x1b", 0, stop))
        if data.startswith(_HOME, at + 4):
            return start + at
        if at + 4 == len(data):
            self._clear_at = start + at  # the home may start the next chunk
        return None

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


def _walk(state: _State, mode_sets: list[bytes], keypad: bytes | None) -> _State | None:
    """The state after ``mode_sets`` and then the keypad change ``keypad`` (``ESC =`` or
    ``ESC >``, the last one in the same stretch), from ``state``; ``None`` if a mode set
    switches screens (the caller then goes through the sequences in order,
    ``ScreenTracker._follow``).

    Keypad changes commute with mode sets (each touches its own part of ``Modes``), so only
    the last one counts, and it may as well come last.
    """
    for sequence in mode_sets:
        state, change = state.steps.get(sequence) or state.learn(sequence)
        if change:
            return None
    if keypad is not None:
        state = (state.steps.get(keypad) or state.learn(keypad))[0]
    return state


def _has_reset(data: bytes) -> bool:
    """Whether ``data`` holds a full reset, ``ESC c``: a memchr for each ``c`` while they are
    rare (``_probe``), one regex search where they are common (prose)."""
    hits, rest = _probe(data, _RESETS)
    return bool(hits) or (rest < len(data) and _RESETS.regex.search(data, rest) is not None)


def _last_keypad(data: bytes, start: int, stop: int) -> bytes | None:
    """The last keypad change (``ESC =`` or ``ESC >``) between ``start`` and ``stop``.

    Searched for from the end: a full-screen program sets the keypad mode with every repaint,
    so the last one is a few probes away, where looking at each ``>`` of a chunk from the start
    (``ESC [ > ...`` queries, text) cost vim's repaints a third of the tracker's time.
    """
    on = _last_of(data, _KEYPAD_ON, start, stop)
    off = _last_of(data, _KEYPAD_OFF, start if on < 0 else on + 2, stop)
    at = max(on, off)
    return data[at : at + 2] if at >= 0 else None


def _last_of(data: bytes, needles: _Needles, start: int, stop: int) -> int:
    """Where the last of ``needles`` (of one length and last byte) in ``data[start:stop]``
    starts, or -1: ``_probe`` from the end, with a regex pass where hits get dense."""
    last, back = needles.last, needles.back
    at = data.rfind(last, start + back, stop)
    bound = stop - _FIRST_BOUND  # as in ``_probe``, counted back from the end
    while at >= 0:
        if data[at - back] in needles.firsts and data.startswith(needles.needles, at - back):
            return at - back
        bound -= _PROBE_SPACING
        if at > bound:
            found = -1
            for match in needles.regex.finditer(data, start, at):
                found = match.start()
            return found
        at = data.rfind(last, start + back, at)
    return -1


def _clears_from_the_end(data: bytes) -> Iterator[int]:
    """Where the ``ESC [ 2 J`` and ``ESC [ 3 J`` in ``data`` start, the last one first.

    A ``J`` is rare in terminal output: a memchr from the end finds the last clear in a step or
    two. Where they are dense (text full of ``J``), one regex pass finds the rest.
    """
    at = data.rfind(b"J")
    for _ in range(_FREE_PROBES * 4):
        if at < 3:
            return
        if data[at - 1] in b"23" and data.startswith(b"\x1b[", at - 3):
            yield at - 3
        at = data.rfind(b"J", 0, at)
    yield from reversed([match.start() - 3 for match in _CLEAR.finditer(data, 0, at + 1)])


def _worth_scanning(data: bytes) -> bool:
    """Whether ``data`` may hold a sequence that changes the tracker's state.

    Keypad mode (ESC = / ESC >) alone does not count, as every full-screen program sets it
    along with a DEC mode, an erase or a reset: looking for it everywhere would cost two more
    passes over ordinary output. Any "2J" or "3J" counts, even in text: that only costs a scan.
    """
    return _contains(data, _MODE_SETS) or _contains(data, _ERASES) or _contains(data, _RESETS)


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


def _contains(data: bytes, needles: _Needles) -> bool:
    """Whether ``data`` holds one of ``needles`` (of one length and last byte).

    The hits of their last byte are found by C-speed ``find`` calls: a one-byte ``find`` is a
    memchr, some 50x faster than a search for a needle that starts with ESC where ESC is
    everywhere, but each hit costs ~0.15 µs of Python. Past the first few hits, a regex search
    for the needles is cheaper (where the last byte is common too: ``c`` in prose).
    """
    last, back = needles.last, needles.back
    at = data.find(last, back)  # from ``back`` on, so that a needle fits before the hit
    for _ in range(_FREE_PROBES):
        if at < 0:
            return False
        if data[at - back] in needles.firsts and data.startswith(needles.needles, at - back):
            return True
        at = data.find(last, at + 1)
    return at >= 0 and needles.regex.search(data, at - back) is not None


class _Needles:
    """Byte strings of one length and last byte, for ``_probe`` and ``_contains``."""

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
