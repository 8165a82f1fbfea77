"""The parts of a session, each on its own, without spawning a shell.

``Output`` and ``Viewers`` take plain bytes; ``InputQueue`` writes into a pipe and ``Reader``
reads a PTY pair opened here, so the kernel's own buffering is real but no process runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator

import pytest

from jupyter_webpty.core import InputOverflow, _spawn, reading
from jupyter_webpty.core.input_queue import InputQueue
from jupyter_webpty.core.output import Output
from jupyter_webpty.core.reading import Reader
from jupyter_webpty.core.viewers import Viewers

from ..conftest import wait_until

# -- Output ----------------------------------------------------------------------------------


def test_output_keeps_the_latest_output_and_says_where_a_range_really_starts() -> None:
    output = Output(128 * 1024, max_commands=10)
    changes = [output.record(bytes([65 + n % 26]) * 64 * 1024) for n in range(4)]
    assert output.end == 256 * 1024
    assert changes[0] == 64 * 1024
    assert sum(changes) == len(output)
    assert 128 * 1024 <= len(output) <= 192 * 1024
    data, start = output.read_range(0, output.end)
    assert start == output.base > 0
    assert len(data) == output.end - start
    assert not output.is_retained(0)
    assert output.is_retained(output.end)
    assert output.trim(64 * 1024) > 0
    assert len(output) == 64 * 1024


def test_output_retains_chunks_of_one_size_made_here() -> None:
    # Reads of any size, some made by worker threads, become retained chunks of one size, so the
    # allocator reuses the blocks that trimming frees (heap.py, bench "RSS growth in flood").
    output = Output(2 * 1024 * 1024, max_commands=10)
    reads = [bytes([65 + n % 26]) * size for n, size in enumerate([5, 70_000, 300_000, 4096] * 3)]
    for data in reads:
        output.record(data)
    start, pieces = output.pieces(0)
    assert start == 0
    assert b"".join(pieces) == b"".join(reads)
    pieces_before = pieces
    *whole, last = pieces
    assert {len(piece) for piece in whole} == {64 * 1024}
    assert 0 < len(last) <= 64 * 1024
    assert not any(piece.obj is data for piece in pieces for data in reads)
    start, pieces = output.pieces(100_000)  # from the middle of a chunk, uncopied
    assert (start, b"".join(pieces)) == (100_000, b"".join(reads)[100_000:])
    # A viewer catching up reads messages of the size it asks for, across chunks and the tail.
    everything, at = b"".join(reads), 0
    while at < output.end:
        message = output.read(at, 100_000)
        assert message == everything[at : at + 100_000]
        at += len(message)
    assert output.read(64 * 1024, 64 * 1024) is pieces_before[1].obj


def test_output_restore_starts_after_the_last_clear() -> None:
    output = Output(1024 * 1024, max_commands=10)
    output.record(b"old screen\r\n" * 100)
    output.record(b"\x1b[H\x1b[2Jnew screen")
    restore = output.restore()
    assert output.read_range(restore.offset, output.end)[0].endswith(b"new screen")
    assert b"old screen" not in output.read_range(restore.offset, output.end)[0]


def test_output_reads_marks_and_bounds_the_command_callbacks() -> None:
    output = Output(1024 * 1024, max_commands=5000)
    seen: list[tuple[str | None, bool]] = []
    output.on_command(lambda record, finished: seen.append((record.command, finished)))
    output.record(b"\x1b]633;E;ls\x07\x1b]133;C\x07files\r\n\x1b]133;D;3\x07")
    assert seen == [("ls", False), ("ls", True)]
    assert output.last_exit_code == 3
    assert output.running_command is None
    # A program printing marks by the thousand: the log has them, the callbacks are bounded.
    output.record(b"\x1b]133;C\x07\x1b]133;D;0\x07" * 2000)
    assert len(output.commands()) == 2001
    assert len(seen) < 2 + 400


def test_output_reads_the_shells_marks_not_a_full_screen_programs() -> None:
    output = Output(1024 * 1024, max_commands=10)
    output.record(b"\x1b]633;E;vim\x07\x1b]133;C\x07\x1b[?1049h\x1b[H\x1b[2J")
    assert output.running_command is not None
    # Wholly on the alternate screen: the program's, so marks there are not read, and an OSC
    # cut at its end does not reach into the shell's output after it.
    output.record(b"\x1b[?25l\x1b]133;D;7\x07\x1b[?25h\x1b[H\x1b[2Jdraw\x1b]133;D;")
    assert output.running_command is not None
    # The chunk that leaves the alternate screen is read (had the cut OSC been kept, "9" would
    # have ended it as an exit code).
    output.record(b"9\x07\x1b[?1049l\x1b]133;D;0\x07")
    assert output.running_command is None
    # On the normal screen, marks are read as before.
    output.record(b"\x1b]633;E;ls\x07\x1b]133;C\x07\x1b]133;D;2\x07")
    assert [(r.command, r.exit_code) for r in output.commands()] == [("vim", 0), ("ls", 2)]


# -- Viewers ---------------------------------------------------------------------------------


class Sink:
    """A viewer's end: what it was sent and the resets it was asked for."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.end = 0
        self.resets: list[int] = []

    def sink(self, data: bytes, end: int) -> None:
        self.data += data
        self.end = end

    def reset(self, preamble: str, start: int) -> None:
        self.resets.append(start)
        self.data.clear()


def viewers(output: Output, sizes: list[tuple[int, int]], repaints: list[int]) -> Viewers:
    return Viewers(
        output,
        high_water=1000,
        low_water=100,
        resize=lambda cols, rows: sizes.append((cols, rows)),
        repaint=lambda: repaints.append(1),
    )


async def test_viewers_hold_each_viewer_at_high_water_and_resume_it_on_ack() -> None:
    output = Output(1024 * 1024, max_commands=10)
    group = viewers(output, [], [])
    fast, slow = Sink(), Sink()
    group.attach("fast", fast.sink, fast.reset, 0)
    group.attach("slow", slow.sink, slow.reset, 0)
    await asyncio.sleep(0)  # the first delivery is scheduled after the attach reply
    for _ in range(10):
        start = output.end
        output.record(b"x" * 400)
        group.deliver(b"x" * 400, start)
        group.ack("fast", fast.end)  # fast keeps up, slow never acks
    assert fast.end == output.end == 4000
    assert slow.end == 1200  # three messages: then 1200 unacknowledged >= 1000
    assert not group.is_held  # one viewer can take more: the PTY keeps being read
    group.ack("slow", 1150)  # backlog 50 <= low water: sent on up to high water again
    assert slow.end == output.end  # from retained output, in as few messages as it takes
    assert group.detach("fast")
    assert not group.detach("fast")
    assert group.is_held  # the only viewer left is at high water


async def test_a_viewer_behind_retention_is_reset_to_a_restore_point() -> None:
    output = Output(64 * 1024, max_commands=10)
    group = viewers(output, [], [])
    late = Sink()
    output.record(b"a" * 1000)
    attached = group.attach("late", late.sink, late.reset, 0)
    assert attached.offset == 0
    assert not attached.truncated
    await asyncio.sleep(0)
    for _ in range(40):  # 40 x 4 KiB: the output it has not acked falls out of retention
        start = output.end
        output.record(b"b" * 4096)
        group.deliver(b"b" * 4096, start)
    group.ack("late", late.end)
    assert late.resets
    assert late.resets[0] >= output.base
    gone = Sink()
    assert group.attach("gone", gone.sink, gone.reset, 5).truncated  # offset 5 is gone


async def test_the_size_follows_the_viewer_that_drives_it() -> None:
    output = Output(1024, max_commands=10)
    sizes: list[tuple[int, int]] = []
    group = viewers(output, sizes, [])
    for key in ("a", "b", "c"):
        group.attach(key, Sink().sink, Sink().reset)
    group.resized("a", 80, 24)
    group.resized("b", 120, 40)  # b drives now (the session applies the size itself)
    group.typed("c")  # c told no size: it cannot drive
    group.typed("a")
    assert sizes == [(80, 24)]
    group.typed("b")
    group.detach("b")  # the driver leaves: the last active viewer with a size takes over
    assert sizes == [(80, 24), (120, 40), (80, 24)]


# -- InputQueue --------------------------------------------------------------------------------


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    yield read_end, write_end
    os.close(read_end)
    os.close(write_end)


async def test_input_waits_while_the_terminal_is_full_and_is_bounded(
    pipe: tuple[int, int],
) -> None:
    read_end, write_end = pipe
    queue = InputQueue(write_end, asyncio.get_running_loop(), limit=256 * 1024)
    chunk = b"x" * 4096

    def flood() -> None:
        for _ in range(1000):  # nobody reads: the pipe fills, then the queue
            queue.write(chunk)

    with pytest.raises(InputOverflow):
        flood()
    assert queue.pending_bytes > 128 * 1024
    waiting = queue.pending_bytes
    os.set_blocking(read_end, False)
    read = 0

    def drained() -> bool:  # reading makes room; the loop writes the rest as it can
        nonlocal read
        with contextlib.suppress(BlockingIOError):
            read += len(os.read(read_end, 1 << 20))
        return queue.pending_bytes == 0

    await wait_until(drained, 10, "the queue written out")
    assert read > waiting
    queue.close()


async def test_an_interrupt_skips_queued_input(pipe: tuple[int, int]) -> None:
    _read_end, write_end = pipe
    queue = InputQueue(write_end, asyncio.get_running_loop(), limit=1 << 20)
    while queue.pending_bytes == 0:
        queue.write(b"p" * 4096)
    queue.write(b"more\x03")
    assert queue.pending_bytes <= 1  # only the ^C waits, as a tty flushes input on one
    queue.close()
    assert queue.pending_bytes == 0


# -- Reader ------------------------------------------------------------------------------------


async def test_reader_reads_quiet_and_streaming_output_pauses_and_sees_the_end() -> None:
    master, slave = os.openpty()
    os.set_blocking(master, False)
    reads: list[tuple[bytes, bool]] = []

    def on_read(data: bytes, eof: bool) -> None:
        reads.append((data, eof))
        reader.resume()  # as the session does while a viewer can take more

    reader = Reader(master, asyncio.get_running_loop(), on_read)
    assert reader.is_paused
    reader.resume()
    os.write(slave, b"hello\n")
    await wait_until(lambda: b"hello" in b"".join(d for d, _ in reads), 5, "hello")
    reader.pause()
    assert reader.is_paused
    os.write(slave, b"while paused\n")
    await wait_until(lambda: _spawn._buffered(master) > 0, 5, "output waiting in the PTY")
    assert b"while paused" not in b"".join(d for d, _ in reads)
    reader.resume()
    await wait_until(lambda: b"while paused" in b"".join(d for d, _ in reads), 5, "resumed")
    drained = False

    def streamed() -> bool:
        nonlocal drained
        drained = drained or reader.is_draining
        return drained

    os.set_blocking(slave, False)
    while not streamed():  # a full line-discipline buffer per read: drains take over
        with contextlib.suppress(BlockingIOError):
            os.write(slave, b"y" * 4096)
        await asyncio.sleep(0)
    os.close(slave)
    await wait_until(lambda: reads[-1][1], 5, "end of file")
    await reader.quiesce()
    assert reader.is_paused
    assert not reader.is_draining
    reader.close()
    os.close(master)


async def test_a_full_line_discipline_reads_as_streaming() -> None:
    # The reader's "output streams" mark is what one read of a full PTY returns on this kernel.
    master, slave = os.openpty()
    os.set_blocking(slave, False)
    with contextlib.suppress(BlockingIOError):
        os.write(slave, b"y" * 65536)  # more than the line discipline holds
    await wait_until(lambda: _spawn._buffered(master) >= 4095, 5, "a full line discipline")
    data = os.read(master, 65536)
    os.close(slave)
    os.close(master)
    assert len(data) >= reading._STREAMING


async def test_reader_overlaps_drains_and_a_pause_lets_only_the_one_in_flight_finish() -> None:
    """While output streams, the next drain reads as the last one's bytes are handed over; a
    pause from that hand-over stops the drains after the one already reading."""
    master, slave = os.openpty()
    os.set_blocking(master, False)
    os.set_blocking(slave, False)
    overlapped: list[bool] = []  # per streaming read: was the next drain already reading?
    paused_reads = 0
    pause_after = 20

    def on_read(data: bytes, eof: bool) -> None:
        nonlocal paused_reads
        if len(data) >= 4096:
            overlapped.append(reader.is_draining)
        if len(overlapped) == pause_after and not paused_reads:
            reader.pause()  # what the session does when no viewer can take more
            paused_reads = 1
        elif paused_reads:
            paused_reads += 1
        else:
            reader.resume()

    async def fill() -> None:  # keep the PTY full, paused or not: output streams
        while True:
            with contextlib.suppress(BlockingIOError):
                os.write(slave, b"y" * 4096)
            await asyncio.sleep(0)

    reader = Reader(master, asyncio.get_running_loop(), on_read)
    reader.resume()
    writer = asyncio.get_running_loop().create_task(fill())
    await wait_until(lambda: paused_reads > 0, 10, "enough streaming reads")
    assert any(overlapped), "no drain started before the last one's bytes were handed over"
    # Paused: the drain in flight ends (its bytes come, once) and no other starts, however
    # much waits in the PTY.
    await wait_until(lambda: not reader.is_draining, 5, "the drain in flight finished")
    await wait_until(lambda: _spawn._buffered(master) > 0, 5, "output waiting in the PTY")
    settled = paused_reads
    await asyncio.sleep(0.05)  # a window for a wrongly started drain to show; not a sync
    assert paused_reads == settled <= 2
    assert reader.is_paused
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer
    os.close(slave)
    await reader.quiesce()
    reader.close()
    os.close(master)


async def test_more_streaming_terminals_than_reading_threads_all_make_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A streaming thread makes way after a while (``_STREAM_SECONDS``): with more terminals
    flooding at once than the pool has threads, none waits for another's flood to end.

    A real writer is now and then a step behind, which ends a stream too, so whether one would
    ever make way by itself cannot be seen with one. Here each terminal's batches come full at
    once (``read_batch`` replaced): only the time bound ends a stream.
    """
    terminals = reading._drain_pool()._max_workers + 1

    def full_batch(fd: int, limit: int, seconds: float, first_wait: float) -> tuple[bytes, bool]:
        return b"y" * limit, False

    monkeypatch.setattr(_spawn, "read_batch", full_batch)
    readers: list[Reader] = []
    received = [0] * terminals
    try:
        for index in range(terminals):
            read_end, write_end = os.pipe()
            os.set_blocking(read_end, False)
            os.write(write_end, b"y" * 8192)  # a first read this large: output streams
            os.close(write_end)

            def on_read(data: bytes, eof: bool, index: int = index) -> None:
                received[index] += len(data)
                readers[index].resume()

            readers.append(Reader(read_end, asyncio.get_running_loop(), on_read))
        for reader in readers:
            reader.resume()
        await wait_until(lambda: min(received) >= 4 << 20, 30, "4 MiB from every terminal")
    finally:
        for reader in readers:
            await reader.quiesce()
            reader.close()
            os.close(reader._fd)
