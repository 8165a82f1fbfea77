"""Screen restore for a new viewer, judged by a reference emulator (pyte) fed both ways."""

from __future__ import annotations

from typing import Any

import pyte
import pytest

from jupyter_webpty.core.screen import ScreenTracker

from .conftest import PROMPT, Client, wait_until

COLS, ROWS = 80, 24


class Screen(pyte.Screen):  # type: ignore[misc]
    """pyte 0.8 raises on private SGR (vim sends ``ESC [ > 4 ; 2 m``); ignore those as xterm does."""

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        if not private:
            super().select_graphic_rendition(*attrs)


def render(stream: bytes, cols: int = COLS, rows: int = ROWS) -> tuple[list[str], tuple[int, int]]:
    """The screen text and cursor position after feeding ``stream`` to pyte."""
    screen = Screen(cols, rows)
    parser = pyte.ByteStream(screen)
    parser.feed(stream)
    return screen.display, (screen.cursor.x, screen.cursor.y)


async def fresh_view(client: Client, session_id: str) -> tuple[bytes, int]:
    """Attach without an offset; return preamble + replay up to the ack's ``end``."""
    reply = await client.call("terminal:reconnect", {"session_id": session_id})
    assert reply["success"], reply
    assert reply["truncated"], reply
    term = client.terminal(session_id)
    term.offset = reply["offset"]
    await wait_until(lambda: term.offset >= reply["end"], 10, "replay")
    replay = bytes(term.data)[: reply["end"] - reply["offset"]]
    return reply["preamble"].encode() + replay, reply["end"]


async def full_stream(client: Client, session_id: str, end: int) -> bytes:
    term = client.terminal(session_id)
    await wait_until(lambda: term.offset >= end, 10, "full stream")
    return bytes(term.data)[:end]


async def restored_as_streamed(viewer: Client, watcher: Client, session_id: str) -> bytes:
    """``viewer``'s fresh view of the session, checked against ``watcher``'s: what it gets
    renders as the whole stream up to the same offset does. Returns what it got."""
    restored, end = await fresh_view(viewer, session_id)
    reference = await full_stream(watcher, session_id, end)
    assert render(restored) == render(reference)
    return restored


async def test_vim_screen_restores_exactly(connect: Any, tmp_path: Any) -> None:
    lines = [f"line {n:03d} of the file, with some words to wrap and colour" for n in range(60)]
    (tmp_path / "notes.txt").write_text("\n".join(lines) + "\n")
    async with connect() as watcher:
        session_id = await watcher.create(cols=COLS, rows=ROWS)
        await watcher.send(session_id, f"vim -u NONE -N -i NONE {tmp_path}/notes.txt\n")
        await watcher.read_until(session_id, "60L")  # vim's status line: the file is shown
        await watcher.send(session_id, "12G")  # move the cursor: the restore must keep it
        await wait_until(lambda: render(bytes(watcher.terminal(session_id).data))[1][1] == 11, 10)
        async with connect() as newcomer:
            restored = await restored_as_streamed(newcomer, watcher, session_id)
            assert "line 000 of the file" in render(restored)[0][0]
            # Quit vim from the new viewer; a third viewer then sees the shell again.
            await newcomer.send(session_id, ":q\r")
            await watcher.read_until(session_id, "\x1b[?1049l")
        async with connect() as third:
            await restored_as_streamed(third, watcher, session_id)


@pytest.mark.parametrize("webpty_config", [{"scrollback_bytes": 65536}])
async def test_restore_after_history_was_dropped(connect: Any, webpty_config: Any) -> None:
    async with connect() as watcher:
        session_id = await watcher.create(cols=COLS, rows=ROWS)
        await watcher.send(
            session_id, "seq 1 20000 | sed 's/$/ padding padding/'; echo DONE-$((1+1))\n"
        )
        await watcher.read_until(session_id, "DONE-2\r\n\x1b[?2004h" + PROMPT, timeout=30)
        async with connect() as newcomer:
            restored = await restored_as_streamed(newcomer, watcher, session_id)
            assert len(restored) < 200_000  # only the retained tail, not the whole history
            # Then a clear: the restore starts from it.
            await watcher.send(session_id, "clear; echo after-$((2+2))\n")
            await watcher.read_until(session_id, "after-4")
        async with connect() as later:
            restored = await restored_as_streamed(later, watcher, session_id)
            assert len(restored) < 2000


def test_tracker_finds_alt_screen_and_modes_across_chunk_splits() -> None:
    stream = b"prompt$ vim\r\n\x1b[?1h\x1b=\x1b[?2004h\x1b[?1049h\x1b[H\x1b[2Jdrawn\x1b[?25l more"
    for cut in range(1, len(stream)):
        tracker = ScreenTracker()
        tracker.feed(stream[:cut], cut)
        tracker.feed(stream[cut:], len(stream))
        assert tracker.modes.alt
        assert tracker.modes.keypad
        assert {1, 2004} <= tracker.modes.on
        assert 25 not in tracker.modes.on
        restore = tracker.restore(10, len(stream), stream[10:])
        # The session start is no longer retained (base 10): the alt screen's clear is used.
        assert restore.offset == stream.index(b"\x1b[H\x1b[2J")
        assert restore.preamble.startswith("\x1b[?1049h")
        assert not restore.repaint


def test_tracker_asks_for_repaint_when_the_alt_screen_start_is_gone() -> None:
    tracker = ScreenTracker()
    stream = b"\x1b[?1049h\x1b[Hpartial updates only"
    tracker.feed(stream, len(stream))
    restore = tracker.restore(5, len(stream), stream[5:])
    assert restore.repaint
    assert restore.offset == len(stream)
