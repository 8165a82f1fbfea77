"""PtySession on real PTYs and shells, without any web layer."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from jupyter_webpty.core import InputOverflow, Limits, PtySession, SessionClosed, SpawnError

from ..conftest import SHELL_ARGV, wait_until
from ..processes import open_fds, processes_with


class Recorder:
    """A viewer that records what it is sent and acknowledges it at once."""

    def __init__(self, session: PtySession, key: object = "viewer", offset: int | None = 0):
        self.data = bytearray()
        self.session = session
        self.key = key
        self.resets: list[tuple[str, int]] = []
        self.attached = session.attach(key, self.sink, self.reset, offset)

    def sink(self, data: bytes, end: int) -> None:
        self.data += data
        self.session.ack(self.key, end)

    def reset(self, preamble: str, start: int) -> None:
        self.resets.append((preamble, start))

    async def until(self, needle: bytes, timeout: float = 10) -> None:
        await wait_until(lambda: needle in self.data, timeout, repr(needle))


def start(tmp_path: Path, argv: list[str] | None = None, **kwargs: object) -> PtySession:
    env = {"PATH": os.environ["PATH"], "PS1": "$ ", "HOME": str(tmp_path)}
    session = PtySession(
        argv or SHELL_ARGV, owner="me", name="t", cwd=str(tmp_path), env=env, cols=80, rows=24,
        limits=Limits(kill_grace=0.5), **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    session.start()
    return session


async def test_echo_resize_and_exit(tmp_path: Path) -> None:
    session = start(tmp_path)
    exited = asyncio.Event()
    session.on_exit(lambda s: exited.set())
    viewer = Recorder(session)
    session.write(b"echo $((6*7))-$TERM\n")
    await viewer.until(b"42-xterm-256color")
    session.resize(100, 33)
    session.write(b"stty size; echo $COLUMNS\n")
    await viewer.until(b"33 100")
    session.write(b"exit 5\n")
    await asyncio.wait_for(exited.wait(), 10)
    assert session.exit_code == 5
    with pytest.raises(SessionClosed):
        session.write(b"x")


async def test_sigint_works_even_if_the_server_ignores_it(tmp_path: Path) -> None:
    import signal  # noqa: PLC0415

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `jupyter lab &` from a script
    try:
        session = start(tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)
    viewer = Recorder(session)
    session.write(b"sleep 30; echo not-interrupted\n")
    await wait_until(lambda: session.foreground()[0] == "sleep", 10, "sleep in foreground")
    session.write(b"\x03")
    await viewer.until(b"^C")
    session.write(b"echo after-$((1+1))\n")
    await viewer.until(b"after-2")
    assert b"\r\nnot-interrupted" not in viewer.data  # only the echoed command line has it
    await session.terminate()


async def test_terminate_ends_jobs_and_reaps(tmp_path: Path) -> None:
    session = start(tmp_path)
    viewer = Recorder(session)
    marker = f"{os.getpid()}.7"
    session.write(f"sleep 100{marker} & nohup sleep 200{marker} >/dev/null 2>&1 &\n".encode())
    session.write(f"(trap '' HUP TERM; sleep 300{marker}) &\n".encode())
    await wait_until(lambda: len(processes_with(marker)) >= 3, 10, "jobs started")
    pid = session.pid
    assert pid is not None
    await session.terminate()
    assert processes_with(marker) == []
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped
    assert viewer.attached.offset == 0


async def test_spawn_error_is_clear(tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="no-such-shell"):
        start(tmp_path, ["/nonexistent/no-such-shell"])


async def test_pending_input_is_capped_and_ctrl_c_drops_the_queue(tmp_path: Path) -> None:
    session = PtySession(
        ["/bin/sh", "-c", "sleep 30"], owner="me", name="t", cwd=str(tmp_path),
        env={"PATH": os.environ["PATH"]}, cols=80, rows=24,
        limits=Limits(max_pending_input=256 * 1024, kill_grace=0.5),
    )  # fmt: skip
    session.start()
    chunk = b"x" * 4096 + b"\n"

    def flood() -> None:
        for _ in range(1000):  # nobody reads: the tty's input queue fills, then ours
            session.write(chunk)

    with pytest.raises(InputOverflow):
        flood()
    assert session._process.input.pending_bytes > 128 * 1024
    # An interrupt drops our queued input, as the tty driver flushes its queue on ^C; the
    # tty's own buffer is full here (sleep never reads), so only our queue is checked.
    session.write(b"\x03")
    assert session._process.input.pending_bytes <= 1
    await session.terminate()
    assert session.exit_code is not None


async def test_resume_offset_and_restore(tmp_path: Path) -> None:
    session = start(tmp_path)
    first = Recorder(session, "a")
    session.write(b"echo one-$((1))\n")
    await first.until(b"one-1")
    offset = len(first.data)
    session.detach("a")
    session.write(b"echo two-$((2))\n")
    await wait_until(lambda: session.end > offset + 20, 10)
    second = Recorder(session, "b", offset)
    await second.until(b"two-2")
    assert second.attached.truncated is False
    assert b"one-1" not in second.data
    third = Recorder(session, "c", None)
    assert third.attached.truncated is True
    assert third.attached.offset == 0  # the whole history is still retained
    await session.terminate()


async def test_streaming_output_is_drained_off_the_loop_and_closes_cleanly(
    tmp_path: Path,
) -> None:
    # A flood switches reading to worker-thread drains (reads that may wait in the kernel);
    # closing mid-flood waits for the drain in flight and leaves no descriptor behind (the
    # drains read a dup of the PTY's fd). The bench measures what this buys.
    before = set(open_fds())
    for _ in range(3):
        session = start(tmp_path, [*SHELL_ARGV[:1], "-c", "yes flood-line"])
        viewer = Recorder(session)
        await viewer.until(b"flood-line\r\n" * 2000)
        # On a loaded machine the first reads may come in small pieces: the flood goes on, so
        # the switch to drains must come, within a deadline.
        await wait_until(
            lambda: any(t.name.startswith("webpty-drain") for t in threading.enumerate()),
            10,
            "a drain thread",
        )
        code = await session.terminate()
        assert code != 0
        assert session._process.reader is not None
        assert not session._process.reader.is_draining
        assert bytes(viewer.data).count(b"flood-line\r\n") > 1000
    await wait_until(lambda: set(open_fds()) <= before, 5, "fds closed")


async def test_a_flood_of_printed_marks_does_not_flood_command_callbacks(tmp_path: Path) -> None:
    # Marks are output: any program can print thousands per second. Each command callback
    # becomes a terminal:command event (and an audit line), so they must be rate-bounded.
    session = start(tmp_path)
    calls: list[bool] = []
    session.on_command(lambda record, finished: calls.append(finished))
    viewer = Recorder(session)
    started = time.monotonic()
    session.write(
        b"for i in $(seq 5000); do printf '\\033]133;C\\a\\033]133;D;0\\a'; done; echo done-$((1+1))\n"
    )
    await viewer.until(b"done-2", timeout=30)
    elapsed = time.monotonic() - started
    assert len(session.output.commands()) == 1000  # the log kept its bound
    assert len(calls) <= 200 + 100 * elapsed, (len(calls), elapsed)
    await session.terminate()
