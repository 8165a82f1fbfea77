"""``Ending`` on its own: a real shell on a real PTY, no session, no viewers, no manager."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_webpty.core import _spawn
from jupyter_webpty.core.ending import Ending

from ..conftest import wait_until
from ..processes import processes_with, zombies_of

BASH = shutil.which("bash") or "/bin/bash"


class Shell:
    """A shell spawned for one test, with an ``Ending`` that records each exit code it reports."""

    def __init__(self, script: str, tmp_path: Path, *, kill_on_exit: bool = True) -> None:
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
        self.child = _spawn.spawn(_spawn.Launch(
            [BASH, "--norc", "--noprofile", "-c", script], str(tmp_path), env, 80, 24,
        ))  # fmt: skip
        self.codes: list[int] = []
        self.ending = Ending(
            self.child, _spawn.LOCAL, "test", on_reaped=self._reaped, kill_grace=0.3,
            kill_on_exit=kill_on_exit,
        )  # fmt: skip
        self.ending.watch()

    async def printed(self, needle: bytes) -> None:
        """Wait until the shell printed ``needle``."""
        seen = bytearray()

        def read() -> bool:
            with contextlib.suppress(BlockingIOError):
                seen.extend(_spawn.read_ready(self.child.fd, 1 << 16)[0])
            return needle in seen

        await wait_until(read, 10, f"{needle!r} printed")

    async def job_started(self, marker: str) -> None:
        """Wait for the job ``sleep 100<marker>`` (it ignores SIGHUP by then), then let the shell
        exit. The shell's own command line holds the marker too: only the exec'd ``sleep``
        (arguments joined by NUL) shows that the subshell has set its trap."""
        job = f"sleep\x00100{marker}"
        await wait_until(lambda: processes_with(job) != [], 10, "the job started")
        os.write(self.child.fd, b"go\n")

    async def _reaped(self, code: int) -> None:
        self.codes.append(code)
        self.ending.close_fds()


@pytest.fixture
def marker() -> Iterator[str]:
    """A marker for the test's jobs; any left over are killed (after the assertions)."""
    marker = f"{os.getpid()}.{uuid.uuid4().int % 10**6:06d}"
    yield marker
    for pid in processes_with(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


async def test_a_shell_that_exits_is_reaped_once_and_what_it_left_is_ended(
    tmp_path: Path, marker: str
) -> None:
    shell = Shell(f"(trap '' HUP; exec sleep 100{marker}) & read go; exit 5", tmp_path)
    await shell.job_started(marker)
    await wait_until(lambda: shell.codes != [], 10, "the exit noticed")
    assert shell.codes == [5]
    # The job ignored SIGHUP: only the next rung (SIGTERM) ended it, before the shell was reaped.
    assert processes_with(marker) == []
    await shell.ending.terminate()  # the session already ended: no second reap, no new code
    assert shell.codes == [5]
    assert not is_open(shell.child.fd)
    assert zombies_of(os.getpid()) == []


async def test_without_kill_on_exit_the_jobs_outlive_the_shell(tmp_path: Path, marker: str) -> None:
    shell = Shell(
        f"(trap '' HUP; exec sleep 100{marker}) & read go; exit 3", tmp_path, kill_on_exit=False
    )
    await shell.job_started(marker)
    await wait_until(lambda: shell.codes != [], 10, "the exit noticed")
    assert shell.codes == [3]
    # It ignores the hangup the shell's exit sends; the ladder's SIGTERM would have ended it.
    assert len(processes_with(marker)) == 1


async def test_terminate_twice_at_once_ends_the_shell_once(tmp_path: Path) -> None:
    # The shell answers SIGHUP with its own code: a second reap would find nothing (-1).
    shell = Shell("trap 'exit 7' HUP; echo ready; while :; do sleep 0.05; done", tmp_path)
    await shell.printed(b"ready")  # the trap is set
    await asyncio.gather(shell.ending.terminate(), shell.ending.terminate())
    assert shell.codes == [7]
    assert shell.ending.is_finishing
    assert zombies_of(os.getpid()) == []


async def test_a_released_shell_runs_on_and_our_descriptors_are_closed(
    tmp_path: Path, marker: str
) -> None:
    shell = Shell(f"exec sleep 100{marker}", tmp_path)
    kept = os.dup(shell.child.fd)  # the PTY host's copy: without one the shell gets SIGHUP
    try:
        await wait_until(lambda: processes_with(marker) != [], 10, "the shell started")
        shell.ending.release()
        assert not is_open(shell.child.fd)
        assert shell.child.pidfd is None or not is_open(shell.child.pidfd)
        assert _spawn.signalable(shell.child.pid)
        assert not shell.ending.is_finishing
        os.kill(shell.child.pid, signal.SIGKILL)
        assert _spawn.wait(shell.child.pid) == -signal.SIGKILL
        assert shell.codes == []  # no longer ours: its exit is not reported
    finally:
        os.close(kept)
