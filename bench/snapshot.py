"""Workload 6: the cost of the screen snapshot.

* Attach: a fresh client reconnects (no offset) to a session running a full-screen program; the
  time from ``terminal:reconnect`` until the replay it was promised (up to the reply's ``end``)
  arrived. The built-in terminal's nearest equivalent is a new websocket to the terminal, which
  replays its last 1000 reads: time from the upgrade to that replay.
* Tracker cost: webpty has no switch to turn its screen tracker off, so recorded output is fed
  through :meth:`ScreenTracker.feed` in this process, in the chunk sizes the server read, and
  the time is set against the measured throughput: the share of it that keeping the model costs.
  The shell-integration marks parser (:class:`Marks`) is measured the same way, alone
  (``marks``) and together with the tracker as the server feeds them (``tracker_and_marks``,
  ``Output._parse``: the marks parser skips output that stayed on the alternate screen), on
  the same streams plus a shell session's stream with a mark set every few hundred bytes.
"""

from __future__ import annotations

import shutil
import statistics
import time
from typing import Any

from jupyter_webpty.core.marks import Marks
from jupyter_webpty.core.screen import ScreenTracker

from .targets import BuiltinTarget, Session, WebptyTarget
from .workloads import PROMPT, Context, make_text, run_command

FULL_SCREEN = {
    # command, the key that pages, the keys that quit, what its first screen surely contains
    "vim": ("vim -u NONE -N -n -i NONE {file}", "\x06", "\x1b:q!\r", b"\x1b[?1049h"),
    "top": ("top -d 1", " ", "q", b"Tasks:"),
    "less": ("less {file}", " ", "q", b"\x1b[?1049h"),
}


def full_screen_program() -> str | None:
    """The first full-screen program available: vim, else top, else less."""
    return next((name for name in FULL_SCREEN if shutil.which(name)), None)


async def _start_program(ctx: Context, session: Session, program: str) -> bytes:
    """Fill the scrollback, start ``program`` and page through it; return what it drew."""
    start, page, _, ready = FULL_SCREEN[program]
    output = session.output
    await run_command(session, f"cat {ctx.history_file}", timeout=120)
    output.start_capture()
    drawn = output.expect(ready)
    await session.send(start.format(file=ctx.history_file) + "\n")
    await drawn.wait(30)
    await output.settle(0.3)
    for _ in range(5):
        # Each page's first bytes, then quiet: settling alone returned at once (the screen
        # before had long been quiet), so every key was sent, and the capture ended, before
        # any page arrived (the runs up to 2026-12-03 measured the start-up screen only).
        paged = output.expect_bytes(1)
        await session.send(page)
        await paged.wait(30)
        await output.settle(0.2)
    captured, _ = output.stop_capture()
    return captured


async def _stop_program(session: Session, program: str) -> None:
    prompt = session.output.expect(PROMPT)
    await session.send(FULL_SCREEN[program][2])
    await prompt.wait(30)


async def attach(ctx: Context) -> dict[str, Any]:
    """Attach time of a fresh client to a session showing a full-screen program."""
    program = full_screen_program()
    if program is None:
        return {"skipped": "no full-screen program (vim, top, less) installed"}
    result: dict[str, Any] = {"program": program}
    targets = [t for t in ctx.targets if isinstance(t, (WebptyTarget, BuiltinTarget))]
    sessions = {t.name: await t.open() for t in targets}
    timings: dict[str, list[tuple[float, float, int]]] = {t.name: [] for t in targets}
    try:
        for target in targets:
            drawn = await _start_program(ctx, sessions[target.name], program)
            if target.name == "webpty":
                ctx.full_screen_output = drawn
                result["drawn_bytes"] = len(drawn)  # the tracker workload's full-screen stream
        for order in _orders(targets, ctx.sizes.attach_trials):
            for target in order:
                timings[target.name].append(await target.attach(sessions[target.name].key))
        for target in targets:
            await _stop_program(sessions[target.name], program)
    finally:
        for session in sessions.values():
            await session.close()
    for name, values in timings.items():
        result[name] = {
            "connect_ms": statistics.median(v[0] for v in values) * 1e3,
            "attach_ms": statistics.median(v[1] for v in values) * 1e3,
            "replay_bytes": statistics.median(v[2] for v in values),
        }
    if any(t.name == "ttyd" for t in ctx.targets):
        # ttyd keeps nothing for a closed connection: a new one starts a new shell.
        result["ttyd"] = {"skipped": "ttyd has no reattach"}
    return result


def _orders(targets: list[Any], count: int) -> list[list[Any]]:
    return [targets[i % len(targets) :] + targets[: i % len(targets)] for i in range(count)]


def coloured_text(size: int) -> bytes:
    """Text with an SGR colour change around every word, like `ls --color` or a compiler's."""
    words = make_text(min(size, 4 * 1024 * 1024)).split(b" ")
    out = bytearray()
    n = 0
    while len(out) < size:
        out += b"\x1b[3%dm%s\x1b[0m " % (n % 8, words[n % len(words)])
        n += 1
    return bytes(out[:size])


def _tracker_feed() -> Any:
    return ScreenTracker().feed


def _marks_feed() -> Any:
    return Marks().feed


def _both_feed() -> Any:
    tracker, marks = ScreenTracker(), Marks()

    def feed(chunk: bytes, end: int) -> None:
        # As the server feeds them (``Output._parse``): the marks parser skips output that
        # stayed on the alternate screen.
        if tracker.feed(chunk, end):
            marks.skip()
        else:
            marks.feed(chunk, end)

    return feed


#: What is fed, by result key: the screen tracker, the marks parser, both (as _record does).
PARSERS = {"tracker": _tracker_feed, "marks": _marks_feed, "tracker_and_marks": _both_feed}


def shell_session(size: int) -> bytes:
    """A shell's output with integration marks: prompt, command, coloured output, end mark."""
    text = coloured_text(min(size, 1 << 20))
    out = bytearray()
    n = at = 0
    while len(out) < size:
        out += (
            b"\x1b]7;file://host/home/user/project\x07\x1b]133;A\x07\x1b[32muser$ \x1b[0m"
            b"\x1b]133;B\x07ls -l\r\n\x1b]633;E;ls -l\x07\x1b]133;C\x07"
        )
        piece = 400 + n % 300  # a command's output: a few hundred bytes
        at = at + piece if at + 2 * piece < len(text) else 0
        out += text[at : at + piece] + b"\r\n"
        out += b"\x1b]133;D;%d\x07" % (n % 3)
        n += 1
    return bytes(out[:size])


def feed_seconds(data: bytes, chunk_sizes: list[int], parser: str = "tracker") -> float:
    """Seconds that ``parser``'s feed takes for ``data`` cut like ``chunk_sizes`` (cycled)."""
    feed = PARSERS[parser]()
    view = memoryview(data)
    chunks = []
    at, i = 0, 0
    while at < len(data):
        size = chunk_sizes[i % len(chunk_sizes)]
        chunks.append(bytes(view[at : at + size]))
        at += size
        i += 1
    end = 0
    t0 = time.perf_counter()
    for chunk in chunks:
        end += len(chunk)
        feed(chunk, end)
    return time.perf_counter() - t0


def tracker_cost(ctx: Context) -> dict[str, Any]:
    """ScreenTracker.feed's cost per byte, as a share of webpty's measured throughput."""
    chunk_sizes = ctx.webpty_chunks or [16384]
    plain = ctx.text_file.read_bytes().replace(b"\n", b"\r\n")
    size = min(len(plain), 16 * 1024 * 1024)
    drawn = ctx.full_screen_output or b"\x1b[H\x1b[2J" + plain[:65536]
    streams = {
        "plain_text": plain,
        "coloured_text": coloured_text(size),
        "full_screen": (drawn * (size // max(1, len(drawn)) + 1))[:size],
        "shell_session": shell_session(size),
    }
    return parser_costs(streams, chunk_sizes, ctx.webpty_mb_per_s)


def parser_costs(
    streams: dict[str, bytes], chunk_sizes: list[int], mb_per_s: float
) -> dict[str, Any]:
    """Each parser's cost on each stream, also as a share of a throughput of ``mb_per_s``.

    The screen tracker's figures stay at the top level (``result[stream]``) as before; the
    marks parser's and both together's are under ``result["marks"]`` and
    ``result["tracker_and_marks"]``.
    """
    rate = mb_per_s * 1e6
    result: dict[str, Any] = {"throughput_mb_per_s": mb_per_s}
    for parser in PARSERS:
        into = result if parser == "tracker" else result.setdefault(parser, {})
        for name, data in streams.items():
            seconds = min(feed_seconds(data, chunk_sizes, parser) for _ in range(3))
            per_byte = seconds / len(data)
            into[name] = {
                "ns_per_byte": per_byte * 1e9,
                "mb_per_s": len(data) / seconds / 1e6,
                "share_of_throughput_percent": per_byte * rate * 100,
            }
    return result
