"""The revival store's files on their own: what a later server loads from them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jupyter_webpty.core.revive import CRASH_SHIFT, SessionStore
from jupyter_webpty.core.session import Limits, PtySession


def saved(directory: Path, session_id: str, base: int, data: bytes) -> None:
    meta = {"session_id": session_id, "owner": "o", "name": "n", "cwd": "/tmp",
            "cols": 90, "rows": 20, "created_at": 1.0}  # fmt: skip
    (directory / f"{session_id}.json").write_text(json.dumps(meta))
    (directory / f"{session_id}.log").write_bytes(b"WEBPTY-LOG 1 %d\n%s" % (base, data))


def test_a_clean_stop_keeps_offsets_and_a_crash_shifts_them(tmp_path: Path) -> None:
    saved(tmp_path, "abc", 1000, b"0123456789")
    store = SessionStore(str(tmp_path), scrollback_bytes=4)
    (tmp_path / "stopped").touch()
    [clean] = store.load()
    assert (clean.base, clean.data) == (1006, b"6789")  # bounded by scrollback_bytes
    assert not (tmp_path / "stopped").exists()
    [crashed] = store.load()  # no clean mark now: as after a crash
    assert crashed.base == 1006 + CRASH_SHIFT
    # The log's header follows, so that the revived session's appends agree with it.
    assert (
        (tmp_path / "abc.log").read_bytes().startswith(b"WEBPTY-LOG 1 %d\n" % (1000 + CRASH_SHIFT))
    )


def test_unreadable_leftovers_are_removed(tmp_path: Path) -> None:
    saved(tmp_path, "good", 0, b"ok")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "orphan.log").write_bytes(b"WEBPTY-LOG 1 0\nx")
    saved(tmp_path, "renamed", 0, b"x")
    (tmp_path / "renamed.json").rename(tmp_path / "other.json")  # id and file name differ
    [good] = SessionStore(str(tmp_path), scrollback_bytes=100).load()
    assert (good.session_id, good.data, good.cols, good.rows) == ("good", b"ok", 90, 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.json", "good.log"]


def unstarted(scrollback: int) -> PtySession:
    """A real session that is never started: ``note`` records output as if it had read it."""
    return PtySession(["sh"], owner="o", name="n", cwd="/tmp", env={}, cols=80, rows=24,
                      limits=Limits(scrollback_bytes=scrollback))  # fmt: skip


def note_all(session: PtySession, pieces: list[bytes]) -> None:
    for piece in pieces:
        session.note(piece)


def logged(directory: Path, session: PtySession) -> tuple[int, bytes]:
    header, _, data = (directory / f"{session.id}.log").read_bytes().partition(b"\n")
    return int(header.split()[-1]), data


def test_a_flood_between_writes_leaves_the_last_scrollback_on_disk(tmp_path: Path) -> None:
    bound = 256 * 1024
    session = unstarted(bound)
    store = SessionStore(str(tmp_path), scrollback_bytes=bound)
    store.track(session)
    pieces = [bytes([65 + i % 26]) * 40_000 for i in range(100)]  # 4 MB, no write in between
    note_all(session, pieces)
    # The store holds nothing between writes: each piece is referred to as often as the same
    # output's pieces are in an untracked session (retained or not, as the session decides).
    untracked = unstarted(bound)
    same = [bytes(bytearray(piece)) for piece in pieces]
    note_all(untracked, same)
    assert [sys.getrefcount(p) for p in pieces] == [sys.getrefcount(p) for p in same]
    store.stop()
    base, data = logged(tmp_path, session)
    assert len(data) >= bound
    assert base + len(data) == session.end == 4_000_000
    assert data == b"".join(pieces)[-len(data) :]


def test_what_the_budget_trims_is_saved_first(tmp_path: Path) -> None:
    session = unstarted(1 << 20)
    store = SessionStore(str(tmp_path), scrollback_bytes=1 << 20)
    store.track(session)
    session.note(b"x" * 300_000)
    session.note(b"y" * 300_000)
    session.trim_retained(100_000)  # the budget cuts below scrollback before the next write
    assert session.retained_bytes < 600_000
    store.stop()
    assert logged(tmp_path, session) == (0, b"x" * 300_000 + b"y" * 300_000)
