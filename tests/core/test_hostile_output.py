"""Output is input too: no byte stream a program prints may stop a session (issue 11, item 1).

The screen tracker scans every byte a program prints. It once raised on a DEC private mode
parameter of more than 4300 digits (Python's integer-string limit), inside the read path: the
session's output stopped for good and the printing program blocked. These tests print hostile
streams through real PTY sessions and require that output keeps flowing.

hypothesis wraps sync functions and pytest-jupyter runs ``async def`` tests itself, so the
property tests are sync tests driving a loop of their own (as tests/test_fuzz.py explains).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_webpty.core import Limits, PtySession
from jupyter_webpty.core.screen import ScreenTracker

from ..conftest import SHELL_ARGV, wait_until

#: Building blocks that stress the tracker: sequences it parses, cut, stretched or malformed.
PIECES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([
        b"\x1b", b"\x1b[", b"\x1b[?", b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[?1h", b"\x1b[2J",
        b"\x1b[3J", b"\x1b[H", b"\x1b[1;1H", b"\x1bc", b"\x1b=", b"\x1b>", b";", b"h", b"l", b"J",
        b"\xff", b"\xc3", b"\x00",
    ]),
    st.builds(lambda n, end: b"\x1b[?" + b"9" * n + end, st.integers(4000, 9000),
              st.sampled_from([b"h", b"l", b"", b";1049h"])),
    st.builds(lambda n: b"\x1b[?" + b"0" * n + b"1h", st.integers(4290, 6000)),
    st.builds(lambda n: b"\x1b[?" + b";" * n + b"h", st.integers(1, 20000)),
    st.builds(lambda n: b"\x1b[?" + b"1;" * n + b"h", st.integers(1, 5000)),
)  # fmt: skip
STREAMS = st.lists(PIECES, min_size=1, max_size=12).map(b"".join)


def test_huge_mode_parameter_is_read_as_its_value() -> None:
    # printf '\033[?%05000dh' 1: 5000 digits whose value is 1 (application cursor keys).
    sequence = b"\x1b[?" + b"0" * 4999 + b"1h"
    tracker = ScreenTracker()
    tracker.feed(sequence, len(sequence))
    assert 1 in tracker.modes.on
    huge = b"\x1b[?" + b"7" * 6000 + b"h"  # no such mode: ignored, not an error
    tracker.feed(huge, len(sequence) + len(huge))
    assert tracker.modes.on == frozenset({1, 7, 25})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(STREAMS, min_size=1, max_size=6))
def test_tracker_never_raises(chunks: list[bytes]) -> None:
    tracker = ScreenTracker()
    end = 0
    for chunk in chunks:
        end += len(chunk)
        tracker.feed(chunk, end)
    restore = tracker.restore(0, end, b"".join(chunks))
    assert 0 <= restore.offset <= end


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def start(loop: asyncio.AbstractEventLoop, tmp_path: Path, argv: list[str]) -> PtySession:
    env = {"PATH": os.environ["PATH"], "PS1": "$ ", "HOME": str(tmp_path)}
    session = PtySession(
        argv, owner="me", name="t", cwd=str(tmp_path), env=env, cols=80, rows=24,
        limits=Limits(kill_grace=0.5),
    )  # fmt: skip

    async def started() -> None:
        session.start()

    loop.run_until_complete(started())
    return session


class Viewer:
    """Records output and acknowledges it at once (flow control never holds it)."""

    def __init__(self, session: PtySession, offset: int | None = 0) -> None:
        self.data = bytearray()
        self.session = session
        self.attached = session.attach(self, self.sink, lambda preamble, start: None, offset)

    def sink(self, data: bytes, end: int) -> None:
        self.data += data
        self.session.ack(self, end)

    async def until(self, needle: bytes, searched_from: int = 0, timeout: float = 20) -> None:
        await wait_until(lambda: needle in self.data[searched_from:], timeout, repr(needle))


def test_printed_huge_parameter_does_not_freeze_the_session(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    # The reproduction, then a flood: the streaming (worker-thread) read path must go on.
    session = start(loop, tmp_path, SHELL_ARGV)

    async def scenario() -> None:
        viewer = Viewer(session)
        session.write(b"printf '\\033[?%05000dh' 1; head -c 2000000 /dev/zero | tr '\\0' x; "
                      b"echo EN''D\n")  # fmt: skip
        await viewer.until(b"END")
        session.write(b"echo $((40+2))\n")
        await viewer.until(b"42")
        assert session._output._screen is not None  # the tracker coped: restore points still on
        await session.terminate()

    loop.run_until_complete(scenario())


def test_random_streams_keep_flowing_through_a_real_session(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    # cat on a raw terminal prints back exactly the bytes typed: each example goes through the
    # PTY, the reader and the tracker, followed by a marker that must come out after it.
    argv = ["sh", "-c", "stty raw -echo; echo RE''ADY; exec cat"]
    session = start(loop, tmp_path, argv)

    async def attached() -> Viewer:
        return Viewer(session)

    viewer = loop.run_until_complete(attached())
    loop.run_until_complete(viewer.until(b"READY"))
    count = iter(range(1_000_000))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(stream=STREAMS)
    def example(stream: bytes) -> None:
        marker = b"<<marker-%d>>" % next(count)
        seen = len(viewer.data)

        async def typed() -> None:
            # Filler makes the reader stream (worker-thread drains), where a failure stopped it.
            session.write(stream + b"y" * 65536 + marker)
            await viewer.until(marker, seen)

        loop.run_until_complete(typed())
        assert session.is_alive

    example()
    loop.run_until_complete(session.terminate())


class BrokenTracker(ScreenTracker):
    """Stands in for a tracker bug that no input found yet: every feed raises."""

    def feed(self, data: bytes, end: int) -> None:
        msg = "tracker bug"
        raise RuntimeError(msg)


def test_a_failing_tracker_turns_restore_points_off_and_reading_continues(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session = start(loop, tmp_path, SHELL_ARGV)
    session._output._screen = BrokenTracker()

    async def scenario() -> None:
        viewer = Viewer(session)
        session.write(b"head -c 1000000 /dev/zero | tr '\\0' x; echo EN''D\n")
        await viewer.until(b"END")
        # A late viewer still gets the screen (replayed from a line start, no modes known).
        late = Viewer(session, offset=None)
        assert late.attached.truncated
        await late.until(b"END")
        await session.terminate()

    with caplog.at_level(logging.ERROR, logger="jupyter_webpty.core.output"):
        loop.run_until_complete(scenario())
    failures = [r for r in caplog.records if "screen tracking" in r.getMessage()]
    assert len(failures) == 1  # logged once, then off
