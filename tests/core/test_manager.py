"""SessionManager: names, owners, limits, cwd rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_webpty.core import (
    InvalidCwd,
    PtySession,
    SessionLimitReached,
    SessionManager,
    SessionNameTaken,
    SessionNotFound,
)

from ..conftest import SHELL_ARGV, wait_until


def manager(tmp_path: Path, **kwargs: object) -> SessionManager:
    return SessionManager(
        SHELL_ARGV, root_dir=str(tmp_path), env={"PATH": os.environ["PATH"]}, **kwargs
    )  # type: ignore[arg-type]


def printed(session: PtySession, marker: bytes) -> bool:
    """Whether ``marker`` is in the session's latest retained output."""
    return marker in session.output.read_range(0, session.end)[0][-256:]


async def test_names_owners_and_limits(tmp_path: Path) -> None:
    sessions = manager(tmp_path, max_sessions_per_user=2)
    a = sessions.create("alice", cols=80, rows=24)
    b = sessions.create("alice", cols=80, rows=24, name="build")
    assert (a.name, b.name) == ("1", "build")
    with pytest.raises(SessionLimitReached):
        sessions.create("alice", cols=80, rows=24)
    sessions.create("bob", cols=80, rows=24, name="x")
    with pytest.raises(SessionNameTaken):
        sessions.create("bob", cols=80, rows=24, name="x")
    # Another owner's session looks exactly like a missing one.
    with pytest.raises(SessionNotFound) as foreign:
        sessions.get("bob", a.id)
    with pytest.raises(SessionNotFound) as missing:
        sessions.get("bob", "nope")
    assert str(foreign.value).replace(a.id, "ID") == str(missing.value).replace("nope", "ID")
    assert sessions.find("alice", name="build") is b
    assert [s.name for s in sessions.sessions("bob")] == ["x"]
    await sessions.close("alice", a.id)
    assert [s.name for s in sessions.sessions("alice")] == ["build"]
    await sessions.close_all()
    assert len(sessions) == 0


async def test_cwd_must_stay_inside_root(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    sessions = manager(tmp_path)
    assert sessions.resolve_cwd("sub") == str(tmp_path / "sub")
    assert sessions.resolve_cwd(None) == str(tmp_path)
    for bad in ("..", "/etc", "sub/../..", "missing", "x" * 300, "😀" * 200):
        with pytest.raises(InvalidCwd):
            sessions.resolve_cwd(bad)
    link = tmp_path / "escape"
    link.symlink_to("/")
    with pytest.raises(InvalidCwd):
        sessions.resolve_cwd("escape")


async def test_retained_output_budget_trims_detached_sessions_first(tmp_path: Path) -> None:
    # Three sessions each print 1.5 MB; all together may keep 2 MiB. The oldest detached
    # session gives up its scrollback first, then the other detached one; the attached session
    # keeps all of its output while that suffices.
    budget = 2 * 1024 * 1024
    sessions = manager(tmp_path, max_retained_bytes=budget)
    old, recent, watched = (sessions.create("me", cols=80, rows=24) for _ in range(3))
    seen = bytearray()

    def sink(data: bytes, end: int) -> None:
        seen.extend(data)
        watched.ack("viewer", end)

    watched.attach("viewer", sink, lambda preamble, start: None, 0)
    flood = b"head -c 1500000 /dev/zero | tr '\\0' x; echo DO''NE\n"
    for session in (old, recent, watched):
        session.write(flood)
        await wait_until(lambda s=session: printed(s, b"DONE"), 20, "the flood's end")  # type: ignore[misc]
    total = sum(s.retained_bytes for s in (old, recent, watched))
    assert total == sessions.retained_bytes
    assert total <= budget
    assert old.retained_bytes < recent.retained_bytes <= watched.retained_bytes
    assert watched.retained_bytes >= 1_500_000  # the attached one untouched
    assert old.retained_bytes >= 64 * 1024  # a screen or two is always kept
    # A resume of the trimmed session restores from what is left, and the shell works on.
    replay = bytearray()
    attached = old.attach("late", lambda data, end: replay.extend(data), lambda p, s: None)
    assert attached.truncated
    old.write(b"echo $((6*7))\n")
    await wait_until(lambda: b"42" in replay, 10, "echo after a trim")
    await sessions.close_all()
    assert sessions.retained_bytes == 0
