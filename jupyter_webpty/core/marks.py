"""Shell-integration marks read from the output stream, and the command log they build.

Shells started with our init files (``jupyter_webpty/shell/``) print, around each command:

* ``OSC 133 ; A`` where the prompt starts and ``OSC 133 ; B`` where it ends (FinalTerm's marks),
* ``OSC 633 ; E ; <command line>`` and ``OSC 133 ; C`` when a command starts (VS Code's escaping:
  ``\\\\`` for a backslash, ``\\xHH`` for ``;`` and control characters),
* ``OSC 133 ; D ; <exit code>`` when it ended, and ``OSC 7 ; file://host/path`` for the cwd.

Any program may print these (a user's own integration, or a hostile ``cat``): they are read, never
trusted for more than the command log, and never removed (xterm.js ignores unknown OSCs). The scan
costs one C-speed ``bytes.find(b"\\x1b]")`` per read when no OSC is present, as ``screen.py`` does;
every length is bounded, so no byte stream can make it raise or grow without end.
"""

from __future__ import annotations

import codecs
import re
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_OSC = b"\x1b]"
_OSC_PATTERN = re.compile(re.escape(_OSC))
#: ``bytes.find`` of the two-byte ``ESC ]`` costs ~2.7 ns/byte here (no memchr for two bytes),
#: about 7 % of webpty's throughput on its own; a memchr for ``]`` costs ~0.03 ns/byte, plus
#: ~0.15 µs for a look at the byte before each hit. Once the hits that are not OSCs come more
#: than one per ``_HIT_SPACING`` bytes (JSON, "]]]]"), a regex search (~0.9 ns/byte) is cheaper
#: for the rest of the read. (vim paging through Python source: ~1 ``]`` per 450 bytes.)
_FREE_HITS = 8
_HIT_SPACING = 64
#: Longest OSC body read (a command line of 8 KiB escaped); longer ones are skipped unread.
MAX_OSC = 32 * 1024
_CODE_DIGITS = 10  # an exit code has at most this many characters ("-2147483648" is 11: no)
#: Commands kept per session by default.
MAX_COMMANDS = 1000


@dataclass
class CommandRecord:
    """One command: what ran where, and where its output lies in the session's output stream.

    ``start`` is the stream offset after the command-start mark, ``end`` the offset of its end
    mark (``None`` while it runs). ``exit_code`` is ``None`` while running or when the shell
    did not report one (it was replaced before the command ended).
    """

    seq: int
    command: str | None
    cwd: str | None
    start: int
    started_at: float
    end: int | None = None
    exit_code: int | None = None
    duration: float | None = None

    @property
    def is_running(self) -> bool:
        """Whether the command has not ended yet."""
        return self.end is None


#: ``on_command(record, finished)``: a command started (``False``) or finished (``True``).
CommandCallback = Callable[[CommandRecord, bool], None]


class Marks:
    """Reads OSC 133/633/7 marks from the stream and keeps a bounded log of commands."""

    # Slots, not a dict per instance: one of these per session (python -m bench.memory).
    __slots__ = (
        "_log",
        "_max_commands",
        "_on_command",
        "_pending_command",
        "_seq",
        "_started",
        "_tail",
        "cwd",
        "has_prompted",
        "last_exit_code",
        "running",
    )

    def __init__(
        self, *, max_commands: int = MAX_COMMANDS, on_command: CommandCallback | None = None
    ) -> None:
        self.cwd: str | None = None
        self.last_exit_code: int | None = None
        self.running: CommandRecord | None = None
        #: Whether the shell printed a prompt mark: it is integrated and at a prompt at least once.
        self.has_prompted = False
        # Made at the first command: ~760 bytes an idle or unintegrated session need not pay.
        self._log: deque[CommandRecord] | None = None
        self._max_commands = max(1, max_commands)
        self._seq = 0
        self._pending_command: str | None = None  # the last E mark, for the next C
        self._started = 0.0  # monotonic time of the running command's start
        self._tail = b""  # an OSC cut by the end of a read, at most MAX_OSC + 2 bytes
        self._on_command = on_command

    def commands(self) -> list[CommandRecord]:
        """The logged commands, oldest first, the running one last."""
        return list(self._log or ())

    def skip(self) -> None:
        """Pass over output that holds no marks of the shell's (a full-screen program's)."""
        self._tail = b""

    def feed(self, data: bytes, end: int) -> None:
        """Read ``data``, the output that ends at stream offset ``end``."""
        if self._tail:
            data = self._tail + data
            self._tail = b""
        elif _find_osc(data, 0) < 0:
            if data[-1:] == b"\x1b":  # an OSC may start across reads
                self._tail = b"\x1b"
            return
        base = end - len(data)
        at = _find_osc(data, 0)
        while at >= 0:
            body_start = at + 2
            limit = min(len(data), body_start + MAX_OSC)
            bel = data.find(b"\x07", body_start, limit)
            esc = data.find(b"\x1b", body_start, limit)
            if bel < 0 and esc < 0:
                if limit == len(data) and len(data) - at <= MAX_OSC + 2:
                    self._tail = data[at:]  # incomplete: wait for the rest
                    return
                at = _find_osc(data, body_start)  # too long: skip it unread
                continue
            if esc >= 0 and (bel < 0 or esc < bel):
                if esc + 1 >= len(data):
                    self._tail = data[at:]  # ESC of a possible ST at the end of the read
                    return
                if data[esc + 1] != 0x5C:  # ESC not followed by "\": the OSC is cancelled
                    at = _find_osc(data, esc)
                    continue
                stop, after = esc, esc + 2
            else:
                stop, after = bel, bel + 1
            self._mark(data[body_start:stop], base + at, base + after)
            at = _find_osc(data, after)
        if data[-1:] == b"\x1b":
            self._tail = b"\x1b"

    def _mark(self, body: bytes, offset: int, after: int) -> None:
        """Act on one OSC body found at stream ``offset`` and ending at ``after``."""
        head = body[:4]
        if head == b"133;":
            kind = body[4:5]
            if kind == b"A" or kind == b"B":
                self.has_prompted = True
                if self.running is not None and kind == b"A":
                    self._finish(offset, None)  # a prompt without an end mark: unknown exit
            elif kind == b"C":
                self._start(after)
            elif kind == b"D":
                self._finish(offset, _exit_code(body[6:]) if body[5:6] == b";" else None)
        elif head == b"633;" and body[4:6] == b"E;":
            self._pending_command = _unescape(body[6:])
        elif body[:2] == b"7;":
            self.cwd = _cwd(body[2:]) or self.cwd

    def _start(self, start: int) -> None:
        if self.running is not None:
            self._finish(start, None)
        self._seq += 1
        record = CommandRecord(
            seq=self._seq,
            command=self._pending_command,
            cwd=self.cwd,
            start=start,
            started_at=time.time(),
        )
        self._pending_command = None
        self._started = time.monotonic()
        self.running = record
        if self._log is None:
            self._log = deque(maxlen=self._max_commands)
        self._log.append(record)
        if self._on_command is not None:
            self._on_command(record, False)

    def _finish(self, end: int, exit_code: int | None) -> None:
        record = self.running
        if record is None:  # an end mark after an empty prompt line: nothing ran
            return
        self.running = None
        record.end = max(end, record.start)
        record.exit_code = exit_code
        record.duration = time.monotonic() - self._started
        if record.exit_code is not None:
            self.last_exit_code = record.exit_code
        if self._on_command is not None:
            self._on_command(record, True)


def _find_osc(data: bytes, start: int) -> int:
    """Where the first ``ESC ]`` at or after ``start`` begins, or -1."""
    at = data.find(b"]", start + 1)
    misses = 0
    while at >= 0:
        if data[at - 1] == 0x1B:
            return at - 1
        misses += 1
        if misses > _FREE_HITS and at - start < misses * _HIT_SPACING:
            found = _OSC_PATTERN.search(data, at)
            return found.start() if found else -1
        at = data.find(b"]", at + 1)
    return -1


def _exit_code(text: bytes) -> int | None:
    # Output is untrusted: bound the digits before int() (Python refuses over 4300).
    text = text.split(b";", 1)[0]
    if not text or len(text) > _CODE_DIGITS:
        return None
    digits = text[1:] if text[:1] == b"-" else text
    if not digits.isdigit():
        return None
    return int(text)


_ESCAPED = re.compile(r"\\(\\|x[0-9a-fA-F]{2})")


def _unescape(body: bytes) -> str:
    """A command line as VS Code's ``OSC 633 ; E`` escapes it."""
    text = body.decode("utf-8", "replace")
    if "\\" not in text:
        return text
    return _ESCAPED.sub(lambda m: "\\" if m[1] == "\\" else chr(int(m[1][1:], 16)), text)


def _cwd(body: bytes) -> str | None:
    """The path of an ``OSC 7`` ``file://host/path`` URL."""
    text = body.decode("utf-8", "replace")
    if not text.startswith("file://"):
        return None
    path = text[7:]
    slash = path.find("/")
    if slash < 0:
        return None
    path = path[slash:]
    return urllib.parse.unquote(path, errors="replace") if "%" in path else path


# Escape sequences, for the text of a command's output: CSI (with private parameters), OSC/DCS/
# APC/PM/SOS strings up to BEL or ST, two- and three-byte ESC sequences.
_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)


def plain_text(data: bytes, *, keep_escapes: bool = False) -> str:
    """Output bytes as text: UTF-8 (U+FFFD for bad bytes), CRLF as LF, escapes removed."""
    text = codecs.decode(data, "utf-8", "replace")
    if not keep_escapes:
        text = _SEQUENCE.sub("", text)
    return text.replace("\r\n", "\n")


#: zsh's PROMPT_SP (the partial-line mark, spaces to the margin, then CR space CR) comes after a
#: command's output and before any hook can print the end mark: not part of the output.
_PROMPT_SP = re.compile(r"[%#]? *\r \r\Z")


def command_text(data: bytes, *, keep_escapes: bool = False) -> str:
    """The text of one command's output (``plain_text``), without zsh's PROMPT_SP line."""
    text = plain_text(data, keep_escapes=keep_escapes)
    if keep_escapes:
        return text
    return _PROMPT_SP.sub("", text)
