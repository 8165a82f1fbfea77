"""The revival store's files on their own: what a later server loads from them."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_webpty.core.revive import CRASH_SHIFT, SessionStore


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
