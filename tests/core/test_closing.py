"""Closing sessions at scale: shared /proc scans, concurrent terminate, no loop stalls."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_webpty.core import Limits, PtySession, SessionManager, _spawn

from ..conftest import SHELL_ARGV, wait_until
from ..processes import processes_with, zombies_of


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts passes over /proc: each one calls ``_spawn._pids`` once (the real one)."""
    counted: list[int] = []
    real = _spawn._pids

    def counting() -> Iterator[int]:
        counted.append(1)
        return real()

    monkeypatch.setattr(_spawn, "_pids", counting)
    return counted


def env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "PS1": "$ ", "HOME": str(tmp_path)}


async def test_terminate_twice_at_once_gives_both_callers_the_exit_code(tmp_path: Path) -> None:
    # The shell answers SIGHUP with its own code, so a second reap (which finds nothing) shows.
    session = PtySession(
        [*SHELL_ARGV[:-1], "-c", "trap 'sleep 0.2; exit 7' HUP; echo ready; while :; do sleep 0.05; done"],
        owner="me", name="t", cwd=str(tmp_path), env=env(tmp_path), cols=80, rows=24,
        limits=Limits(kill_grace=0.5),
    )  # fmt: skip
    session.start()
    output = bytearray()
    session.attach("viewer", lambda data, end: output.extend(data), lambda *_: None, 0)
    await wait_until(lambda: b"ready" in output, 10, "the shell's trap")
    codes = await asyncio.gather(session.terminate(), session.terminate(), return_exceptions=True)
    assert codes == [7, 7]
    assert session.exit_code == 7
    assert zombies_of(os.getpid()) == []


async def test_closing_many_sessions_shares_the_scans_of_proc(
    tmp_path: Path, scans: list[int]
) -> None:
    sessions = SessionManager(
        SHELL_ARGV, root_dir=str(tmp_path), env=env(tmp_path), limits=Limits(kill_grace=0.5)
    )
    marker = f"{os.getpid()}.31"
    started = [sessions.create("me", cols=80, rows=24) for _ in range(50)]
    for session in started:  # one job each, which ignores SIGHUP: a second ladder step
        session.write(f"(trap '' HUP; sleep 100{marker}) &\n".encode())
    await wait_until(lambda: len(processes_with(marker)) == 50, 20, "jobs started")
    scans.clear()
    await sessions.close_all()
    # One scan per session per 10 ms tick made this several hundred; shared, it is a few per
    # tick of the ladder, whatever the number of sessions.
    assert len(scans) <= 30, f"{len(scans)} scans of /proc to close 50 sessions"
    assert processes_with(marker) == []
    assert all(not s.is_alive for s in started)
    assert zombies_of(os.getpid()) == []


async def test_loop_stays_responsive_while_stubborn_sessions_close(tmp_path: Path) -> None:
    sessions = SessionManager(
        SHELL_ARGV, root_dir=str(tmp_path), env=env(tmp_path), limits=Limits(kill_grace=0.5)
    )
    marker = f"{os.getpid()}.32"
    started = [sessions.create("me", cols=80, rows=24) for _ in range(50)]
    for session in started:  # only SIGKILL ends these: the whole ladder runs
        session.write(f"(trap '' HUP TERM; sleep 100{marker}) &\n".encode())
    await wait_until(lambda: len(processes_with(marker)) == 50, 20, "jobs started")
    loop = asyncio.get_running_loop()
    gaps: list[float] = []

    async def tick() -> None:
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            gaps.append(loop.time() - before)

    ticker = loop.create_task(tick())
    await sessions.close_all()
    ticker.cancel()
    assert processes_with(marker) == []
    # Scanning /proc on the loop for each session every 10 ms held it for about a second.
    assert max(gaps) < 0.25, f"the loop stalled for {max(gaps):.3f} s"


async def test_close_all_blocking_ends_sessions_concurrently(tmp_path: Path) -> None:
    grace = 0.5
    sessions = SessionManager(
        SHELL_ARGV, root_dir=str(tmp_path), env=env(tmp_path), limits=Limits(kill_grace=grace)
    )
    marker = f"{os.getpid()}.33"
    started = [sessions.create("me", cols=80, rows=24) for _ in range(6)]
    for session in started:
        session.write(f"trap '' HUP TERM; (trap '' HUP TERM; sleep 100{marker}) &\n".encode())
    await wait_until(lambda: len(processes_with(marker)) == 6, 20, "jobs started")
    loop = asyncio.get_running_loop()
    before = loop.time()
    ended: Any = sessions.close_all_blocking()  # as at interpreter exit: no loop involved
    took = loop.time() - before
    assert ended == 6
    assert processes_with(marker) == []
    # One at a time, each stubborn session takes two graces: 6 s here.
    assert took < 3 * grace + 1.5, f"took {took:.1f} s"
    # The sessions' own exit handling still runs, harmlessly: nothing is left to reap.
    await wait_until(lambda: not any(s.is_alive for s in started), 10, "sessions closed")
    assert zombies_of(os.getpid()) == []
