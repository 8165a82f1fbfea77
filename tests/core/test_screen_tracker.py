"""ScreenTracker.feed's fast scan against a verbatim copy of the plain regex scan it replaced."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import pytest

from jupyter_webpty.core.screen import Modes, Restore, RestorePoint, ScreenTracker

# --- Reference: ScreenTracker as it was before the scan was sped up, copied verbatim. ---------

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


@dataclass
class _ReferenceTracker:
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
                # One change since the copy: ``?1047;1047h`` entered the alternate screen
                # without a restore point at the switch (the second 1047 reset the flag).
                entered_alt = entered_alt or (enable and not alt)
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


# --- Random full-screen streams. ----------------------------------------------------------------

#: Text bytes include the ones the fast scan looks for (``? J c = >``) and the ones around them.
_TEXT = b"abcJ?=>[;0123 \r\n" + "é中🙂".encode()
_MODES = [1, 6, 7, 25, 47, 66, 1000, 1002, 1004, 1006, 1047, 1049, 2004, 12, 9999]


def _sequence(rng: random.Random) -> bytes:
    kind = rng.randrange(14)
    if kind == 0:
        return b"\x1b[%d;%dH" % (rng.randint(0, 24), rng.randint(0, 80))
    if kind == 1:
        return rng.choice([b"\x1b[%dm", b"\x1b[38;5;%dm", b"\x1b[4%d;1m"]) % rng.randrange(256)
    if kind == 2:
        modes = b";".join(b"%d" % rng.choice(_MODES) for _ in range(rng.randint(1, 3)))
        return (
            b"\x1b[?"
            + rng.choice([modes, b"", b";" + modes])
            + rng.choice([b"h", b"l", b"h", b"l", b"m", b"$p", b""])
        )
    if kind == 3:
        return rng.choice([b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[?47h", b"\x1b[?1047l"])
    if kind == 4:
        return rng.choice([b"\x1b[J", b"\x1b[0J", b"\x1b[1J", b"\x1b[2J", b"\x1b[3J", b"\x1b[0;2J"])
    if kind == 5:
        return rng.choice(_HOME)
    if kind == 6:
        return rng.choice(_HOME) + b"\x1b[2J"
    if kind == 7:
        return b"\x1b[2J" + rng.choice(_HOME)
    if kind == 8:
        return b"\x1bc"
    if kind == 9:
        return rng.choice([b"\x1b=", b"\x1b>"])
    if kind == 10:
        return rng.choice([b"\x1b(B", b"\x1b]0;t?J=>c\x07", b"\x1b[>4;2m", b"\x1b7", b"\x1b"])
    if kind == 11:
        return b"\x1b[%dK\x1b[%dX" % (rng.randrange(3), rng.randrange(80))
    return bytes(rng.choice(_TEXT) for _ in range(rng.randint(1, 40)))


def _stream(rng: random.Random) -> bytes:
    """A full-screen program's output: mostly repaints, with mode changes, clears and resets."""
    out = bytearray()
    for _ in range(rng.randint(1, 400)):
        if rng.random() < 0.02:
            out += b"\x1b[H\x1b[2J"  # a repaint from scratch
            for row in range(1, rng.randint(2, 25)):
                out += b"\x1b[%d;1H\x1b[38;5;%dm" % (row, rng.randrange(256))
                out += bytes(rng.choice(_TEXT) for _ in range(rng.randint(0, 80))) + b"\x1b[0m"
        else:
            out += _sequence(rng)
    return bytes(out)


def _cuts(rng: random.Random, stream: bytes) -> list[int]:
    """Chunk ends: random sizes, some cuts just after an ESC or inside a sequence."""
    escapes = [at for at in range(len(stream)) if stream[at] == 0x1B]
    cuts = {len(stream)}
    for _ in range(rng.randint(0, 12)):
        cuts.add(rng.randint(1, len(stream)))
    for at in rng.sample(escapes, min(len(escapes), rng.randint(0, 12))):
        cuts.add(min(len(stream), at + rng.randint(1, 5)))
    return sorted(cuts)


def _state(tracker: ScreenTracker | _ReferenceTracker, stream: bytes) -> tuple[object, ...]:
    end = len(stream)
    restores = [tracker.restore(base, end, stream[base:]) for base in (0, end // 3, end)]
    return (tracker.modes, tracker.normal_point, tracker.alt_point, *restores)


@pytest.mark.parametrize("seed", range(40))
def test_tracker_matches_reference_on_random_split_streams(seed: int) -> None:
    """Fed random full-screen streams in random chunks, the tracker is after every chunk in the
    state the reference (the plain regex scan) is in."""
    rng = random.Random(seed)
    for _ in range(25):
        stream = _stream(rng)
        tracker, reference = ScreenTracker(), _ReferenceTracker()
        previous = 0
        for cut in _cuts(rng, stream):
            tracker.feed(stream[previous:cut], cut)
            reference.feed(stream[previous:cut], cut)
            previous = cut
            assert _state(tracker, stream[:cut]) == _state(reference, stream[:cut])
        whole, whole_reference = ScreenTracker(), _ReferenceTracker()
        whole.feed(stream, len(stream))
        whole_reference.feed(stream, len(stream))
        assert _state(whole, stream) == _state(whole_reference, stream)


def _long_stream(rng: random.Random) -> bytes:
    """Full-screen stretches between long runs of ordinary output with a sequence now and then,
    so that one chunk holds both mode sets far apart and mode sets close together."""
    out = bytearray()
    for _ in range(rng.randint(2, 6)):
        if rng.random() < 0.5:
            out += _stream(rng)
        else:
            for _ in range(rng.randint(1, 8)):
                out += bytes(rng.choice(b"ab cJ=>?\r\n") for _ in range(rng.randint(0, 3000)))
                out += _sequence(rng)
    return bytes(out)


@pytest.mark.parametrize("seed", range(20))
def test_tracker_matches_reference_on_long_chunks(seed: int) -> None:
    """Fed long streams in a few long chunks, from random modes, the tracker is after every
    chunk in the state the reference is in."""
    rng = random.Random(2000 + seed)
    for _ in range(6):
        stream = _long_stream(rng)
        on = frozenset(rng.sample(_MODES, rng.randint(0, 4)))
        modes = Modes(on, rng.random() < 0.5, rng.random() < 0.5)
        tracker, reference = ScreenTracker(modes=modes), _ReferenceTracker(modes=modes)
        cuts = {len(stream), *(rng.randint(1, len(stream)) for _ in range(rng.randint(0, 3)))}
        previous = 0
        for cut in sorted(cuts):
            tracker.feed(stream[previous:cut], cut)
            reference.feed(stream[previous:cut], cut)
            previous = cut
            assert _state(tracker, stream[:cut]) == _state(reference, stream[:cut])


def _points(tracker: ScreenTracker) -> tuple[object, ...]:
    """The DEC modes and restore points, without the keypad flag."""
    points = [
        (p.offset, p.modes.on, p.modes.alt) for p in (tracker.normal_point, tracker.alt_point) if p
    ]
    return (tracker.modes.on, tracker.modes.alt, *points)


@pytest.mark.parametrize("seed", range(20))
def test_tracker_chunking_keeps_modes_and_restore_points(seed: int) -> None:
    """Chunks give the same modes as the whole stream, and the same restore points as long as
    they are not tiny (8 bytes or more) and no cut falls just after a clear, where the home
    that makes it a restore point may be split off. Keypad mode is only looked for in chunks
    that set a DEC mode, erase or reset, so cutting between those and ESC = may lose it."""
    rng = random.Random(1000 + seed)
    for _ in range(25):
        stream = _stream(rng)
        whole = ScreenTracker()
        whole.feed(stream, len(stream))
        clears = [match.end() for match in re.finditer(rb"\x1b\[[23]J", stream)]
        any_cuts, safe_cuts = _cuts(rng, stream), [0]
        for cut in _cuts(rng, stream):
            near_clear = any(end <= cut < end + 8 for end in clears)
            if cut == len(stream) or (cut - safe_cuts[-1] >= 8 and not near_clear):
                safe_cuts.append(cut)
        for cuts, check in ((any_cuts, 2), (safe_cuts[1:], None)):
            tracker, previous = ScreenTracker(), 0
            for cut in cuts:
                tracker.feed(stream[previous:cut], cut)
                previous = cut
            assert _points(tracker)[:check] == _points(whole)[:check]


@pytest.mark.parametrize("filler", [b"a b c ", b"x > y = z ", b"a[>c\x1b[>4;2m "])
@pytest.mark.parametrize("last", [b"\x1b=", b"\x1b>"])
def test_last_keypad_change_counts_wherever_it_is(filler: bytes, last: bytes) -> None:
    """The keypad change that counts is the last one in the chunk, whether it sits at the
    start of a long chunk behind text dense with ``=`` and ``>`` (looked for by a regex pass)
    or near its end (a few probes from the end), and on either side of a clear."""
    other = b"\x1b>" if last == b"\x1b=" else b"\x1b="
    padding = filler * (40_000 // len(filler))
    cases = [
        last + b"\x1b[?25l" + padding,  # the chunk's first bytes, and the only one
        other + last + b"\x1b[?25l" + padding,  # at the start, behind everything
        other + padding + last + b"\x1b[?25h",  # near the end
        b"\x1b[?25l" + other + b"x" * 9000 + last + last[-1:] * 5,  # before the last probe
        other + padding + last + b"\x1b[H\x1b[2J" + padding,  # before the chunk's last clear
    ]
    for chunk in cases:
        tracker, reference = ScreenTracker(), _ReferenceTracker()
        tracker.feed(chunk, len(chunk))
        reference.feed(chunk, len(chunk))
        assert tracker.modes.keypad is (last == b"\x1b=")
        assert _state(tracker, chunk) == _state(reference, chunk)
