"""SessionManager: names, owners, limits, cwd rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_webpty.core import (
    InvalidCwd,
    SessionLimitReached,
    SessionManager,
    SessionNameTaken,
    SessionNotFound,
)

from ..conftest import SHELL_ARGV


def manager(tmp_path: Path, **kwargs: object) -> SessionManager:
    return SessionManager(
        SHELL_ARGV, root_dir=str(tmp_path), env={"PATH": os.environ["PATH"]}, **kwargs
    )  # type: ignore[arg-type]


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
    for bad in ("..", "/etc", "sub/../..", "missing"):
        with pytest.raises(InvalidCwd):
            sessions.resolve_cwd(bad)
    link = tmp_path / "escape"
    link.symlink_to("/")
    with pytest.raises(InvalidCwd):
        sessions.resolve_cwd("escape")
